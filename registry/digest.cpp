// Runs in: dockerbox-registry and the engine (unprivileged). OpenSSL's EVP SHA-256.
#include "registry/digest.hpp"

#include <openssl/evp.h>

#include <array>
#include <cstdlib>

namespace dockerbox::registry {
namespace {

std::string hexDigest(const unsigned char* md, unsigned int length) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out = "sha256:";
  for (unsigned int i = 0; i < length; ++i) {
    out += kHex[md[i] >> 4];
    out += kHex[md[i] & 0xf];
  }
  return out;
}

EVP_MD_CTX* ctxOf(void* p) { return static_cast<EVP_MD_CTX*>(p); }

}  // namespace

Sha256::Sha256() : ctx_(EVP_MD_CTX_new()) {
  // Out of memory or a broken libcrypto: nothing here could be verified, so stop.
  if (ctx_ == nullptr || EVP_DigestInit_ex(ctxOf(ctx_), EVP_sha256(), nullptr) != 1) std::abort();
}

Sha256::~Sha256() { EVP_MD_CTX_free(ctxOf(ctx_)); }

void Sha256::update(std::string_view bytes) {
  if (EVP_DigestUpdate(ctxOf(ctx_), bytes.data(), bytes.size()) != 1) std::abort();
}

std::string Sha256::finish() {
  std::array<unsigned char, EVP_MAX_MD_SIZE> md{};
  unsigned int length = 0;
  if (EVP_DigestFinal_ex(ctxOf(ctx_), md.data(), &length) != 1) std::abort();
  return hexDigest(md.data(), length);
}

std::string sha256Digest(std::string_view bytes) {
  Sha256 h;
  h.update(bytes);
  return h.finish();
}

}  // namespace dockerbox::registry
