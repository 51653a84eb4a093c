// Fuzz target: miniboxd reply lines into the broker's reply decoder. The input is split on
// '\n' like the client's line reader, and every decoded reply is classified, so a crash, an
// assert or a sanitizer report anywhere in decoding or classification is a finding.
#include "broker/minibox/codec.hpp"

#include <cstddef>
#include <cstdint>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace dockerbox::broker::minibox;
  std::string_view input(reinterpret_cast<const char*>(data), size);
  while (!input.empty()) {
    const std::size_t end = input.find('\n');
    const std::string_view line = input.substr(0, end);
    auto reply = decodeReply(line);
    if (reply) {
      (void)isTerminal(*reply);
      (void)replyType(*reply);
      if (auto* error = std::get_if<ErrorReply>(&*reply)) {
        (void)errorFromReply(*error, RequestType::List);
      }
      if (auto* list = std::get_if<ImageList>(&*reply)) {
        for (const auto& image : list->images) (void)dockerNameFromStore(image);
      }
    }
    if (end == std::string_view::npos) break;
    input.remove_prefix(end + 1);
  }
  return 0;
}
