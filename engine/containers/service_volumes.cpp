// Runs in the engine (dockerbox-engine, unprivileged). Input: validated volume requests
// (names checked by the broker's decoder) and the container service's own records.
//
// Volumes (issue 11, item 3). The monitor makes, owns and removes their directories
// (broker/monitor/volumes.hpp) and decides who may mount one; the engine keeps what Docker
// shows of them (labels, creation time) and Docker's rules: a volume some container mounts
// cannot be removed, `prune` removes unused anonymous volumes (all unused ones with all=true),
// `rm -v` removes a container's anonymous volumes.
#include "engine/containers/service.hpp"

#include "broker/containers/config_blob.hpp"
#include "broker/state/names.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <map>

namespace dockerbox::broker::containers {

namespace asio = boost::asio;

namespace {

Error noSuchVolume(const std::string& name) { return fail(ErrorKind::NotFound, "get " + name + ": no such volume"); }

state::NewEvent volumeEvent(std::string action, const std::string& name, std::uint32_t uid, std::uint32_t gid) {
  state::NewEvent e;
  e.type = "volume";
  e.action = std::move(action);
  e.actorId = name;
  e.attributes.push_back({"driver", "local"});
  e.ownerUid = uid;
  e.ownerGid = gid;
  return e;
}

/// Docker's label filter: "key" (present) or "key=value".
bool hasLabel(const state::KeyValues& labels, std::string_view filter) {
  const auto eq = filter.find('=');
  const std::string_view key = filter.substr(0, eq);
  return std::any_of(labels.begin(), labels.end(), [&](const state::KeyValue& l) {
    return l.key == key && (eq == std::string_view::npos || l.value == filter.substr(eq + 1));
  });
}

bool isTrue(std::string_view v) { return v == "true" || v == "1"; }

/// The filters Docker knows for volumes; `allowed` lists the keys of this request.
Result<void> checkFilterKeys(const KeyValues& filters, std::initializer_list<std::string_view> allowed) {
  for (const auto& [key, value] : filters) {
    if (std::find(allowed.begin(), allowed.end(), key) == allowed.end()) {
      return fail(ErrorKind::BadRequest, "invalid filter '" + key + "'");
    }
    if ((key == "dangling" || key == "all") && !isTrue(value) && value != "false" && value != "0") {
      return fail(ErrorKind::BadRequest, "invalid filter '" + key + "=" + value + "'");
    }
  }
  return {};
}

/// Whether `volume` passes the label filters (label=, label!=) of `filters`.
bool labelsMatch(const state::VolumeRecord& volume, const KeyValues& filters) {
  for (const auto& [key, value] : filters) {
    if (key == "label" && !hasLabel(volume.labels, value)) return false;
    if (key == "label!" && hasLabel(volume.labels, value)) return false;
  }
  return true;
}

/// The names of the volumes a container's config mounts.
std::vector<std::string> volumeNamesOf(const std::string& dockerId, const RunConfig& config, bool anonymousOnly) {
  std::vector<std::string> names;
  for (const auto& v : config.volumes) {
    if (v.name.empty()) {
      names.push_back(anonymousVolumeName(dockerId, v.containerPath));
    } else if (!anonymousOnly) {
      names.push_back(v.name);
    }
  }
  return names;
}

/// Volume name -> the ids of the containers whose config mounts it: one pass over the
/// containers, however many volumes a request looks at.
Result<std::map<std::string, std::vector<std::string>>> volumeMounters(state::StateStore& state) {
  auto all = state.listContainers();
  if (!all) return all.error();
  std::map<std::string, std::vector<std::string>> mounters;
  for (const auto& c : *all) {
    auto config = readRunConfig(c.config);
    if (!config) continue;
    for (auto& name : volumeNamesOf(c.dockerId, *config, false)) mounters[std::move(name)].push_back(c.dockerId);
  }
  return mounters;
}

}  // namespace

void ContainerService::fillVolume(const state::VolumeRecord& volume, ipc::wire::Volume::Builder out) const {
  out.setName(volume.name);
  out.setDriver("local");
  out.setMountpoint(options_.volumesDir.empty() ? std::string() : options_.volumesDir + "/" + volume.name + "/_data");
  out.setCreatedNanos(volume.createdAt);
  auto labels = out.initLabels(static_cast<unsigned>(volume.labels.size()));
  for (unsigned i = 0; i < volume.labels.size(); ++i) {
    labels[i].setKey(volume.labels[i].key);
    labels[i].setValue(volume.labels[i].value);
  }
  out.setAnonymous(volume.anonymous);
}

Result<std::vector<std::string>> ContainerService::volumeUsers(const std::string& name) {
  auto mounters = volumeMounters(state_);
  if (!mounters) return mounters.error();
  auto found = mounters->find(name);
  return found == mounters->end() ? std::vector<std::string>() : std::move(found->second);
}

asio::awaitable<Result<void>> ContainerService::createContainerVolumes(const Caller& who, const std::string& dockerId,
                                                                      const RunConfig& config) {
  for (const auto& v : config.volumes) {
    const bool anonymous = v.name.empty();
    const std::string name = anonymous ? anonymousVolumeName(dockerId, v.containerPath) : v.name;
    std::string asked = name;  // named: g++ 12 and coroutine arguments (service_exec.cpp)
    auto made = co_await monitor_.createVolume(who, std::move(asked));
    if (!made) co_return made.error();
    state::VolumeRecord record{name, who.uid, who.gid, nowNanos(), anonymous, {}};
    if (auto put = state_.putVolume(record); !put) co_return put.error();
    if (*made) bus_.publish(volumeEvent("create", name, who.uid, who.gid));
  }
  co_return Result<void>();
}

asio::awaitable<Result<void>> ContainerService::removeVolume(const Caller& who, const std::string& name) {
  auto users = volumeUsers(name);
  if (!users) co_return users.error();
  if (!users->empty()) {
    std::string list;
    for (const auto& id : *users) list += (list.empty() ? "" : ", ") + id;
    co_return fail(ErrorKind::Conflict, "remove " + name + ": volume is in use - [" + list + "]");
  }
  std::string asked = name;
  auto removed = co_await monitor_.removeVolume(who, std::move(asked));
  // A volume whose directory is already gone is gone: only its record is left to drop.
  if (!removed && removed.error().kind != ErrorKind::NotFound) co_return removed.error();
  if (auto dropped = state_.removeVolumeRecord(name); !dropped) co_return dropped.error();
  bus_.publish(volumeEvent("destroy", name, who.uid, who.gid));
  co_return Result<void>();
}

asio::awaitable<void> ContainerService::removeAnonymousVolumes(const Caller& who, const std::string& dockerId,
                                                               const state::Blob& config) {
  auto run = readRunConfig(config);
  if (!run) co_return;
  for (const auto& name : volumeNamesOf(dockerId, *run, true)) {
    auto removed = co_await removeVolume(who, name);
    if (!removed && removed.error().kind != ErrorKind::NotFound) {
      spdlog::warn("event=anonymous_volume_kept name={} container={} error=\"{}\"", name, dockerId,
                   removed.error().message);
    }
  }
}

asio::awaitable<Result<void>> ContainerService::handleCreateVolume(const Caller& who, const CreateVolumeOp& op,
                                                                   StreamSink&, Out out) {
  if (!op.driver.empty() && op.driver != "local") {
    co_return fail(ErrorKind::NotImplemented,
                   "dockerbox cannot use volume driver \"" + op.driver + "\": it has only its local volumes");
  }
  if (!op.driverOpts.empty()) {
    co_return fail(ErrorKind::NotImplemented,
                   "dockerbox cannot create a volume with driver options (-o): its volumes are plain directories");
  }
  std::string name = op.name;
  if (name.empty()) {
    auto random = state::randomHex(32);
    if (!random) co_return random.error();
    name = std::move(*random);
  }
  std::string asked = name;
  auto made = co_await monitor_.createVolume(who, std::move(asked));
  if (!made) co_return made.error();
  state::VolumeRecord record{name, who.uid, who.gid, nowNanos(), false, {}};
  for (const auto& [key, value] : op.labels) record.labels.push_back({key, value});
  if (auto put = state_.putVolume(record); !put) co_return put.error();
  if (*made) bus_.publish(volumeEvent("create", name, who.uid, who.gid));
  auto stored = state_.getVolume(name);
  if (!stored) co_return stored.error();
  fillVolume(stored->value_or(record), out.initVolume());
  co_return Result<void>();
}

asio::awaitable<Result<void>> ContainerService::handleInspectVolume(const Caller& who, const InspectVolumeOp& op,
                                                                    StreamSink&, Out out) {
  auto found = state_.getVolume(op.name);
  if (!found) co_return found.error();
  if (!*found || !who.canSee((*found)->creatorUid, (*found)->creatorGid)) co_return noSuchVolume(op.name);
  fillVolume(**found, out.initVolume());
  co_return Result<void>();
}

asio::awaitable<Result<void>> ContainerService::handleListVolumes(const Caller& who, const ListVolumesOp& op,
                                                                  StreamSink&, Out out) {
  if (auto keys = checkFilterKeys(op.filters, {"name", "label", "label!", "dangling", "driver"}); !keys) {
    co_return keys.error();
  }
  auto all = state_.listVolumes();
  if (!all) co_return all.error();
  auto mounters = volumeMounters(state_);
  if (!mounters) co_return mounters.error();
  std::vector<const state::VolumeRecord*> shown;
  for (const auto& v : *all) {
    if (!who.canSee(v.creatorUid, v.creatorGid) || !labelsMatch(v, op.filters)) continue;
    bool pass = true;
    for (const auto& [key, value] : op.filters) {
      if (key == "name" && v.name.find(value) == std::string::npos) pass = false;
      if (key == "driver" && value != "local") pass = false;
      if (key == "dangling" && mounters->contains(v.name) == isTrue(value)) pass = false;
    }
    if (pass) shown.push_back(&v);
  }
  auto list = out.initVolumeList(static_cast<unsigned>(shown.size()));
  for (unsigned i = 0; i < shown.size(); ++i) fillVolume(*shown[i], list[i]);
  co_return Result<void>();
}

asio::awaitable<Result<void>> ContainerService::handleRemoveVolume(const Caller& who, const RemoveVolumeOp& op,
                                                                   StreamSink&, Out out) {
  auto found = state_.getVolume(op.name);
  if (!found) co_return found.error();
  if (!*found || !who.canSee((*found)->creatorUid, (*found)->creatorGid)) {
    if (op.force) {
      out.setOk();
      co_return Result<void>();
    }
    co_return noSuchVolume(op.name);
  }
  if (auto removed = co_await removeVolume(who, op.name); !removed) co_return removed.error();
  out.setOk();
  co_return Result<void>();
}

asio::awaitable<Result<void>> ContainerService::handlePruneVolumes(const Caller& who, const PruneVolumesOp& op,
                                                                   StreamSink&, Out out) {
  if (auto keys = checkFilterKeys(op.filters, {"label", "label!", "all"}); !keys) co_return keys.error();
  const bool everyVolume = std::any_of(op.filters.begin(), op.filters.end(),
                                       [](const auto& kv) { return kv.first == "all" && isTrue(kv.second); });
  auto all = state_.listVolumes();
  if (!all) co_return all.error();
  auto mounters = volumeMounters(state_);
  if (!mounters) co_return mounters.error();
  std::vector<std::string> deleted;
  for (const auto& v : *all) {
    if (!who.canSee(v.creatorUid, v.creatorGid) || !labelsMatch(v, op.filters)) continue;
    if (!everyVolume && !v.anonymous) continue;
    if (mounters->contains(v.name)) continue;
    auto removed = co_await removeVolume(who, v.name);
    if (!removed) {
      spdlog::warn("event=volume_prune_skipped name={} error=\"{}\"", v.name, removed.error().message);
      continue;
    }
    deleted.push_back(v.name);
  }
  auto reply = out.initVolumesPruned();
  auto names = reply.initDeleted(static_cast<unsigned>(deleted.size()));
  for (unsigned i = 0; i < deleted.size(); ++i) names.set(i, deleted[i]);
  reply.setSpaceReclaimed(0);
  co_return Result<void>();
}

}  // namespace dockerbox::broker::containers
