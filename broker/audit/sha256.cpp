// Runs as root (broker) and as the admin's audit-verify. Input: bytes of audit lines.
#include "broker/audit/sha256.hpp"

#include <openssl/evp.h>

#include <array>

#include "common/syscall.hpp"

namespace dockerbox::broker::audit {

std::string sha256Hex(std::string_view bytes) {
  std::array<unsigned char, EVP_MAX_MD_SIZE> digest{};
  unsigned int length = 0;
  // EVP_Digest fails only if OpenSSL cannot allocate or lost its SHA-256 implementation;
  // carrying on without a hash would write an unverifiable chain, so that is fatal.
  int ok = EVP_Digest(bytes.data(), bytes.size(), digest.data(), &length, EVP_sha256(), nullptr);
  DOCKERBOX_ASSERT(ok == 1 && length == 32, "EVP_Digest(SHA-256) failed");
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(64);
  for (unsigned int i = 0; i < length; ++i) {
    out.push_back(kHex[digest[i] >> 4]);
    out.push_back(kHex[digest[i] & 0x0f]);
  }
  return out;
}

bool isHashHex(std::string_view text) {
  if (text.size() != 64) return false;
  for (char c : text) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

}  // namespace dockerbox::broker::audit
