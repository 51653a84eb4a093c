// Runs as root. Input: acts the container service asks for (records it holds, which it could
// have changed: every one is checked against its seal), the caller's kernel identity with the
// policy's decision, and miniboxd's replies.
//
// The monitor (issue 9): the only code that builds miniboxd requests and judges what a
// container may run. See containers/monitor_port.hpp for what it checks on every act.
#pragma once

#include "broker/containers/live.hpp"
#include "broker/containers/monitor_port.hpp"
#include "broker/containers/run_spec.hpp"
#include "broker/minibox/client.hpp"
#include "broker/monitor/published_ports.hpp"
#include "broker/monitor/run_io.hpp"
#include "broker/monitor/seal.hpp"
#include "broker/monitor/volumes.hpp"

#include <functional>
#include <map>
#include <set>
#include <string>
#include <vector>

namespace dockerbox::broker::monitor {

struct MonitorOptions {
  /// The installed dockerbox-init (checked by main: root-owned, not group/other-writable).
  /// Empty: containers cannot be confined, so only callers whose rule has `privileged` may
  /// run them (as miniboxd runs them); everyone else is refused, saying why.
  std::string initPath;
  /// Judges a stored container config again, as a create by `who` under the current policy,
  /// before each start: an error (403 with the deciding rule) refuses the start; otherwise
  /// the deciding rule's grants build the run's confinement. Unset: every start is refused.
  std::function<Result<Grants>(const Caller& who, const state::Blob& config)> rejudge;
  /// Re-checks a stored bind source just before miniboxd mounts it by path (unconfined runs
  /// only; bind_check.hpp, stillResolvesTo). Unset: every such start with a bind is refused.
  std::function<bool(std::string_view hostPath, bool readOnly, const Identity& who)> bindStillValid;
  /// Pins a confined container's bind sources as `who` (bind_pin.hpp) and returns the host
  /// paths miniboxd must mount. Unset: confined runs with binds are refused.
  std::function<Result<std::vector<std::string>>(const std::string& dockerId,
                                                 const std::vector<containers::BindSpec>& binds, const Identity& who)>
      pinBinds;
  /// Detaches a container's pinned mounts once miniboxd has mounted them (or failed to).
  std::function<void(const std::string& dockerId, std::size_t count)> unpinBinds;
  /// Runs dockerbox-registry for one reference (registry_launcher.hpp). Unset: 501.
  std::function<boost::asio::awaitable<Result<containers::ResolvedImage>>(
      std::string reference, std::string platform, containers::RegistryCredentials credentials, bool loginOnly)>
      resolveImage;
  /// Where the stdin and terminal FIFOs of confined runs are made (run_io.hpp), normally
  /// `<run dir>/io`. Empty: containers get no stdin and no terminal.
  std::string ioDir;
  /// Where volumes live (volumes.hpp), normally `<state dir>/volumes`. Empty: no volumes.
  std::string volumesDir;
  /// The owner of a container as a caller, for a run its restart policy asks for: the
  /// identity from the password and group databases now, refused when the owner is no
  /// longer admitted to the socket. Unset: restart policies never start anything.
  std::function<Result<Caller>(std::uint32_t uid, std::uint32_t gid)> ownerCaller;
  /// Records a run no client asked for (a restart policy's) in the audit log before it is
  /// attempted (P6), returning the record's number, and its outcome after. Unset: such
  /// runs are refused.
  std::function<Result<std::uint64_t>(const Caller& owner, const std::string& dockerId, const std::string& reason)>
      auditUnrequested;
  std::function<void(std::uint64_t seq, const Result<void>& outcome)> auditUnrequestedOutcome;
  /// Carries published ports (published_ports.hpp; the broker's dockerbox-proxy). Null:
  /// a container that publishes ports is refused at start, saying so.
  std::shared_ptr<PortPublisher> ports;
};

class Monitor final : public containers::MonitorPort {
 public:
  Monitor(minibox::Client& minibox, Sealer sealer, MonitorOptions options);

