// libFuzzer target: image configs as a registry (or an image archive) carries them
// (registry/image_config.hpp). No input may crash; what parses respects the caps.
#include "registry/image_config.hpp"
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
  using namespace dockerbox::registry;
  auto config = parseImageConfig(std::string_view(reinterpret_cast<const char*>(data), size));
  if (!config) return 0;
  check(config->env.size() <= 4096 && config->labels.size() <= 4096 && config->exposedPorts.size() <= 4096);
  check(std::is_sorted(config->labels.begin(), config->labels.end()));
  for (const auto& id : config->diffIds) check(isSha256Digest(id));
  if (config->healthcheck) check(config->healthcheck->retries >= 0 && config->healthcheck->interval >= 0);
  return 0;
}
