// minibox-sim: the simulated miniboxd. Runs as root, single-threaded on one io_context.
// Input: untrusted request lines from test clients on the Unix socket. It imitates the wire
// behaviour of minibox-protocol.md §10 so that dockerbox's broker can be tested against it;
// it never stands in for miniboxd in production.
#pragma once

#include "common/result.hpp"
#include "tests/minibox_sim/container_fs.hpp"
#include "tests/minibox_sim/images.hpp"
#include "tests/minibox_sim/process.hpp"
#include "tests/minibox_sim/requests.hpp"
#include "tests/minibox_sim/state.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/signal_set.hpp>

#include <sys/stat.h>

#include <memory>
#include <optional>
#include <random>
#include <string>
#include <vector>

namespace dockerbox::sim {

using UnixSocket = asio::local::stream_protocol::socket;

enum class Adapter { Native, Smolvm };

/// What a container and an exec process are (--process-model).
enum class ProcessModel {
  /// Host processes dropped to --run-as, with best-effort UTS/network namespaces.
  Host,
  /// Exactly upstream's native adapter (§11): namespaces, overlay rootfs, pivot_root, host
  /// devtmpfs, root with every capability; Exec through the host nsenter with the request env.
  Miniboxd,
};

/// Everything main() resolves from flags and environment (printed at start).
struct Config {
  std::string socketPath;
  mode_t socketMode = 0600;
  std::optional<std::string> socketGroup;  // MINIBOX_SOCKET_GROUP
  Mode mode = Mode::Head;
  Adapter adapter = Adapter::Native;
  bool peerGate = false;
  bool allowBindMounts = false;  // honoured in HEAD mode only
  bool allowPrivileged = false;  // honoured in HEAD mode only
  bool execStartedLate = false;  // send ExecStarted after the first output chunk
  bool isolateNetwork = true;    // best-effort network namespace for non-Host containers (host model)
  ProcessModel processModel = ProcessModel::Host;
  std::string rootfsDir;         // --rootfs-dir: one directory per image name (miniboxd model)
  int readyFd = -1;
  RunAs runAs;
  std::vector<std::string> registry;
  std::vector<std::string> preload;
};

class Daemon;

/// One client connection: reads one line at a time, answers it fully, repeats (§2).
class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(Daemon& daemon, UnixSocket socket);
  asio::awaitable<void> run();

  /// Writes one message of the current request. Returns false once the client is gone.
  /// Messages after a terminal one are dropped, as upstream drops them (§2.1).
  asio::awaitable<bool> send(const json::object& message);
  [[nodiscard]] bool alive() const { return alive_; }
  /// For never-ending streams: read and discard client bytes until EOF, then mark the
  /// session dead and notify `wake` (upstream reads nothing during a stream; this only
  /// lets a closed subscriber go away before the next event).
  void watchForClose(std::shared_ptr<EventBus::Subscriber> wake);

 private:
  struct Frame {
    enum class Kind { Line, Eof, Oversize } kind = Kind::Eof;
    std::string line;
    std::size_t size = 0;  // Oversize: bytes counted
  };
  asio::awaitable<Frame> readFrame();
  asio::awaitable<std::size_t> readMore();
  asio::awaitable<Frame> discardOversize();

  Daemon& daemon_;
  UnixSocket socket_;
  std::string buffer_;
  bool eof_ = false;
  bool alive_ = true;
  bool terminated_ = false;  // a terminal message was written for the current request
};

class Daemon {
 public:
  /// `rootfsArea` is set exactly in the miniboxd process model.
  Daemon(asio::io_context& io, Config config, std::unique_ptr<RootfsArea> rootfsArea);

  /// Binds and listens (stale file removed, parent dir 0700, socket mode), then signals the
  /// ready fd. Serving starts with start().
  [[nodiscard]] Result<void> listen();
  void start();

  [[nodiscard]] const Config& config() const { return config_; }
  asio::awaitable<void> dispatch(Session& session, const Request& request);

 private:
  using Handler = asio::awaitable<void> (Daemon::*)(Session&, const json::object&);
  static const std::vector<std::pair<std::string_view, Handler>>& handlers();

