// libFuzzer target: what dockerbox-proxy (unprivileged, carrying containers' traffic)
// answers the root monitor (broker/proxy_launcher.hpp, parseProxyEvent), one SOCK_SEQPACKET
// packet at a time. No input may crash or throw; a run id comes out whole or not at all.
#include "broker/proxy_launcher.hpp"

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <span>

namespace {
void check(bool condition) {
  if (!condition) std::abort();
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  auto run = dockerbox::broker::parseProxyEvent(std::as_bytes(std::span(data, size)));
  if (run) check(run->size() < dockerbox::broker::kMaxProxyEventBytes);
  return 0;
}
