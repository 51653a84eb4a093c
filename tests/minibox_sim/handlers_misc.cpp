// minibox-sim: images, events and the requests the simulator answers with fixed errors
// (minibox-protocol.md §7.6, §7.7, §7.11-7.14). Runs as root. Input: validated requests.
#include "tests/minibox_sim/daemon.hpp"

#include <sys/stat.h>

#include <algorithm>
#include <cstring>

namespace dockerbox::sim {
namespace {

std::string quoted(std::string_view s) { return json::serialize(json::value(s)); }

std::string osError(int err) {
  return std::string(std::strerror(err)) + " (os error " + std::to_string(err) + ")";
}

json::array toArray(const std::vector<std::string>& items) {
  json::array out;
  for (const auto& i : items) out.emplace_back(i);
  return out;
}

}  // namespace

asio::awaitable<void> Daemon::handlePull(Session& s, const json::object& r) {
  std::string image = strField(r, "image");
  auto tag = optStrField(r, "tag");
  std::string refText = tag ? image + ":" + *tag : image;
  auto ref = parseImageRef(refText);
  if (!ref) {
    co_await s.send(errorMessage("invalid image reference " + quoted(refText) + ": " +
                                 ref.error().message));
    co_return;
  }
  if (auto platform = config_.mode == Mode::Head ? optStrField(r, "platform") : std::nullopt) {
    if (auto ok = checkPlatform(*platform); !ok) {
      co_await s.send(errorMessage("invalid platform: " + ok.error().message));
      co_return;
    }
  }
  // Always asks the "registry", even for a cached image, as upstream re-pulls. No progress
  // and no event (§7.6).
  if (!images_.inRegistry(ref->storeKey())) {
    co_await s.send(errorMessage(pullFailure(*ref)));
    co_return;
  }
  images_.add(ref->storeKey());
  co_await s.send(successMessage("pulled " + image + ":" + ref->tag));
}

asio::awaitable<void> Daemon::handleLoadImage(Session& s, const json::object& r) {
  // No tarball is unpacked: an existing regular file is enough to "load" it.
  std::string path = strField(r, "path");
  std::string key = strField(r, "name") + ":" + strField(r, "tag");
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    co_await s.send(errorMessage("failed to open image archive " + path + ": " + osError(errno)));
    co_return;
  }
  if (!S_ISREG(st.st_mode)) {
    co_await s.send(errorMessage("failed to read image archive " + path + ": " + osError(EISDIR)));
    co_return;
  }
  images_.add(key);  // under the literal name: Run will not find `myimg` (§8.7)
  json::object reply;
  reply["type"] = "ImageLoaded";
  reply["image"] = key;
  co_await s.send(reply);
}

asio::awaitable<void> Daemon::handleListImages(Session& s, const json::object&) {
  auto names = images_.listNames();
  std::shuffle(names.begin(), names.end(), rng_);  // order unspecified upstream
  json::object reply;
  reply["type"] = "ImageList";
  reply["images"] = toArray(names);
  co_await s.send(reply);
}

asio::awaitable<void> Daemon::handleRemoveImage(Session& s, const json::object& r) {
  // The in-use check upstream compares lowercase states with capitalised ones and never
  // matches, so nothing is ever refused as in use (§7.13).
  std::string ref = strField(r, "image_ref");
  if (ref.find(':') == std::string::npos) {
    co_await s.send(errorMessage("invalid image ref: " + ref));
    co_return;
  }
  images_.remove(ref);  // a store name; a missing image is not an error
  events_.emit(eventImageRemoved(ref));
  co_await s.send(successMessage("removed " + ref));
}

asio::awaitable<void> Daemon::handlePrune(Session& s, const json::object& r) {
  const bool dryRun = boolField(r, "dry_run");
  auto removed = images_.keys();  // every stored image, in use or not (§7.13)
  std::uint64_t freed = 0;
  for (const auto& key : removed) {
    freed += ImageStore::sizeOf(key);
    if (!dryRun) images_.remove(key);
  }
  events_.emit(eventImagePruned(removed.size(), freed));
  json::object reply;
  reply["type"] = "Pruned";
  reply["removed"] = toArray(removed);
  reply["freed_bytes"] = freed;
  reply["dry_run"] = dryRun;
  co_await s.send(reply);
}

asio::awaitable<void> Daemon::handleSubscribeEvents(Session& s, const json::object&) {
  // Never terminates: only the client closing the connection ends it (§7.12).
  auto subscriber = events_.subscribe(io_.get_executor());
  s.watchForClose(subscriber);
  while (s.alive()) {
    if (subscriber->queue.empty()) {
      co_await subscriber->ready.wait();
      continue;
    }
    json::object event = std::move(subscriber->queue.front());
    subscriber->queue.pop_front();
    if (!co_await s.send(event)) break;
  }
}

asio::awaitable<void> Daemon::handleUpdate(Session& s, const json::object& r) {
  // Nothing ever changes in the simulated registry: every known image is up to date.
  std::vector<std::string> targets = boolField(r, "all") ? images_.keys() : strListField(r, "images");
  for (const auto& image : targets) {
    auto ref = parseImageRef(image);
    std::string status = !ref ? "error: " + ref.error().message
                         : images_.inRegistry(ref->storeKey()) ? "up to date"
                                                                : "error: " + pullFailure(*ref);
    json::object progress;
    progress["type"] = "UpdateProgress";
    progress["image"] = image;
    progress["status"] = status;
    if (!co_await s.send(progress)) co_return;
  }
  std::string text = "updated 0/" + std::to_string(targets.size()) + " images";
  if (boolField(r, "restart")) text += "; stopped 0, restarted 0 container(s)";
  co_await s.send(successMessage(text));
}

asio::awaitable<void> Daemon::handleGetManifest(Session& s, const json::object& r) {
  std::string id = strField(r, "id");
  if (!containers_.byId(id)) {
    co_await s.send(errorMessage("container not found: " + id));
    co_return;
  }
  // The simulator writes no execution manifests.
  co_await s.send(errorMessage("failed to read manifest at /var/lib/minibox/containers/" + id +
                               "/execution-manifest.json: " + osError(ENOENT)));
}

asio::awaitable<void> Daemon::handleVerifyManifest(Session& s, const json::object& r) {
  std::string id = strField(r, "id");
  if (!containers_.byId(id)) {
    co_await s.send(errorMessage("container not found: " + id));
    co_return;
  }
  co_await s.send(errorMessage("failed to read manifest: " + osError(ENOENT)));
}

asio::awaitable<void> Daemon::handleUnsupported(Session& s, const json::object& r) {
  // Push, Commit and Build answer as a non-native adapter suite does (§7.11): the
  // simulator has no image layers to push, commit or build. RunPipeline answers as v0.19
  // in both modes; snapshots as the shipped adapters without checkpoint support (§7.14).
  std::string type = strField(r, "type");
  std::string text;
  if (type == "Push") text = "push not supported on this platform";
  else if (type == "Commit") text = "commit not supported on this platform";
  else if (type == "Build") text = "build not supported on this platform";
  else if (type == "RunPipeline") text = "RunPipeline is not yet implemented";
  else if (type == "SaveSnapshot") text = "save_snapshot: checkpoint not supported by this adapter";
  else if (type == "RestoreSnapshot") text = "restore_snapshot: checkpoint not supported by this adapter";
  else if (type == "ListSnapshots") text = "list_snapshots: checkpoint not supported by this adapter";
  else text = "RunWorkflow not yet implemented";
  co_await s.send(errorMessage(text));
}

}  // namespace dockerbox::sim
