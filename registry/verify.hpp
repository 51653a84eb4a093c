// Checking what dockerbox-registry answered before anything of it is believed. Runs in:
// the engine (unprivileged). Input: the registry client's answer, relayed unread by the
// monitor (untrusted: the client talks to the network).
#pragma once

#include "common/result.hpp"
#include "registry/image_config.hpp"
#include "registry/reference.hpp"

#include <cstdint>
#include <string>

namespace dockerbox::registry {

/// What the registry client sent, as bytes and claimed digests.
struct Answer {
  std::string repoDigest;
  std::string manifestDigest;
  std::string manifest;
  std::string index;  // empty when the reference named a manifest
  std::string configDigest;
  std::string config;
};

struct VerifiedImage {
  std::string repoDigest;      // of the index or manifest the reference named
  std::string manifestDigest;  // of the platform's manifest
  std::string configDigest;    // the image id
  std::string config;          // bytes
  ImageConfig parsed;
  std::int64_t size = 0;  // compressed layers
};

/// Every digest recomputed and every claim cross-checked: the manifest hashes to its digest;
/// the index (if any) hashes to the repo digest and lists the manifest; otherwise the repo
/// digest is the manifest's; a reference pinned by digest got exactly that; the manifest's
/// config descriptor names the config, whose bytes hash to it with the announced size; the
/// config parses.
[[nodiscard]] Result<VerifiedImage> verifyAnswer(const Reference& asked, const Answer& answer);

}  // namespace dockerbox::registry
