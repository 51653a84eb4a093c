// The container service's side of the acts channel (ipc/acts.capnp): a MonitorPort whose
// every act is a call to the monitor on the other end of a Unix socket. Input: the monitor's
// replies (opened under reader limits, enums checked).
//
// Acts are multiplexed on one socket by id. A streaming act's interim replies (run output,
// events) are handled one at a time and acknowledged after their handler returned, so the
// monitor never has more than kActWindow of them outstanding per act. When the calling
// coroutine is cancelled the act is cancelled on the monitor too; when the channel closes
// every act in flight fails with Unavailable.
#pragma once

#include "broker/containers/act_wire.hpp"
#include "broker/containers/monitor_port.hpp"
#include "broker/containers/notifier.hpp"

#include <boost/asio/any_io_executor.hpp>
#include <capnp/serialize.h>

#include <deque>
#include <map>
#include <functional>
#include <memory>

namespace dockerbox::broker::containers {

class RemoteMonitor final : public MonitorPort {
 public:
  /// `whenClosed` (if any) is called once when the channel is over (the monitor is gone).
  RemoteMonitor(boost::asio::any_io_executor executor, boost::asio::local::stream_protocol::socket socket,
                std::function<void()> whenClosed = {});
  ~RemoteMonitor() override;

  [[nodiscard]] bool connected() const { return link_->open(); }

  boost::asio::awaitable<Result<std::vector<minibox::ContainerInfo>>> list() override;
  boost::asio::awaitable<Result<std::vector<std::string>>> listImages() override;
  boost::asio::awaitable<Result<minibox::Protocol>> probe() override;
  boost::asio::awaitable<Result<void>> subscribeEvents(minibox::EventHandler onEvent) override;
  boost::asio::awaitable<bool> canConfine() override;
  boost::asio::awaitable<Result<std::string>> sealContainer(const Caller& who, const std::string& dockerId,
                                                            const state::Blob& config,
                                                            const std::optional<ImageDefaults>& image) override;
  boost::asio::awaitable<Result<std::string>> sealExec(const Caller& who, const std::string& execId,
                                             const SealedRecord& container, const state::Blob& config) override;
  boost::asio::awaitable<Result<void>> pull(const Caller& who, minibox::ImageRef ref) override;
  boost::asio::awaitable<Result<void>> removeImage(const Caller& who, minibox::ImageRef ref) override;
  boost::asio::awaitable<Result<ResolvedImage>> resolveImage(const Caller& who, std::string reference,
                                                             std::string platform, RegistryCredentials credentials,
                                                             bool loginOnly) override;
  boost::asio::awaitable<Result<std::int32_t>> run(const Caller& who, SealedRecord container,
                                                   RunHandlers handlers) override;
  boost::asio::awaitable<Result<std::int32_t>> restartRun(SealedRecord container, RunHandlers handlers) override;
  boost::asio::awaitable<Result<std::int32_t>> healthCheck(SealedRecord container, std::string miniboxId,
                                                           minibox::OutputHandler onOutput) override;
  boost::asio::awaitable<Result<std::uint64_t>> prepareExec(const Caller& who, SealedRecord container,
                                                            std::string miniboxId, SealedRecord exec) override;
  boost::asio::awaitable<Result<std::int32_t>> runExec(std::uint64_t ticket, minibox::OutputHandler onOutput) override;
  void dropExec(std::uint64_t ticket) override;
  boost::asio::awaitable<Result<void>> input(const Caller& who, SealedRecord container, SealedRecord exec,
                                             std::vector<std::uint8_t> data,
                                             bool close) override;
  boost::asio::awaitable<Result<void>> resizeTerminal(const Caller& who, SealedRecord container, SealedRecord exec,
                                                      std::uint16_t rows, std::uint16_t cols) override;
  boost::asio::awaitable<Result<void>> stop(const Caller& who, SealedRecord container, std::string miniboxId) override;
  boost::asio::awaitable<Result<void>> signal(const Caller& who, SealedRecord container, std::string miniboxId,
                                              int signal) override;
  boost::asio::awaitable<Result<bool>> createVolume(const Caller& who, std::string name) override;
  boost::asio::awaitable<Result<void>> removeVolume(const Caller& who, std::string name) override;
  boost::asio::awaitable<Result<void>> pause(const Caller& who, SealedRecord container,
                                             std::string miniboxId) override;
  boost::asio::awaitable<Result<void>> resume(const Caller& who, SealedRecord container,
                                              std::string miniboxId) override;

 private:
  using Frame = kj::Array<capnp::word>;
  using Reply = ipc::acts::ActReply::Reader;
  struct Pending {
    explicit Pending(boost::asio::any_io_executor executor) : changed(std::move(executor)) {}
    std::deque<Frame> replies;
    bool closed = false;
    Notifier changed;
  };
  /// A call in flight: its id and the builder to fill.
  struct Call {
    std::uint64_t id = 0;
    capnp::MallocMessageBuilder message;
    ipc::acts::ActCall::Builder root = message.initRoot<ipc::acts::ActCall>();
  };
  using InterimHandler = std::function<boost::asio::awaitable<Result<void>>(Reply)>;
  /// A final reply: the frame and its reader (valid while the frame lives).
  struct Final {
    Frame frame;
    std::unique_ptr<capnp::FlatArrayMessageReader> reader;
    [[nodiscard]] Reply get() const { return reader->getRoot<ipc::acts::ActReply>(); }
  };

  std::unique_ptr<Call> begin(std::uint64_t request);
  /// stop, pause or resume of the container's run `miniboxId`.
  boost::asio::awaitable<Result<void>> onRun(const Caller& who, ipc::acts::ActCall::Act::Which which,
                                             SealedRecord container, std::string miniboxId);
  /// Sends a run or restartRun and hands its interim replies to `handlers`.
  boost::asio::awaitable<Result<std::int32_t>> runReplies(Call& call, RunHandlers handlers);
  /// Sends a runExec or healthCheck and hands its output to `onOutput`.
  boost::asio::awaitable<Result<std::int32_t>> execReplies(Call& call, minibox::OutputHandler onOutput);
  /// Sends the call and waits for its final reply; an `error` reply becomes an Error.
  boost::asio::awaitable<Result<Final>> roundTrip(Call& call, const InterimHandler& onInterim = {});
  /// Sends a call that gets no reply.
  void post(Call& call);
  void onFrame(Frame frame);
  void onClosed();

  boost::asio::any_io_executor executor_;
  std::function<void()> closedCallback_;
  std::shared_ptr<ActLink> link_;
  // Shared with the calls in flight: a suspended call may be destroyed after this object
  // (at shutdown the io_context destroys suspended coroutines last), and it unregisters itself.
  using PendingMap = std::map<std::uint64_t, std::shared_ptr<Pending>>;
  std::shared_ptr<PendingMap> pending_ = std::make_shared<PendingMap>();
  std::uint64_t nextId_ = 1;
};

}  // namespace dockerbox::broker::containers
