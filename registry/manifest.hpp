// Image manifests and indexes (OCI image spec v1.1; Docker's schema 2 and manifest lists).
// Runs in: dockerbox-registry and the engine (unprivileged). Input: bytes a registry sent
// (untrusted), whose digest the caller checks separately.
#pragma once

#include "common/result.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace dockerbox::registry {

inline constexpr std::string_view kOciManifest = "application/vnd.oci.image.manifest.v1+json";
inline constexpr std::string_view kOciIndex = "application/vnd.oci.image.index.v1+json";
inline constexpr std::string_view kDockerManifest = "application/vnd.docker.distribution.manifest.v2+json";
inline constexpr std::string_view kDockerManifestList = "application/vnd.docker.distribution.manifest.list.v2+json";
/// What a manifest request accepts, most preferred first.
inline constexpr std::string_view kManifestAccept =
    "application/vnd.oci.image.index.v1+json, application/vnd.docker.distribution.manifest.list.v2+json, "
    "application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json";

/// Caps on what is read (Docker's client caps manifests at 4 MiB too). An index, its
/// manifest and the config together (12 MiB) fit in one act reply (16 MiB, act_wire.hpp).
inline constexpr std::size_t kMaxManifestBytes = 4 << 20;
inline constexpr std::size_t kMaxConfigBytes = 4 << 20;
inline constexpr std::size_t kMaxDescriptors = 1024;

struct Platform {
  std::string os;
  std::string architecture;
  std::string variant;  // may be empty

  /// "linux/amd64" or "linux/arm64/v8".
  [[nodiscard]] std::string text() const;
};

/// "os/arch" or "os/arch/variant" (`--platform`), lower case.
[[nodiscard]] Result<Platform> parsePlatform(std::string_view text);
/// The platform this machine runs (linux and uname's machine mapped to Go's names).
[[nodiscard]] Platform hostPlatform();

struct Descriptor {
  std::string mediaType;
  std::string digest;  // checked: sha256:<64 hex>
  std::int64_t size = 0;
  std::optional<Platform> platform;  // index entries only
};

struct ImageManifest {
  std::string mediaType;
  Descriptor config;
  std::vector<Descriptor> layers;
};

struct ImageIndex {
  std::string mediaType;
  std::vector<Descriptor> manifests;
};

using AnyManifest = std::variant<ImageManifest, ImageIndex>;

/// Parses a manifest or an index. The type comes from the body's `mediaType`, else from the
/// response's Content-Type; Docker's schema 1 and unknown types are refused with a clear
/// error. Digests are checked for form, sizes for range, counts against kMaxDescriptors.
[[nodiscard]] Result<AnyManifest> parseManifest(std::string_view body, std::string_view contentType);

/// The index entry Docker would run on `want`: same os and architecture, and the same
/// variant when `want` has one (arm64 defaults to v8, arm to v7 as containerd's matcher).
[[nodiscard]] Result<Descriptor> selectPlatform(const ImageIndex& index, const Platform& want);

}  // namespace dockerbox::registry
