// Fuzzes the broker's one door: arbitrary bytes from a worker through frame reassembly
// and decodeWorkerMessage. Nothing may crash, hang or allocate without bound.
#include "broker/decoder.hpp"
#include "ipc/framing.hpp"
#include "ipc/limits.hpp"

#include <cstddef>
#include <cstdint>
#include <span>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  dockerbox::ipc::FrameDecoder decoder(dockerbox::ipc::kMaxWorkerFrameBytes);
  auto bytes = std::as_bytes(std::span(data, size));
  // Feed in two pieces to exercise reassembly across reads.
  std::size_t half = size / 2;
  if (!decoder.feed(bytes.first(half))) return 0;
  if (!decoder.feed(bytes.subspan(half))) return 0;
  for (int i = 0; i < 64; ++i) {
    auto frame = decoder.next();
    if (!frame || !*frame) break;
    (void)dockerbox::broker::decodeWorkerMessage(frame->value().asPtr());
  }
  return 0;
}
