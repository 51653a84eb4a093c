// Runs as root, in the broker. Image references as miniboxd understands them (protocol 8.7).
// Pure functions, no I/O.
#pragma once

#include "common/result.hpp"

#include <string>
#include <string_view>

namespace dockerbox::broker::minibox {

inline constexpr std::string_view kDockerHub = "docker.io";

/// A parsed, normalised image reference: `alpine` is docker.io / library/alpine / latest.
class ImageRef {
 public:
  /// Parses a Docker-style reference. The tag is the part after the last `:` unless that part
  /// contains `/`; a first component with `.` or `:` or equal to `localhost` is a registry.
  /// Digests are refused (miniboxd cannot pull by digest), and so is a one-component name on a
  /// registry other than docker.io (miniboxd needs `org/name` there).
  [[nodiscard]] static Result<ImageRef> parse(std::string_view reference);

  [[nodiscard]] const std::string& registry() const { return registry_; }
  [[nodiscard]] const std::string& path() const { return path_; }  // "library/alpine"
  [[nodiscard]] const std::string& tag() const { return tag_; }

  /// The repository to send in a Run/Pull `image` field (the tag goes in `tag`): the Docker
  /// short form, so ContainerInfo.image reads `alpine:3.19`, as a Docker user expects.
  [[nodiscard]] std::string wireRepository() const;
  /// miniboxd's store name: `library/alpine:latest`, `ghcr.io/org/x:1` (RemoveImage, ImageList).
  [[nodiscard]] std::string storeName() const;
  /// Docker's short name: `alpine:latest`, `me/app:1`, `ghcr.io/org/x:1`.
  [[nodiscard]] std::string dockerName() const;

 private:
  ImageRef(std::string registry, std::string path, std::string tag)
      : registry_(std::move(registry)), path_(std::move(path)), tag_(std::move(tag)) {}

  std::string registry_;
  std::string path_;
  std::string tag_;
};

/// Docker short name of a store name from ImageList (`library/alpine:latest` -> `alpine:latest`).
/// A name that does not parse (a LoadImage'd oddity) is returned unchanged.
[[nodiscard]] std::string dockerNameFromStore(std::string_view storeName);

}  // namespace dockerbox::broker::minibox
