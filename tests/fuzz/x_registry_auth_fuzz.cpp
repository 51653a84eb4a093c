// libFuzzer target: the X-Registry-Auth header a client sends with a pull, and the same
// bytes as the body of POST /auth (docker login) (frontend/registry_auth.hpp). No input
// may crash; credentials taken are within the caps, printable, and the user name has no
// ':' (it goes into Basic auth as user:password).
#include "frontend/registry_auth.hpp"

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

namespace {
void check(bool condition) {
  if (!condition) std::abort();
}

void checkCredentials(const dockerbox::frontend::RegistryAuth& a) {
  check(!a.username.empty() && a.username.size() <= 256 && a.password.size() <= 4096);
  check(a.username.find(':') == std::string::npos);
  for (char c : a.username + a.password) check(static_cast<unsigned char>(c) >= 0x20 && c != 0x7f);
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  auto auth = dockerbox::frontend::parseRegistryAuth(input);
  if (auth && *auth) checkCredentials(**auth);
  auto login = dockerbox::frontend::parseLoginBody(input);
  if (login) {
    checkCredentials(login->auth);
    check(login->server.size() <= 256);
  }
  return 0;
}