  asio::awaitable<void> acceptLoop();
  bool peerAllowed(UnixSocket& socket) const;
  void waitForChildren();
  void waitForShutdown();
  void shutdown();

  // Containers (handlers_run.cpp).
  asio::awaitable<void> handleRun(Session& s, const json::object& r);
  asio::awaitable<void> handleStop(Session& s, const json::object& r);
  asio::awaitable<void> handlePause(Session& s, const json::object& r);
  asio::awaitable<void> handleResume(Session& s, const json::object& r);
  asio::awaitable<void> handleRemove(Session& s, const json::object& r);
  asio::awaitable<void> handleList(Session& s, const json::object& r);
  asio::awaitable<void> handleLogs(Session& s, const json::object& r);
  asio::awaitable<void> runEphemeral(Session& s, std::shared_ptr<Container> c, SpawnSpec spec);
  asio::awaitable<void> runDetached(Session& s, std::shared_ptr<Container> c, SpawnSpec spec);
  /// Forks and waits (asynchronously: other connections keep being served) until the
  /// child has exec'd or reported a setup failure. The pid is registered with the reaper
  /// from the moment of the fork, so a quick exit is never missed.
  asio::awaitable<Result<pid_t>> spawn(SpawnSpec spec);
  asio::awaitable<Result<void>> startContainer(std::shared_ptr<Container> c, SpawnSpec spec);
  void onContainerExit(const std::shared_ptr<Container>& c, pid_t pid, int waitStatus);
  /// miniboxd model (handlers_miniboxd.cpp): the image's directory and the container's
  /// overlay (kept in c.rootfs), and the clone setup for `spec`. The error is Run's text.
  [[nodiscard]] Result<void> prepareMiniboxdRun(Container& c, const ImageRef& ref,
                                                const json::object& r, SpawnSpec& spec);
  void signalContainer(const Container& c, int sig) const;

  // Exec and everything else (handlers_exec.cpp, handlers_misc.cpp).
  asio::awaitable<void> handleExec(Session& s, const json::object& r);
  asio::awaitable<void> handleSendInput(Session& s, const json::object& r);
  asio::awaitable<void> handleResizePty(Session& s, const json::object& r);
  asio::awaitable<void> handlePull(Session& s, const json::object& r);
  asio::awaitable<void> handleLoadImage(Session& s, const json::object& r);
  asio::awaitable<void> handleListImages(Session& s, const json::object& r);
  asio::awaitable<void> handleRemoveImage(Session& s, const json::object& r);
  asio::awaitable<void> handlePrune(Session& s, const json::object& r);
  asio::awaitable<void> handleSubscribeEvents(Session& s, const json::object& r);
  asio::awaitable<void> handleUpdate(Session& s, const json::object& r);
  asio::awaitable<void> handleGetManifest(Session& s, const json::object& r);
  asio::awaitable<void> handleVerifyManifest(Session& s, const json::object& r);
  asio::awaitable<void> handleUnsupported(Session& s, const json::object& r);

  /// Streams a pipe (or pty master) to the client as ContainerOutput chunks of at most
  /// 4096 bytes until EOF. Keeps draining after the client has gone, so the producer is
  /// never left blocked. `log` (optional) receives a copy; `afterFirst` runs once after
  /// the first chunk is sent. Backpressure: the next read waits for the previous write.
  asio::awaitable<void> pump(Session& s, asio::posix::stream_descriptor& pipe,
                             std::string_view stream, std::string* log,
                             std::function<asio::awaitable<void>()> afterFirst,
                             const std::shared_ptr<bool>& forceDrain);

  [[nodiscard]] std::string newContainerId();
  [[nodiscard]] std::string pullFailure(const ImageRef& ref) const;

  asio::io_context& io_;
  Config config_;
  // Declared before containers_ and reaper_ so that it outlives every ContainerRootfs they hold.
  std::unique_ptr<RootfsArea> rootfsArea_;
  asio::local::stream_protocol::acceptor acceptor_;
  asio::signal_set childSignals_;
  asio::signal_set stopSignals_;
  ContainerTable containers_;
  ImageStore images_;
  EventBus events_;
  Reaper reaper_;
  std::mt19937_64 rng_;
};

}  // namespace dockerbox::sim
