// Fuzz target: arbitrary bytes as a `filters` query value (both JSON forms), then the
// container-list filter built from it, applied to a fixed container. No sockets.
// Input: untrusted bytes from the query string of GET /containers/json or /events.
#include "frontend/filters.hpp"

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace dockerbox::frontend;
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto args = parseFilters(text);
  if (!args) {
    if (args.error().kind != dockerbox::ErrorKind::BadRequest) std::abort();
    return 0;
  }
  for (const auto& [key, values] : *args) {
    if (values.empty() && key.empty()) continue;
    for (const auto& value : values) {
      // Every value may also be tried as an image reference and as a name pattern.
      (void)matchAncestor(value, "alpine", "sha256:137ea5060ab618bcac080904085c7f556184f0eb2cfde8cda1d36259fa6176fb");
      (void)matchSimplePattern(value, "/web");
    }
  }
  auto filter = ContainerFilter::make(*args);
  if (!filter) {
    if (filter.error().kind != dockerbox::ErrorKind::BadRequest) std::abort();
    return 0;
  }
  std::vector<std::string> names{"/web"};
  std::vector<std::pair<std::string, std::string>> labels{{"app", "x"}, {"com.docker.compose.project", "proj"}};
  ContainerFacts facts{"0123456789abcdef", &names, ContainerState::Exited, 3, &labels, "alpine",
                       "sha256:137ea5060ab618bcac080904085c7f556184f0eb2cfde8cda1d36259fa6176fb", "healthy"};
  (void)filter->matches(facts);
  (void)filter->beforeRef();
  (void)filter->sinceRef();
  return 0;
}
