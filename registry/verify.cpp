// Runs in: the engine (unprivileged). Input: untrusted registry client answers.
#include "registry/verify.hpp"

#include "registry/digest.hpp"
#include "registry/manifest.hpp"

#include <algorithm>

namespace dockerbox::registry {
namespace {

Error mismatch(const std::string& what) {
  return fail(ErrorKind::Unavailable, "image verification failed: " + what, "the registry client's answer");
}

}  // namespace

Result<VerifiedImage> verifyAnswer(const Reference& asked, const Answer& answer) {
  if (!isSha256Digest(answer.manifestDigest) || sha256Digest(answer.manifest) != answer.manifestDigest) {
    return mismatch("the manifest does not match its digest");
  }
  if (answer.index.empty()) {
    if (answer.repoDigest != answer.manifestDigest) return mismatch("the repository digest is not the manifest's");
  } else {
    if (!isSha256Digest(answer.repoDigest) || sha256Digest(answer.index) != answer.repoDigest) {
      return mismatch("the index does not match its digest");
    }
    auto index = parseManifest(answer.index, "");
    if (!index) return index.error();
    const auto* entries = std::get_if<ImageIndex>(&*index);
    if (entries == nullptr) return mismatch("the index is not an index");
    if (std::none_of(entries->manifests.begin(), entries->manifests.end(),
                     [&](const Descriptor& d) { return d.digest == answer.manifestDigest; })) {
      return mismatch("the index does not list the manifest");
    }
  }
  if (!asked.digest.empty() && answer.repoDigest != asked.digest) return mismatch("the registry sent another image than the digest named");
  auto parsed = parseManifest(answer.manifest, "");
  if (!parsed) return parsed.error();
  const auto* manifest = std::get_if<ImageManifest>(&*parsed);
  if (manifest == nullptr) return mismatch("the platform's manifest is an index");
  if (manifest->config.digest != answer.configDigest || sha256Digest(answer.config) != answer.configDigest ||
      static_cast<std::int64_t>(answer.config.size()) != manifest->config.size) {
    return mismatch("the image config does not match the manifest");
  }
  auto config = parseImageConfig(answer.config);
  if (!config) return config.error();
  VerifiedImage out;
  out.repoDigest = answer.repoDigest;
  out.manifestDigest = answer.manifestDigest;
  out.configDigest = answer.configDigest;
  out.config = answer.config;
  out.parsed = std::move(*config);
  for (const auto& layer : manifest->layers) out.size += layer.size;
  return out;
}

}  // namespace dockerbox::registry
