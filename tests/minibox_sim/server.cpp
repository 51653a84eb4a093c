// minibox-sim: listening socket, peer gate, per-connection framing and dispatch.
// Runs as root. Input: untrusted bytes from test clients.
#include "tests/minibox_sim/daemon.hpp"

#include "common/syscall.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

#include <grp.h>
#include <spdlog/spdlog.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <csignal>
#include <filesystem>

namespace dockerbox::sim {
namespace {

constexpr auto kUseTuple = asio::as_tuple(asio::use_awaitable);
/// Read granularity; upstream's BufReader uses 8 KiB too, which shapes its "at least N".
constexpr std::size_t kReadChunk = 8192;

std::string_view trimWhitespace(std::string_view s) {
  constexpr std::string_view kSpace = " \t\n\r\v\f";
  auto first = s.find_first_not_of(kSpace);
  if (first == std::string_view::npos) return {};
  return s.substr(first, s.find_last_not_of(kSpace) - first + 1);
}

}  // namespace

Session::Session(Daemon& daemon, UnixSocket socket) : daemon_(daemon), socket_(std::move(socket)) {}

asio::awaitable<std::size_t> Session::readMore() {
  std::size_t old = buffer_.size();
  buffer_.resize(old + kReadChunk);
  auto [ec, n] = co_await socket_.async_read_some(asio::buffer(buffer_.data() + old, kReadChunk),
                                                  kUseTuple);
  buffer_.resize(old + n);
  if (ec) eof_ = true;  // EOF or an I/O error: either way the client is done sending
  co_return n;
}

asio::awaitable<Session::Frame> Session::discardOversize() {
  // Count (v0.19 reports the full length) and drop everything up to the next newline.
  std::size_t atDetection = buffer_.size();
  std::size_t total = buffer_.size();
  buffer_.clear();
  while (!eof_) {
    co_await readMore();
    auto nl = buffer_.find('\n');
    if (nl != std::string::npos) {
      total += nl + 1;
      buffer_.erase(0, nl + 1);
      break;
    }
    total += buffer_.size();
    buffer_.clear();
  }
  co_return Frame{Frame::Kind::Oversize, {},
                  daemon_.config().mode == Mode::Head ? atDetection : total};
}

asio::awaitable<Session::Frame> Session::readFrame() {
  std::size_t scanned = 0;
  for (;;) {
    auto nl = buffer_.find('\n', scanned);
    if (nl != std::string::npos) {
      std::size_t len = nl + 1;
      Frame f{len > kMaxRequestBytes ? Frame::Kind::Oversize : Frame::Kind::Line,
              len > kMaxRequestBytes ? std::string() : buffer_.substr(0, nl), len};
      buffer_.erase(0, len);
      co_return f;
    }
    scanned = buffer_.size();
    if (buffer_.size() > kMaxRequestBytes) co_return co_await discardOversize();
    if (eof_) {
      // A final line without '\n' is still a request (§2).
      if (buffer_.empty()) co_return Frame{};
      co_return Frame{Frame::Kind::Line, std::exchange(buffer_, {}), 0};
    }
    co_await readMore();
  }
}

asio::awaitable<void> Session::run() {
  const Mode mode = daemon_.config().mode;
  while (alive_) {
    Frame frame = co_await readFrame();
    if (frame.kind == Frame::Kind::Eof) break;
    terminated_ = false;
    if (frame.kind == Frame::Kind::Oversize) {
      std::string text = mode == Mode::Head
                             ? "request too large: at least " + std::to_string(frame.size) + " bytes"
                             : "request too large: " + std::to_string(frame.size) + " bytes";
      co_await send(errorMessage(text + " (max " + std::to_string(kMaxRequestBytes) + ")"));
      continue;
    }
    if (auto bad = utf8Error(frame.line)) {
      if (mode == Mode::V019) break;  // v0.19 closes the connection without a reply
      co_await send(errorMessage("invalid UTF-8 in request: " + *bad));
      continue;
    }
    std::string_view line = trimWhitespace(frame.line);
    if (line.empty()) continue;  // blank lines get no reply at all
    auto decoded = decodeRequest(line, mode);
    if (auto* err = std::get_if<std::string>(&decoded)) {
      co_await send(errorMessage("invalid request: " + *err));
      continue;
    }
    co_await daemon_.dispatch(*this, std::get<Request>(decoded));
  }
  boost::system::error_code ignored;
  socket_.close(ignored);  // also ends a watchForClose reader
}

asio::awaitable<bool> Session::send(const json::object& message) {
  if (!alive_) co_return false;
  if (terminated_) co_return true;  // discarded: the exchange already ended
  std::string line = toLine(message);
  auto [ec, n] = co_await asio::async_write(socket_, asio::buffer(line), kUseTuple);
  if (ec) {
    alive_ = false;
    co_return false;
  }
  if (const auto* t = message.if_contains("type"); t && isTerminalType(t->get_string())) {
    terminated_ = true;
  }
  co_return true;
}

void Session::watchForClose(std::shared_ptr<EventBus::Subscriber> wake) {
  auto self = shared_from_this();
  asio::co_spawn(
      socket_.get_executor(),
      [self, wake]() -> asio::awaitable<void> {
        std::array<char, 4096> sink{};
        for (;;) {
          auto [ec, n] = co_await self->socket_.async_read_some(asio::buffer(sink), kUseTuple);
          if (ec) break;
        }
        self->alive_ = false;
        wake->ready.notify();
      },
      asio::detached);
}

Daemon::Daemon(asio::io_context& io, Config config, std::unique_ptr<RootfsArea> rootfsArea)
    : io_(io),
      config_(std::move(config)),
      rootfsArea_(std::move(rootfsArea)),
      acceptor_(io),
      childSignals_(io, SIGCHLD),
      stopSignals_(io, SIGTERM, SIGINT),
      images_(config_.registry, config_.preload),
      rng_(std::random_device{}()) {}

Result<void> Daemon::listen() {
  namespace fs = std::filesystem;
  std::error_code fsErr;
  fs::path parent = fs::path(config_.socketPath).parent_path();
  if (!parent.empty() && !fs::exists(parent, fsErr)) {
    fs::create_directories(parent, fsErr);
    if (fsErr) return fail(ErrorKind::Internal, "create " + parent.string() + ": " + fsErr.message());
    fs::permissions(parent, fs::perms::owner_all, fsErr);
  }
  fs::remove(config_.socketPath, fsErr);  // a stale socket from an earlier run
  boost::system::error_code ec;
  asio::local::stream_protocol::endpoint endpoint(config_.socketPath);
  if (acceptor_.open(endpoint.protocol(), ec) || acceptor_.bind(endpoint, ec) ||
      acceptor_.listen(asio::socket_base::max_listen_connections, ec)) {
    return fail(ErrorKind::Internal, "listen on " + config_.socketPath + ": " + ec.message());
  }
  auto chmodRc = DOCKERBOX_SYSCALL(::chmod(config_.socketPath.c_str(), config_.socketMode), "chmod");
  if (!chmodRc) return chmodRc.error();
  if (config_.socketGroup) {
    if (const group* g = ::getgrnam(config_.socketGroup->c_str())) {
      if (::chown(config_.socketPath.c_str(), static_cast<uid_t>(-1), g->gr_gid) != 0)
        spdlog::warn("event=socket_group_failed group={}", *config_.socketGroup);
    } else {
      spdlog::warn("event=unknown_socket_group group={}", *config_.socketGroup);
    }
  }
  if (config_.readyFd >= 0) {
    (void)DOCKERBOX_SYSCALL(::write(config_.readyFd, "R", 1), "write ready fd");
    ::close(config_.readyFd);
  }
  return {};
}

void Daemon::start() {
  // Orphaned grandchildren are re-parented to us and reaped, instead of piling up as
  // zombies under a container runtime's pid 1 that may not reap.
  ::prctl(PR_SET_CHILD_SUBREAPER, 1);
  waitForChildren();
  waitForShutdown();
  asio::co_spawn(io_, acceptLoop(), asio::detached);
}

void Daemon::waitForChildren() {
  childSignals_.async_wait([this](boost::system::error_code ec, int) {
    if (ec) return;
    reaper_.reapAll();
    waitForChildren();
  });
}

void Daemon::waitForShutdown() {
  stopSignals_.async_wait([this](boost::system::error_code ec, int sig) {
    if (ec) return;
    spdlog::info("event=shutdown signal={}", sig);
    shutdown();
  });
}

void Daemon::shutdown() {
  std::error_code fsErr;
  std::filesystem::remove(config_.socketPath, fsErr);
  // Containers do not outlive the simulator: a test run must not leak processes. Their
  // overlays go with the records when the Daemon is destroyed (and, whatever happens, with
  // the simulator's private mount namespace).
  for (const auto& c : containers_.all()) {
    if (c->pid) signalContainer(*c, SIGKILL);
  }
  boost::system::error_code ignored;
  acceptor_.close(ignored);
  io_.stop();
}

bool Daemon::peerAllowed(UnixSocket& socket) const {
  ucred cred{};
  socklen_t len = sizeof cred;
  if (::getsockopt(socket.native_handle(), SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0) {
    spdlog::warn("event=peer_credentials_unavailable mode={}",
                 config_.mode == Mode::V019 ? "v0.19 accepts" : "head rejects");
    return config_.mode == Mode::V019;
  }
  if (cred.uid != 0) spdlog::warn("event=peer_rejected uid={} pid={}", cred.uid, cred.pid);
  return cred.uid == 0;
}

asio::awaitable<void> Daemon::acceptLoop() {
  asio::steady_timer backoff(io_);
  for (;;) {
    auto [ec, socket] = co_await acceptor_.async_accept(kUseTuple);
    if (ec == asio::error::operation_aborted) co_return;
    if (ec) {
      spdlog::warn("event=accept_failed error={}", ec.message());
      backoff.expires_after(std::chrono::milliseconds(100));  // e.g. EMFILE: do not spin
      co_await backoff.async_wait(kUseTuple);
      continue;
    }
    if (config_.peerGate && !peerAllowed(socket)) {
      boost::system::error_code ignored;
      socket.close(ignored);  // no bytes: the client just sees EOF (§1.3)
      continue;
    }
    auto session = std::make_shared<Session>(*this, std::move(socket));
    asio::co_spawn(
        io_, [session]() -> asio::awaitable<void> { co_await session->run(); },
        [](const std::exception_ptr& e) {
          if (!e) return;
          try {
            std::rethrow_exception(e);
          } catch (const std::exception& ex) {
            spdlog::error("event=session_failed error={}", ex.what());
          }
        });
  }
}

const std::vector<std::pair<std::string_view, Daemon::Handler>>& Daemon::handlers() {
  static const std::vector<std::pair<std::string_view, Handler>> kTable = {
      {"Run", &Daemon::handleRun},
      {"Stop", &Daemon::handleStop},
      {"PauseContainer", &Daemon::handlePause},
      {"ResumeContainer", &Daemon::handleResume},
      {"Remove", &Daemon::handleRemove},
      {"List", &Daemon::handleList},
      {"ContainerLogs", &Daemon::handleLogs},
      {"Exec", &Daemon::handleExec},
      {"SendInput", &Daemon::handleSendInput},
      {"ResizePty", &Daemon::handleResizePty},
      {"Pull", &Daemon::handlePull},
      {"LoadImage", &Daemon::handleLoadImage},
      {"ListImages", &Daemon::handleListImages},
      {"RemoveImage", &Daemon::handleRemoveImage},
      {"Prune", &Daemon::handlePrune},
      {"SubscribeEvents", &Daemon::handleSubscribeEvents},
      {"Update", &Daemon::handleUpdate},
      {"GetManifest", &Daemon::handleGetManifest},
      {"VerifyManifest", &Daemon::handleVerifyManifest},
  };
  return kTable;
}

asio::awaitable<void> Daemon::dispatch(Session& session, const Request& request) {
  // Only the type: request bodies may carry environment values (style.md §5).
  spdlog::debug("event=request type={}", request.type);
  for (const auto& [name, handler] : handlers()) {
    if (name == request.type) {
      co_await (this->*handler)(session, request.fields);
      co_return;
    }
  }
  // Push, Commit, Build, RunPipeline, snapshots, RunWorkflow: fixed errors.
  json::object fields = request.fields;
  fields["type"] = request.type;
  co_await handleUnsupported(session, fields);
}

}  // namespace dockerbox::sim
