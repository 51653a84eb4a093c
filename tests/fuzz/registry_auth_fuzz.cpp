// libFuzzer target: what a registry says about authentication (registry/auth.hpp): the
// WWW-Authenticate header and the token server's reply. Input: header, NUL, reply. No
// input may crash; a token taken is printable ASCII (it goes into a header as it is).
#include "registry/auth.hpp"

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
  using namespace dockerbox::registry;
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto nul = text.find('\0');
  auto challenges = parseChallenges(text.substr(0, nul));
  if (challenges) {
    check(challenges->size() <= 16);
    for (const auto& c : *challenges) check(!c.scheme.empty() && c.params.size() <= 16);
  }
  if (nul != std::string_view::npos) {
    if (auto token = parseTokenReply(text.substr(nul + 1))) {
      check(!token->empty() && token->size() <= (64 << 10));
      for (char ch : *token) check(ch > 0x20 && ch < 0x7f);
    }
  }
  return 0;
}
