// libFuzzer target: what dockerbox-registry (unprivileged, talking to the network) answers
// the root monitor (broker/registry_launcher.hpp, parseRegistryReply), as the framing
// hands it over. No input may crash or throw; an error's kind is in range and its message
// capped; an answer is copied, never interpreted.
#include "broker/registry_launcher.hpp"
#include "ipc/framing.hpp"

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
  dockerbox::ipc::FrameDecoder decoder(dockerbox::broker::kMaxRegistryReplyBytes);
  if (!decoder.feed(std::as_bytes(std::span(data, size)))) return 0;
  auto frame = decoder.next();
  if (!frame || !*frame) return 0;
  auto reply = dockerbox::broker::parseRegistryReply(**frame);
  if (!reply) {
    check(reply.error().kind <= dockerbox::ErrorKind::NotModified);
    check(reply.error().message.size() <= 1024 + 64);
  }
  return 0;
}
