// Runs as root. Input: volume names from acts and sealed container configs; the caller the
// monitor registered for the request. Volumes are dockerbox's directories (volumes.hpp):
// their owner is the caller who made them, recorded by root, never the engine's word.
#include "broker/monitor/monitor.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>

namespace dockerbox::broker::monitor {

namespace asio = boost::asio;

namespace {

Error noSuchVolume(const std::string& name) { return fail(ErrorKind::NotFound, "get " + name + ": no such volume"); }

}  // namespace

Result<std::pair<std::vector<containers::BindSpec>, std::vector<std::string>>> Monitor::volumesForRun(
    const Caller& who, const std::string& dockerId, const VolumeOwner& owner, const containers::RunConfig& config) {
  std::vector<containers::BindSpec> binds;
  std::vector<std::string> names;
  for (const auto& v : config.volumes) {
    const std::string name = v.name.empty() ? containers::anonymousVolumeName(dockerId, v.containerPath) : v.name;
    auto found = volumes_.owner(name);
    if (!found) return found.error();
    if (!*found) {
      // Made at create; gone since (a monitor that lost it, an engine out of step): the
      // container's owner gets it back empty, as Docker makes a missing volume at start.
      auto made = volumes_.create(name, owner);
      if (!made) return made.error();
      spdlog::info("event=volume_created name={} uid={} gid={} for={}", name, owner.uid, owner.gid, dockerId);
      found = volumes_.owner(name);
      if (!found) return found.error();
      if (!*found) return fail(ErrorKind::Internal, "internal error", "volume " + name + " vanished");
    }
    if (!who.canSee((*found)->uid, (*found)->gid)) {
      return fail(ErrorKind::Forbidden, "denied by policy: volume " + name + " is not yours to mount");
    }
    binds.push_back({volumes_.dataPath(name), v.containerPath, v.readOnly, true});
    names.push_back(name);
  }
  return std::pair{std::move(binds), std::move(names)};
}

asio::awaitable<Result<bool>> Monitor::createVolume(const Caller& who, std::string name) {
  auto found = volumes_.owner(name);
  if (!found) co_return found.error();
  if (!*found) {
    auto made = volumes_.create(name, VolumeOwner{who.uid, who.gid});
    if (!made) co_return made.error();
    if (*made) {
      spdlog::info("event=volume_created name={} uid={} gid={}", name, who.uid, who.gid);
      co_return true;
    }
    found = volumes_.owner(name);  // made meanwhile by another act
    if (!found) co_return found.error();
    if (!*found) co_return fail(ErrorKind::Internal, "internal error", "volume " + name + " vanished");
  }
  if (!who.canSee((*found)->uid, (*found)->gid)) {
    // One name space for everyone: the name is taken, and that is all the caller learns.
    co_return fail(ErrorKind::Conflict, "volume name " + name + " is already in use by another user's volume");
  }
  co_return false;
}

asio::awaitable<Result<void>> Monitor::removeVolume(const Caller& who, std::string name) {
  auto found = volumes_.owner(name);
  if (!found) co_return found.error();
  if (!*found || !who.canSee((*found)->uid, (*found)->gid)) co_return noSuchVolume(name);
  std::vector<std::string> users;
  for (const auto& [dockerId, run] : runs_) {
    if (std::find(run.volumes.begin(), run.volumes.end(), name) != run.volumes.end()) users.push_back(dockerId);
  }
  if (!users.empty()) {
    std::string list;
    for (const auto& id : users) list += (list.empty() ? "" : ", ") + id;
    co_return fail(ErrorKind::Conflict, "remove " + name + ": volume is in use - [" + list + "]");
  }
  if (auto removed = volumes_.remove(name); !removed) co_return removed.error();
  spdlog::info("event=volume_removed name={} uid={}", name, who.uid);
  co_return Result<void>();
}

}  // namespace dockerbox::broker::monitor
