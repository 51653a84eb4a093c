// libFuzzer target: /etc/passwd and /etc/group as an image (or container root before an
// exec) may write them, resolved for a set of Docker user specs. No input may crash,
// hang or yield an id outside Docker's range; a user given by name resolves only through
// a passwd line that names it.
// Input: passwd text, a NUL, group text.
#include "init/passwd.hpp"

#include <array>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

namespace {

void check(bool condition) {
  if (!condition) std::abort();
}

constexpr std::array<std::string_view, 10> kSpecs = {
    "", "root", "0", "1000", "alice", "alice:staff", "1000:1000", "nobody:65534", "bob:0", "x:y:z"};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto nul = text.find('\0');
  auto passwd = text.substr(0, nul);
  auto group = nul == std::string_view::npos ? std::string_view{} : text.substr(nul + 1);
  for (auto spec : kSpecs) {
    auto user = dockerbox::init::resolveUser(spec, passwd, group);
    if (!user) continue;
    check(user->uid <= 0x7fffffffU && user->gid <= 0x7fffffffU);
    check(!user->home.empty());
    check(!user->supplementaryGroups.empty());  // at least the primary gid
    if (spec == "1000" || spec == "1000:1000") check(user->uid == 1000);
    if (spec == "1000:1000") check(user->gid == 1000);
    // A name resolves only through a passwd line that carries it.
    if (spec == "alice") check(passwd.find("alice:") != std::string_view::npos);
  }
  return 0;
}