  boost::asio::awaitable<Result<std::vector<minibox::ContainerInfo>>> list() override;
  boost::asio::awaitable<Result<std::vector<std::string>>> listImages() override;
  boost::asio::awaitable<Result<minibox::Protocol>> probe() override;
  boost::asio::awaitable<Result<void>> subscribeEvents(minibox::EventHandler onEvent) override;
  boost::asio::awaitable<bool> canConfine() override;

  boost::asio::awaitable<Result<std::string>> sealContainer(const Caller& who, const std::string& dockerId,
                                                            const state::Blob& config,
                                                            const std::optional<containers::ImageDefaults>& image) override;
  boost::asio::awaitable<Result<std::string>> sealExec(const Caller& who, const std::string& execId,
                                             const containers::SealedRecord& container,
                                             const state::Blob& config) override;

  boost::asio::awaitable<Result<void>> pull(const Caller& who, minibox::ImageRef ref) override;
  boost::asio::awaitable<Result<void>> removeImage(const Caller& who, minibox::ImageRef ref) override;
  boost::asio::awaitable<Result<containers::ResolvedImage>> resolveImage(
      const Caller& who, std::string reference, std::string platform, containers::RegistryCredentials credentials,
      bool loginOnly) override;
  boost::asio::awaitable<Result<std::int32_t>> run(const Caller& who, containers::SealedRecord container,
                                                   containers::RunHandlers handlers) override;
  boost::asio::awaitable<Result<std::int32_t>> restartRun(containers::SealedRecord container,
                                                          containers::RunHandlers handlers) override;
  boost::asio::awaitable<Result<std::int32_t>> healthCheck(containers::SealedRecord container, std::string miniboxId,
                                                           minibox::OutputHandler onOutput) override;
  boost::asio::awaitable<Result<std::uint64_t>> prepareExec(const Caller& who, containers::SealedRecord container,
                                                            std::string miniboxId,
                                                            containers::SealedRecord exec) override;
  boost::asio::awaitable<Result<std::int32_t>> runExec(std::uint64_t ticket, minibox::OutputHandler onOutput) override;
  void dropExec(std::uint64_t ticket) override;
  boost::asio::awaitable<Result<void>> input(const Caller& who, containers::SealedRecord container,
                                             containers::SealedRecord exec, std::vector<std::uint8_t> data,
                                             bool close) override;
  boost::asio::awaitable<Result<void>> resizeTerminal(const Caller& who, containers::SealedRecord container,
                                                      containers::SealedRecord exec, std::uint16_t rows,
                                                      std::uint16_t cols) override;
  boost::asio::awaitable<Result<void>> stop(const Caller& who, containers::SealedRecord container,
                                            std::string miniboxId) override;
  boost::asio::awaitable<Result<void>> signal(const Caller& who, containers::SealedRecord container,
                                              std::string miniboxId, int signal) override;
  boost::asio::awaitable<Result<void>> pause(const Caller& who, containers::SealedRecord container,
                                             std::string miniboxId) override;
  boost::asio::awaitable<Result<bool>> createVolume(const Caller& who, std::string name) override;
  boost::asio::awaitable<Result<void>> removeVolume(const Caller& who, std::string name) override;
  boost::asio::awaitable<Result<void>> resume(const Caller& who, containers::SealedRecord container,
                                              std::string miniboxId) override;

  /// The miniboxd name of a run of container `dockerId`: `dbx-<docker id>-<nonce>`.
  [[nodiscard]] static bool isRunName(std::string_view name, std::string_view dockerId);

 private:
  /// A run this monitor holds, by Docker id.
  struct HeldRun {
    std::string miniboxId;  // empty until miniboxd created it
    containers::RunConfinement confinement = containers::RunConfinement::Unknown;
    std::shared_ptr<RunIo> io;  // stdin and terminal; null when the run has neither
    std::vector<std::string> volumes;  // the names of the volumes it mounts
  };
  /// A judged exec waiting for runExec, and then running.
  struct PreparedExec {
    minibox::ExecSpec spec;
    std::string execId;
    std::shared_ptr<RunIo> io;  // its FIFOs; null when it has none
  };
  struct PreparedRun {
    minibox::RunSpec spec;
    containers::RunConfinement confinement = containers::RunConfinement::Unknown;
    std::size_t pinned = 0;
    std::shared_ptr<RunIo> io;
    std::vector<std::string> volumes;
    std::vector<HostSocket> ports;  // bound, not yet handed to the proxy
    UniqueFd portChannel;           // the listener the init connects to (with ports only)
  };

