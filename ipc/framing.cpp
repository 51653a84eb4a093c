#include "ipc/framing.hpp"

#include "ipc/limits.hpp"

#include <capnp/serialize.h>

#include <cstring>

namespace dockerbox::ipc {

std::vector<std::byte> encodeFrame(capnp::MessageBuilder& message) {
  kj::Array<capnp::word> words = capnp::messageToFlatArray(message);
  auto bytes = words.asBytes();
  std::vector<std::byte> out(bytes.size());
  std::memcpy(out.data(), bytes.begin(), bytes.size());
  return out;
}

Result<void> FrameDecoder::feed(std::span<const std::byte> bytes) {
  if (failed_) return fail(ErrorKind::BadRequest, "ipc channel failed earlier");
  buffer_.insert(buffer_.end(), bytes.begin(), bytes.end());
  auto announced = announcedBytes();
  if (!announced) {
    failed_ = true;
    return announced.error();
  }
  return {};
}

Result<std::size_t> FrameDecoder::announcedBytes() const {
  // Segment table: u32 (segment count - 1), then one u32 size (in words) per segment,
  // padded to a whole word. All little-endian.
  if (buffer_.size() < 4) return std::size_t{0};
  std::uint32_t countMinusOne = 0;
  std::memcpy(&countMinusOne, buffer_.data(), 4);
  if (countMinusOne >= kMaxSegments) {
    return fail(ErrorKind::BadRequest, "ipc frame refused", "too many segments");
  }
  std::size_t segments = std::size_t{countMinusOne} + 1;
  std::size_t tableBytes = ((segments + 2) / 2) * 8;  // 4 + 4*segments, rounded up to 8
  if (tableBytes > maxFrameBytes_) return fail(ErrorKind::BadRequest, "ipc frame refused", "table");
  // The size is summed segment by segment as far as the table has arrived, so an oversized
  // first segment is refused before the rest of the table is even read.
  std::size_t total = tableBytes;
  for (std::size_t i = 0; i < segments; ++i) {
    std::size_t off = 4 + 4 * i;
    if (buffer_.size() < off + 4) {
      return total > maxFrameBytes_ ? Result<std::size_t>(fail(ErrorKind::BadRequest,
                                                               "ipc frame too large"))
                                    : Result<std::size_t>(std::size_t{0});
    }
    std::uint32_t words = 0;
    std::memcpy(&words, buffer_.data() + off, 4);
    total += std::size_t{words} * 8;
    if (total > maxFrameBytes_) {
      return fail(ErrorKind::BadRequest, "ipc frame too large",
                  "announced at least " + std::to_string(total) + " bytes");
    }
  }
  return total;
}

Result<std::optional<kj::Array<capnp::word>>> FrameDecoder::next() {
  if (failed_) return fail(ErrorKind::BadRequest, "ipc channel failed earlier");
  auto announced = announcedBytes();
  if (!announced) {
    failed_ = true;
    return announced.error();
  }
  std::size_t size = *announced;
  if (size == 0 || buffer_.size() < size) return std::optional<kj::Array<capnp::word>>{};
  auto words = kj::heapArray<capnp::word>(size / 8);
  std::memcpy(words.begin(), buffer_.data(), size);
  buffer_.erase(buffer_.begin(), buffer_.begin() + static_cast<std::ptrdiff_t>(size));
  return std::optional<kj::Array<capnp::word>>(std::move(words));
}

capnp::ReaderOptions readerOptions(std::uint64_t traversalLimitWords) {
  capnp::ReaderOptions options;
  options.traversalLimitInWords = traversalLimitWords;
  options.nestingLimit = kNestingLimit;
  return options;
}

}  // namespace dockerbox::ipc
