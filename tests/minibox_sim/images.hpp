// minibox-sim: image references and the simulated image store (minibox-protocol.md §7.6,
// §7.7, §7.13, §8.7). There are no image files: an image is a name in the local store, and
// "pulling" copies a name from the simulated registry set into the store.
#pragma once

#include "common/result.hpp"

#include <cstdint>
#include <set>
#include <string>
#include <string_view>
#include <vector>

namespace dockerbox::sim {

/// A parsed reference, as upstream's ImageRef::parse produces it.
struct ImageRef {
  std::string registry;   // "docker.io", "ghcr.io", ...
  std::string ns;         // "library" for single-component Docker Hub names
  std::string name;
  std::string tag;        // "latest" when none was given

  /// Store name without tag: "library/alpine", "ghcr.io/org/image".
  [[nodiscard]] std::string cacheName() const;
  /// Store key: "library/alpine:latest".
  [[nodiscard]] std::string storeKey() const { return cacheName() + ":" + tag; }
};

/// Parses like upstream: the tag is after the last ':' unless it contains '/' or is empty;
/// a first component with '.' or ':' or equal to "localhost" is a registry. The error
/// message is upstream's reason text (without the `invalid image reference "<ref>": ` prefix).
[[nodiscard]] Result<ImageRef> parseImageRef(std::string_view reference);

/// Checks a HEAD `platform` value ("os/arch" or "os/arch/variant").
[[nodiscard]] Result<void> checkPlatform(std::string_view platform);

/// The simulated registry (what can be pulled) and local store (what is cached).
class ImageStore {
 public:
  ImageStore(std::vector<std::string> registry, std::vector<std::string> preload);

  [[nodiscard]] bool inRegistry(const std::string& key) const { return registry_.count(key) > 0; }
  [[nodiscard]] bool cached(const std::string& key) const { return local_.count(key) > 0; }
  void add(const std::string& key) { local_.insert(key); }
  void remove(const std::string& key) { local_.erase(key); }

  /// Store names as ListImages shows them: upstream decodes every '_' in the repository
  /// path back to '/', so `my_app` comes back as `my/app` (§7.13).
  [[nodiscard]] std::vector<std::string> listNames() const;
  /// Every stored key (Prune removes all of them: nothing ever counts as in use, §7.13).
  [[nodiscard]] std::vector<std::string> keys() const { return {local_.begin(), local_.end()}; }
  /// A stable fake size so Prune can report freed_bytes.
  [[nodiscard]] static std::uint64_t sizeOf(const std::string& key);

 private:
  std::set<std::string> registry_;
  std::set<std::string> local_;
};

}  // namespace dockerbox::sim
