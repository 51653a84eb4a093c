// Runs in the engine (dockerbox-engine, unprivileged). Input: validated image requests
// (references checked for length and charset by the decoder, parsed here) and miniboxd's
// replies.
//
// miniboxd knows images only by store name (`library/alpine:latest`, protocol 7.13) and
// reports no ids, sizes, dates or pull progress: ids are derived from store names (the same
// ones `docker images` shows), and a pull answers once at the end. Listing (and so inspect
// and remove) needs miniboxd 0.23 or later (ListImages).
//
// A pull first asks dockerbox's own registry client (through the monitor, which starts it
// sandboxed) what the reference names, verifies every digest of the answer here, then has
// miniboxd fetch the layers, and records the image's configuration, digests and size under
// miniboxd's store name: create merges that configuration as Docker does, inspect shows it.
// Without the registry client (not installed) a pull is miniboxd's alone, and images run
// without their configuration, as before (the pull says so).
#include "engine/containers/service.hpp"
#include "broker/minibox/image_ref.hpp"
#include "engine/state/rfc3339.hpp"
#include "registry/image_config.hpp"
#include "registry/reference.hpp"
#include "registry/verify.hpp"

#include <algorithm>
#include <cctype>

namespace dockerbox::broker::containers {

namespace asio = boost::asio;

namespace {

Error noSuchImage(const std::string& ref) { return fail(ErrorKind::NotFound, "No such image: " + ref); }

/// The hex part of an id-like reference ("sha256:abc..." or "abc..."), or empty.
std::string idPrefix(std::string_view ref) {
  if (ref.starts_with("sha256:")) ref.remove_prefix(7);
  if (ref.empty() || ref.size() > 64) return {};
  for (char ch : ref) {
    if (!std::isxdigit(static_cast<unsigned char>(ch)) || std::isupper(static_cast<unsigned char>(ch))) return {};
  }
  return std::string(ref);
}

std::string repositoryOf(const std::string& dockerName) {
  auto colon = dockerName.rfind(':');
  if (colon == std::string::npos || dockerName.find('/', colon) != std::string::npos) return dockerName;
  return dockerName.substr(0, colon);
}

/// The 64 hex of "sha256:<hex>" (or the text itself when it has no such prefix).
std::string_view hexOf(std::string_view id) { return id.starts_with("sha256:") ? id.substr(7) : id; }

/// The store name `ref` names: by reference, or by a unique prefix of its id.
Result<std::string> findImage(const std::vector<std::string>& store, const std::string& ref,
                                     const std::function<std::string(std::string_view)>& imageId) {
  if (auto parsed = minibox::ImageRef::parse(ref)) {
    if (std::find(store.begin(), store.end(), parsed->storeName()) != store.end()) return parsed->storeName();
  }
  if (auto prefix = idPrefix(ref); !prefix.empty()) {
    std::vector<std::string> matches;
    for (const auto& name : store) {
      const std::string id = imageId(name);
      if (!id.empty() && hexOf(id).starts_with(prefix)) matches.push_back(name);
    }
    if (matches.size() == 1) return matches.front();
  }
  return noSuchImage(ref);
}

}  // namespace

void fillImageRecord(const state::ImageRecord& record, ipc::wire::ImageSummary::Builder out, bool withConfig) {
  if (auto ref = registry::parseReference(record.reference)) {
    out.initRepoDigests(1).set(0, ref->familiarName() + "@" + record.repoDigest);
  }
  out.setSize(record.size);
  if (auto config = registry::parseImageConfig(
          std::string_view(reinterpret_cast<const char*>(record.config.data()), record.config.size()))) {
    if (auto created = state::parseRfc3339Nano(config->created)) out.setCreated(*created / 1'000'000'000);
  }
  // A worker's reply frame is at most 2 MiB (ipc/limits.hpp): larger configs (there are
  // hardly any) are not shown, though create still applies them.
  constexpr std::size_t kMaxShownConfig = 1024 * 1024;
  if (withConfig && record.config.size() <= kMaxShownConfig) {
    out.setConfig(kj::arrayPtr(record.config.data(), record.config.size()));
  }
}

std::optional<ImageDefaults> imageDefaultsOf(const state::ImageRecord& record) {
  auto config = registry::parseImageConfig(
      std::string_view(reinterpret_cast<const char*>(record.config.data()), record.config.size()));
  if (!config) return std::nullopt;  // verified at pull and parsed then: a damaged store
  ImageDefaults d;
  d.entrypoint = config->entrypoint;
  d.cmd = config->cmd;
  d.env = config->env;
  d.workingDir = config->workingDir;
  d.user = config->user;
  d.stopSignal = config->stopSignal;
  d.labels = config->labels;
  d.exposedPorts = config->exposedPorts;
  d.volumes = config->volumes;
  if (config->healthcheck) {
    const auto& h = *config->healthcheck;
    d.healthcheck = HealthcheckSpec{h.test, h.interval, h.timeout, h.startPeriod, h.startInterval,
                                    static_cast<std::int32_t>(std::clamp<std::int64_t>(h.retries, 0, 1'000'000))};
  }
  return d;
}

asio::awaitable<Result<void>> ContainerService::handlePullImage(const Caller& who, const PullImageOp& op,
                                                                StreamSink&, Out out) {
  const std::string text = op.tag.empty() ? op.ref : op.ref + ":" + op.tag;
  auto asked = registry::parseReference(text);
  if (!asked) co_return asked.error();
  if (!asked->digest.empty()) {
    co_return fail(ErrorKind::NotImplemented, "pulling by digest is not supported yet: miniboxd pulls by tag, and "
                                              "dockerbox does not yet download layers itself");
  }
  auto ref = minibox::ImageRef::parse(text);
  if (!ref) co_return ref.error();
  // The configuration first: a registry that cannot be reached or an answer that does not
  // verify stops the pull before miniboxd downloads anything.
  std::optional<registry::VerifiedImage> verified;
  RegistryCredentials credentials{op.username, op.password};
  // Named arguments: g++ 12 and coroutine arguments converted from temporaries (service_exec.cpp).
  std::string reference = asked->canonical();
  std::string hostPlatform;
  auto resolved = co_await monitor_.resolveImage(who, std::move(reference), std::move(hostPlatform),
                                                 std::move(credentials), false);
  if (!resolved) co_return resolved.error();
  if (!resolved->repoDigest.empty()) {
    auto checked = registry::verifyAnswer(*asked, {resolved->repoDigest, resolved->manifestDigest, resolved->manifest,
                                                   resolved->index, resolved->configDigest, resolved->config});
    if (!checked) co_return checked.error();
    verified = std::move(*checked);
  }
  bool present = false;
  if (auto before = co_await storeImages(); before && *before) {
    present = std::find((*before)->begin(), (*before)->end(), ref->storeName()) != (*before)->end();
  }
  if (auto pulled = co_await monitor_.pull(who, *ref); !pulled) co_return pulled.error();
  auto reply = out.initImagePulled();
  if (verified) {
    state::ImageRecord record;
    record.storeName = ref->storeName();
    record.reference = asked->canonical();
    record.repoDigest = verified->repoDigest;
    record.manifestDigest = verified->manifestDigest;
    record.configDigest = verified->configDigest;
    record.config.assign(verified->config.begin(), verified->config.end());
    record.size = verified->size;
    record.pulledAt = nowNanos();
    if (auto before = state_.getImage(record.storeName); before && *before && (*before)->repoDigest != record.repoDigest) {
      present = false;  // the tag moved: Docker says "Downloaded newer image"
    }
    if (auto stored = state_.putImage(record); !stored) co_return stored.error();
    reply.setDigest(verified->repoDigest);
  } else {
    reply.setWarning("dockerbox's registry client is not enabled: this image's configuration (Entrypoint, Cmd, "
                     "Env, WorkingDir, User) is unknown and will not be applied");
  }
  bus_.publish(imageEvent("pull", ref->dockerName(), repositoryOf(ref->dockerName()), who.uid, who.gid));
  reply.setReference(ref->registry() + "/" + ref->path() + ":" + ref->tag());
  reply.setAlreadyPresent(present);
  co_return Result<void>();
}

asio::awaitable<Result<void>> ContainerService::handleInspectImage(const Caller&, const InspectImageOp& op,
                                                                   StreamSink&, Out out) {
  auto store = co_await storeImages();
  if (!store) co_return store.error();
  if (!*store) co_return fail(ErrorKind::NotImplemented, "miniboxd v0.19 cannot list images, so dockerbox cannot inspect them");
  auto name = findImage(**store, op.ref, options_.imageId);
  if (!name) co_return name.error();
  auto reply = out.initImageInspect();
  reply.setId(options_.imageId(*name));
  reply.initRepoTags(1).set(0, minibox::dockerNameFromStore(*name));
  auto record = state_.getImage(*name);
  if (!record) co_return record.error();
  if (*record) fillImageRecord(**record, reply, true);
  co_return Result<void>();
}

asio::awaitable<Result<void>> ContainerService::handleRemoveImage(const Caller& who, const RemoveImageOp& op,
                                                                  StreamSink&, Out out) {
  auto store = co_await storeImages();
  if (!store) co_return store.error();
  if (!*store) co_return fail(ErrorKind::NotImplemented, "miniboxd v0.19 cannot list images, so dockerbox cannot remove them");
  auto name = findImage(**store, op.ref, options_.imageId);
  if (!name) co_return name.error();
  const std::string id = options_.imageId(*name);
  const std::string shortId(hexOf(id).substr(0, 12));
  // miniboxd's own in-use check never matches (protocol 7.13): dockerbox checks its records.
  auto containers = state_.listContainers();
  if (!containers) co_return containers.error();
  for (const auto& c : *containers) {
    auto used = minibox::ImageRef::parse(c.image);
    if (!used || used->storeName() != *name) continue;
    const std::string who12 = c.dockerId.substr(0, 12);
    if (isActive(c.state)) {
      co_return fail(ErrorKind::Conflict, "conflict: unable to delete " + shortId +
                                              " (cannot be forced) - image is being used by running container " + who12);
    }
    if (!op.force) {
      co_return fail(ErrorKind::Conflict, "conflict: unable to remove repository reference \"" + op.ref +
                                              "\" (must force) - container " + who12 +
                                              " is using its referenced image " + shortId);
    }
  }
  auto storeRef = minibox::ImageRef::parse(*name);
  if (!storeRef) co_return storeRef.error();
  if (auto removed = co_await monitor_.removeImage(who, *storeRef); !removed) co_return removed.error();
  if (auto forgotten = state_.removeImageRecord(*name); !forgotten) co_return forgotten.error();
  const std::string dockerName = minibox::dockerNameFromStore(*name);
  bus_.publish(imageEvent("untag", id, repositoryOf(dockerName), who.uid, who.gid));
  bus_.publish(imageEvent("delete", id, repositoryOf(dockerName), who.uid, who.gid));
  out.initImageRemoved(1).set(0, dockerName);
  co_return Result<void>();
}

asio::awaitable<Result<void>> ContainerService::handleAuth(const Caller& who, const AuthOp& op, StreamSink&,
                                                          Out out) {
  // Named arguments: g++ 12 and coroutine arguments (see service_exec.cpp).
  std::string server = op.server;
  std::string noPlatform;
  RegistryCredentials credentials{op.username, op.password};
  auto checked = co_await monitor_.resolveImage(who, std::move(server), std::move(noPlatform), std::move(credentials),
                                                true);
  if (!checked) co_return checked.error();
  if (checked->reference.empty()) {
    co_return fail(ErrorKind::NotImplemented,
                   "dockerbox cannot check registry credentials here: its registry client is not enabled "
                   "(DOCKERBOX_REGISTRY_PATH); docker pull still sends the credentials of the client's config.json");
  }
  out.setOk();
  co_return Result<void>();
}

}  // namespace dockerbox::broker::containers
