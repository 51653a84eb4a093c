// libFuzzer target: the X-Registry-Auth header a client sends with a pull
// (frontend/registry_auth.hpp). No input may crash; credentials taken are within the caps,
// printable, and the user name has no ':' (it goes into Basic auth as user:password).
#include "frontend/registry_auth.hpp"

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

namespace {
void check(bool condition) {
  if (!condition) std::abort();
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  auto auth = dockerbox::frontend::parseRegistryAuth(std::string_view(reinterpret_cast<const char*>(data), size));
  if (!auth || !*auth) return 0;
  const auto& a = **auth;
  check(!a.username.empty() && a.username.size() <= 256 && a.password.size() <= 4096);
  check(a.username.find(':') == std::string::npos);
  for (char c : a.username + a.password) check(static_cast<unsigned char>(c) >= 0x20 && c != 0x7f);
  return 0;
}
