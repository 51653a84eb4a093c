// Content digests (OCI image spec, "Digests"). Runs in: dockerbox-registry and the engine.
#pragma once

#include <span>
#include <string>
#include <string_view>

namespace dockerbox::registry {

/// "sha256:" and the lowercase hex SHA-256 of `bytes`.
[[nodiscard]] std::string sha256Digest(std::string_view bytes);

/// Incremental SHA-256, for blobs read in pieces.
class Sha256 {
 public:
  Sha256();
  ~Sha256();
  Sha256(const Sha256&) = delete;
  Sha256& operator=(const Sha256&) = delete;
  void update(std::string_view bytes);
  /// "sha256:<hex>"; the object is spent afterwards.
  [[nodiscard]] std::string finish();

 private:
  void* ctx_;  // EVP_MD_CTX
};

}  // namespace dockerbox::registry