  /// The record's seal verifies and `who` can see its owner (else the answer a missing
  /// object gets, so that nothing about it leaks).
  [[nodiscard]] Result<void> checkRecord(const Caller& who, SealKind kind, const containers::SealedRecord& record) const;
  /// Visibility is not the owner's rights: an exec runs with at most what its caller could
  /// have created. The container's config is judged for `who` (its binds probed as them), as
  /// a start is; `who` with the narrower of those grants and the exec request's, or why not.
  [[nodiscard]] Result<Caller> judgeAsCreator(const Caller& who, const containers::SealedRecord& container) const;
  /// `who` with the grants of the rule that judges the container's sealed config as their
  /// create under the policy in force now (a run's, a health check's); the denial otherwise.
  [[nodiscard]] Result<Caller> judgeAsOwner(const Caller& who, const containers::SealedRecord& container) const;
  /// `miniboxId` is the current run of `dockerId`: one this monitor holds, or one miniboxd
  /// lists under a name this monitor gave it. Returns how that run is confined.
  boost::asio::awaitable<Result<containers::RunConfinement>> currentRun(const std::string& dockerId,
                                                                        const std::string& miniboxId);
  boost::asio::awaitable<Result<PreparedRun>> prepareRun(const Caller& judged, const std::string& dockerId,
                                                         const VolumeOwner& owner,
                                                         const containers::RunConfig& config);
  [[nodiscard]] Result<minibox::ExecSpec> execSpecFor(const Caller& who, const std::string& dockerId,
                                                      const std::string& miniboxId, const containers::RunConfig& config,
                                                      const CreateExecOp& exec, containers::RunConfinement confinement,
                                                      const containers::ExecIoPlacement& io,
                                                      std::uint32_t timeoutMs = 0) const;
  [[nodiscard]] Error cannotConfine() const;
  /// The volumes of container `dockerId` for a run: each made if missing (owned by the
  /// container's owner), each one `who` can see; the BindSpecs to mount them from, and their
  /// names, in the config's order.
  [[nodiscard]] Result<std::pair<std::vector<containers::BindSpec>, std::vector<std::string>>> volumesForRun(
      const Caller& who, const std::string& dockerId, const VolumeOwner& owner, const containers::RunConfig& config);
  /// The held run of a container `who` may act on, with its input (input/resize acts).
  [[nodiscard]] Result<std::shared_ptr<RunIo>> heldIo(const Caller& who, const containers::SealedRecord& container) const;
  /// The same for an exec of it (`exec`'s id not empty), prepared or running.
  [[nodiscard]] Result<std::shared_ptr<RunIo>> heldIo(const Caller& who, const containers::SealedRecord& container,
                                                      const containers::SealedRecord& exec) const;

  minibox::Client& minibox_;
  Sealer sealer_;
  MonitorOptions options_;
  VolumeStore volumes_;
  std::map<std::string, HeldRun> runs_;
  /// Judged execs waiting for runExec, by ticket.
  std::map<std::uint64_t, PreparedExec> execs_;
  /// The FIFOs of prepared and running execs, by exec id (input/resize acts).
  std::map<std::string, std::shared_ptr<RunIo>> execIo_;
  /// Containers with a health check running (at most one each).
  std::set<std::string> healthChecks_;
  std::uint64_t nextTicket_ = 1;
  /// miniboxd answered a Run with "bind mounts are not allowed" (HEAD without
  /// MINIBOX_ALLOW_BIND_MOUNTS): no confined run is possible until the broker restarts.
  bool bindMountsRefused_ = false;
};

}  // namespace dockerbox::broker::monitor
