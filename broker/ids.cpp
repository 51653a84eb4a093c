#include "broker/ids.hpp"

#include <openssl/evp.h>

#include <array>
#include <cstdio>

namespace dockerbox::broker {

std::string sha256Hex(std::string_view bytes) {
  std::array<unsigned char, EVP_MAX_MD_SIZE> digest{};
  unsigned int len = 0;
  EVP_Digest(bytes.data(), bytes.size(), digest.data(), &len, EVP_sha256(), nullptr);
  std::string hex;
  hex.reserve(len * 2);
  static constexpr char kHex[] = "0123456789abcdef";
  for (unsigned i = 0; i < len; ++i) {
    hex.push_back(kHex[digest[i] >> 4]);
    hex.push_back(kHex[digest[i] & 0xf]);
  }
  return hex;
}

std::string imageIdFromStoreName(std::string_view storeName) {
  return "sha256:" + sha256Hex(storeName);
}

}  // namespace dockerbox::broker
