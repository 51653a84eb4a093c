// Runs as root. Input: see monitor.hpp.
#include "broker/monitor/monitor.hpp"

#include "broker/containers/config_blob.hpp"
#include "broker/state/names.hpp"
#include "common/unique_fd.hpp"

#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstring>

namespace dockerbox::broker::monitor {

namespace asio = boost::asio;
using containers::RunConfinement;
using containers::SealedRecord;

namespace {

constexpr std::string_view kRunNamePrefix = "dbx-";

bool alive(minibox::ContainerState s) {
  return s == minibox::ContainerState::Running || s == minibox::ContainerState::Paused;
}

Error noSuchContainer(const SealedRecord& record) {
  return fail(ErrorKind::NotFound, "No such container: " + record.id);
}

Error notRunning(const SealedRecord& record) {
  return fail(ErrorKind::Conflict, "Container " + record.id + " is not running");
}

/// The host pid miniboxd reports for its container `miniboxId` while it runs.
Result<pid_t> runPid(const std::vector<minibox::ContainerInfo>& listed, const std::string& miniboxId,
                     const SealedRecord& record) {
  for (const auto& info : listed) {
    if (info.id != miniboxId) continue;
    if (!alive(info.state)) return notRunning(record);
    if (!info.pid || *info.pid == 0) {
      return fail(ErrorKind::NotImplemented, "dockerbox cannot signal container " + record.id +
                                                 ": miniboxd does not report its process");
    }
    return static_cast<pid_t>(*info.pid);
  }
  return notRunning(record);
}

}  // namespace

Monitor::Monitor(minibox::Client& minibox, Sealer sealer, MonitorOptions options)
    : minibox_(minibox), sealer_(sealer), options_(std::move(options)), volumes_(options_.volumesDir) {
  volumes_.clearLeftovers();
}

asio::awaitable<Result<std::vector<minibox::ContainerInfo>>> Monitor::list() { co_return co_await minibox_.list(); }

asio::awaitable<Result<std::vector<std::string>>> Monitor::listImages() { co_return co_await minibox_.listImages(); }

asio::awaitable<Result<minibox::Protocol>> Monitor::probe() { co_return co_await minibox_.probe(); }

asio::awaitable<Result<void>> Monitor::subscribeEvents(minibox::EventHandler onEvent) {
  co_return co_await minibox_.subscribeEvents(std::move(onEvent));
}

asio::awaitable<bool> Monitor::canConfine() {
  if (options_.initPath.empty() || bindMountsRefused_) co_return false;
  auto protocol = co_await minibox_.probe();
  co_return protocol && *protocol == minibox::Protocol::Head;
}

Result<void> Monitor::checkRecord(const Caller& who, SealKind kind, const SealedRecord& record) const {
  if (record.seal.empty()) {
    return fail(ErrorKind::Forbidden, (kind == SealKind::Container ? "container " : "exec ") + record.id +
                                         " was created by an earlier dockerbox and cannot be run by this one; "
                                         "remove it and create it again");
  }
  if (!sealer_.verify(kind, record)) {
    // The service's record is not what the monitor sealed: its store was changed behind it.
    return fail(ErrorKind::Forbidden, "denied: the record of " + record.id + " is not the one dockerbox sealed",
                "seal mismatch");
  }
  if (!who.canSee(record.ownerUid, record.ownerGid)) return noSuchContainer(record);
  return {};
}

Result<Caller> Monitor::judgeAsOwner(const Caller& who, const SealedRecord& container) const {
  if (!options_.rejudge) return fail(ErrorKind::Forbidden, "denied by policy: no policy to judge the container with");
  auto grants = options_.rejudge(who, container.config);
  if (!grants) return grants.error();
  return Caller(who, who.visibility, *grants);
}

Result<Caller> Monitor::judgeAsCreator(const Caller& who, const SealedRecord& container) const {
  auto asCreator = judgeAsOwner(who, container);
  if (!asCreator) {
    return fail(ErrorKind::Forbidden, asCreator.error().message + " (an exec needs the rights to create its container)",
                asCreator.error().context);
  }
  return Caller(who, who.visibility, narrower(who.grants, asCreator->grants));
}

bool Monitor::isRunName(std::string_view name, std::string_view dockerId) {
  // dbx-<64 hex>-<16 hex>
  if (name.size() != kRunNamePrefix.size() + dockerId.size() + 1 + 16) return false;
  return name.starts_with(kRunNamePrefix) && name.substr(kRunNamePrefix.size(), dockerId.size()) == dockerId &&
         name[kRunNamePrefix.size() + dockerId.size()] == '-';
}

asio::awaitable<Result<RunConfinement>> Monitor::currentRun(const std::string& dockerId, const std::string& miniboxId) {
  if (auto held = runs_.find(dockerId); held != runs_.end()) {
    if (held->second.miniboxId.empty() || held->second.miniboxId != miniboxId) {
      co_return fail(ErrorKind::Conflict, "Container " + dockerId + " is not running");
    }
    co_return held->second.confinement;
  }
  // A run this monitor no longer holds (a restart, a lost connection): miniboxd's List says
  // which container carries a name this monitor gave that container's run. How it was
  // confined is not known: execs then go through dockerbox-init, which fails closed.
  auto listed = co_await minibox_.list();
  if (!listed) co_return listed.error();
  for (const auto& info : *listed) {
    if (info.id == miniboxId && info.name && isRunName(*info.name, dockerId) && alive(info.state)) {
      co_return RunConfinement::Unknown;
    }
  }
  co_return fail(ErrorKind::Conflict, "Container " + dockerId + " is not running");
}

asio::awaitable<Result<std::string>> Monitor::sealContainer(const Caller& who, const std::string& dockerId,
                                                            const state::Blob& config,
                                                            const std::optional<containers::ImageDefaults>& image) {
  if (!state::isFullId(dockerId)) co_return fail(ErrorKind::Internal, "internal error", "bad container id to seal");
  // Only what the policy judged for this request: the service cannot seal a config of its own.
  if (!who.judgedConfig || *who.judgedConfig != config) {
    co_return fail(ErrorKind::Internal, "internal error", "the config to seal is not the one the policy judged");
  }
  if (!image) co_return sealer_.seal(SealKind::Container, SealedRecord{dockerId, "", who.uid, who.gid, config, ""});
  // The image's defaults come from the engine (and a registry before it): the merged config
  // is judged like a create of its own, so an image cannot give a container more than its
  // creator may have (a User of root, say).
  auto merged = containers::mergeImageDefaults(config, *image);
  if (!merged) co_return merged.error();
  if (!options_.rejudge) co_return fail(ErrorKind::Forbidden, "denied: no policy to judge the image's defaults");
  if (auto judged = options_.rejudge(who, *merged); !judged) co_return judged.error();
  co_return sealer_.seal(SealKind::Container, SealedRecord{dockerId, "", who.uid, who.gid, *merged, ""});
}

asio::awaitable<Result<std::string>> Monitor::sealExec(const Caller& who, const std::string& execId, const SealedRecord& container,
                                      const state::Blob& config) {
  if (auto checked = checkRecord(who, SealKind::Container, container); !checked) co_return checked.error();
  if (!state::isFullId(execId)) co_return fail(ErrorKind::Internal, "internal error", "bad exec id to seal");
  if (!who.judgedConfig || *who.judgedConfig != config) {
    co_return fail(ErrorKind::Internal, "internal error", "the exec config to seal is not the one the policy judged");
  }
  // Refused here already, where the client shows the reason; the start judges it again.
  if (auto judged = judgeAsCreator(who, container); !judged) co_return judged.error();
  co_return sealer_.seal(SealKind::Exec, SealedRecord{execId, container.id, who.uid, who.gid, config, ""});
}

asio::awaitable<Result<void>> Monitor::pull(const Caller&, minibox::ImageRef ref) {
  co_return co_await minibox_.pull(std::move(ref));
}

asio::awaitable<Result<void>> Monitor::removeImage(const Caller&, minibox::ImageRef ref) {
  co_return co_await minibox_.removeImage(std::move(ref));
}

asio::awaitable<Result<containers::ResolvedImage>> Monitor::resolveImage(const Caller&, std::string reference,
                                                                         std::string platform,
                                                                         containers::RegistryCredentials credentials,
                                                                         bool loginOnly) {
  if (!options_.resolveImage) co_return containers::ResolvedImage{};
  co_return co_await options_.resolveImage(std::move(reference), std::move(platform), std::move(credentials),
                                           loginOnly);
}

asio::awaitable<Result<void>> Monitor::stop(const Caller& who, SealedRecord container, std::string miniboxId) {
  if (auto checked = checkRecord(who, SealKind::Container, container); !checked) co_return checked.error();
  if (auto current = co_await currentRun(container.id, miniboxId); !current) co_return current.error();
  co_return co_await minibox_.stop(std::move(miniboxId));
}

asio::awaitable<Result<void>> Monitor::signal(const Caller& who, SealedRecord container, std::string miniboxId,
                                              int signal) {
  if (signal < 1 || signal > 64) co_return fail(ErrorKind::BadRequest, "Invalid signal: " + std::to_string(signal));
  if (auto checked = checkRecord(who, SealKind::Container, container); !checked) co_return checked.error();
  if (auto current = co_await currentRun(container.id, miniboxId); !current) co_return current.error();
  // miniboxd's List names the process. A pidfd is taken on that pid, and a second List
  // must still name the same pid for the same running container: a pid that was reused
  // between the two cannot be the one the pidfd holds, and a pidfd never reaches another
  // process later (ESRCH once this one is gone).
  auto listed = co_await minibox_.list();
  if (!listed) co_return listed.error();
  auto pid = runPid(*listed, miniboxId, container);
  if (!pid) co_return pid.error();
  UniqueFd pidfd(static_cast<int>(::syscall(SYS_pidfd_open, *pid, 0)));
  if (!pidfd) co_return errno == ESRCH ? notRunning(container) : fail(ErrorKind::Internal, "internal error",
                                                                        std::string("pidfd_open: ") + std::strerror(errno));
  auto again = co_await minibox_.list();
  if (!again) co_return again.error();
  auto still = runPid(*again, miniboxId, container);
  if (!still) co_return still.error();
  if (*still != *pid) co_return notRunning(container);
  if (::syscall(SYS_pidfd_send_signal, pidfd.get(), signal, nullptr, 0) != 0) {
    co_return errno == ESRCH ? notRunning(container)
                             : fail(ErrorKind::Internal, "internal error", std::string("pidfd_send_signal: ") + std::strerror(errno));
  }
  co_return Result<void>();
}

asio::awaitable<Result<void>> Monitor::pause(const Caller& who, SealedRecord container, std::string miniboxId) {
  if (auto checked = checkRecord(who, SealKind::Container, container); !checked) co_return checked.error();
  if (auto current = co_await currentRun(container.id, miniboxId); !current) co_return current.error();
  co_return co_await minibox_.pause(std::move(miniboxId));
}

asio::awaitable<Result<void>> Monitor::resume(const Caller& who, SealedRecord container, std::string miniboxId) {
  if (auto checked = checkRecord(who, SealKind::Container, container); !checked) co_return checked.error();
  if (auto current = co_await currentRun(container.id, miniboxId); !current) co_return current.error();
  co_return co_await minibox_.resume(std::move(miniboxId));
}

}  // namespace dockerbox::broker::monitor
