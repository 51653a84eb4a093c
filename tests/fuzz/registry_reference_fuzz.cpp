// libFuzzer target: image references as clients send them (registry/reference.hpp). No
// input may crash; an accepted reference must print back to a form that parses to the same
// reference (normalisation is idempotent) and name a repository of at most 255 characters.
#include "registry/reference.hpp"

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
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto ref = dockerbox::registry::parseReference(text);
  if (!ref) return 0;
  check(!ref->domain.empty() && !ref->path.empty());
  check(ref->repository().size() <= 255);
  check(!ref->tag.empty() || !ref->digest.empty());
  for (const auto& form : {ref->canonical(), ref->familiar()}) {
    auto again = dockerbox::registry::parseReference(form);
    check(again.has_value());
    check(again->canonical() == ref->canonical());
  }
  return 0;
}
