// Fuzzes the audit log verifier and the writer's tail recovery: arbitrary bytes as an audit
// file. Nothing may crash, hang or allocate without bound. Because nobody can forge a
// SHA-256, each line is also re-checked with its own hash member recomputed, so the JSON and
// per-kind checks behind the hash are reached too.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "broker/audit/record_line.hpp"
#include "broker/audit/sha256.hpp"
#include "broker/audit/tail.hpp"
#include "broker/audit/verify.hpp"

namespace {

using namespace dockerbox::broker::audit;

constexpr std::size_t kMaxRehashedLines = 64;

/// The line with a correct hash member: whatever followed the last `,"hash":"` is replaced.
std::string rehash(std::string_view line) {
  constexpr std::string_view kMember = ",\"hash\":\"";
  auto at = line.rfind(kMember);
  std::string body(at == std::string_view::npos ? line : line.substr(0, at));
  return body + std::string(kMember) + sha256Hex(body) + "\"}";
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  (void)verifyText(text, "fuzz", VerifyOptions{ChainBreaks::Reject});
  (void)verifyText(text, "fuzz", VerifyOptions{ChainBreaks::Accept});
  (void)scanTail(text, true);
  (void)scanTail(text, false);

  std::string rehashed;
  std::size_t start = 0;
  for (std::size_t n = 0; n < kMaxRehashedLines && start <= text.size(); ++n) {
    auto nl = text.find('\n', start);
    auto line =
        text.substr(start, nl == std::string_view::npos ? std::string_view::npos : nl - start);
    std::string fixed = rehash(line);
    (void)parseLine(fixed);
    rehashed += fixed + "\n";
    if (nl == std::string_view::npos) break;
    start = nl + 1;
  }
  // Lines that pass alone still have to form a chain.
  (void)verifyText(rehashed, "fuzz", VerifyOptions{ChainBreaks::Accept});
  return 0;
}
