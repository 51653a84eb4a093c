// Docker image references (distribution's reference grammar and Docker's normalisation).
// Runs in: dockerbox-registry and the engine (unprivileged). Input: a reference a client
// sent (untrusted).
#pragma once

#include "common/result.hpp"

#include <string>
#include <string_view>

namespace dockerbox::registry {

/// A normalised reference: `alpine` is docker.io/library/alpine:latest.
struct Reference {
  std::string domain;  // "docker.io", "ghcr.io", "127.0.0.1:5000"
  std::string path;    // "library/alpine"
  std::string tag;     // "latest" when neither a tag nor a digest was given; may be empty
  std::string digest;  // "sha256:<64 hex>", or empty

  /// docker.io/library/alpine
  [[nodiscard]] std::string repository() const { return domain + "/" + path; }
  /// docker.io/library/alpine:latest, …@sha256:…, or both.
  [[nodiscard]] std::string canonical() const;
  /// What Docker shows: alpine:latest, ghcr.io/org/x:1 (no docker.io/library/).
  [[nodiscard]] std::string familiar() const;
  /// The same without tag or digest: alpine, ghcr.io/org/x.
  [[nodiscard]] std::string familiarName() const;
  /// The tag or, failing that, the digest: what the manifest is fetched by.
  [[nodiscard]] const std::string& manifestKey() const { return digest.empty() ? tag : digest; }
  /// The host that serves docker.io's API (registry-1.docker.io), else `domain`.
  [[nodiscard]] std::string apiHost() const;
};

/// Parses and normalises like Docker (`docker pull`): refuses upper case in the path, empty
/// components, bad tags or digests, and names longer than 255 characters, with Docker's
/// `invalid reference format` messages.
[[nodiscard]] Result<Reference> parseReference(std::string_view text);

/// A registry as `docker login` names it ("127.0.0.1:5000", "ghcr.io",
/// "https://index.docker.io/v1/", "" for Docker Hub): a Reference with only the domain (no
/// path, tag or digest). A scheme and a path are dropped as dockerd drops them.
[[nodiscard]] Result<Reference> parseRegistryAddress(std::string_view text);

/// True for a digest this code can verify: "sha256:" and 64 lowercase hex digits.
[[nodiscard]] bool isSha256Digest(std::string_view digest);

}  // namespace dockerbox::registry
