// Fuzz target: arbitrary bytes as the body of POST /containers/create, through the strict
// JSON decoder into the typed ContainerConfig the broker receives. No sockets.
// Input: untrusted bytes, exactly as a Docker client could send them.
#include "frontend/create_body.hpp"
#include "ipc/framing.hpp"
#include "ipc/limits.hpp"

#include "ipc/dockerbox.capnp.h"

#include <capnp/message.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view body(reinterpret_cast<const char*>(data), size);
  capnp::MallocMessageBuilder message;
  auto config = message.initRoot<dockerbox::ipc::wire::ContainerConfig>();
  auto parsed = dockerbox::frontend::parseCreateBody(body, config);
  if (!parsed) {
    // Refusals are client errors (or "not supported"), never internal ones.
    auto kind = parsed.error().kind;
    if (kind != dockerbox::ErrorKind::BadRequest && kind != dockerbox::ErrorKind::NotImplemented) std::abort();
    if (parsed.error().message.empty()) std::abort();
    return 0;
  }
  auto reader = config.asReader();
  // Null/absent Cmd and Entrypoint stay distinguishable from empty lists.
  if (!reader.getHasCmd() && reader.getCmd().size() != 0) std::abort();
  if (!reader.getHasEntrypoint() && reader.getEntrypoint().size() != 0) std::abort();
  auto host = reader.getHost();
  if (reader.getStopTimeout() < -1 || reader.getStopTimeout() > 86400) std::abort();
  for (auto mount : host.getMounts()) {
    if (static_cast<unsigned>(mount.getType()) > static_cast<unsigned>(dockerbox::ipc::wire::MountType::IMAGE)) {
      std::abort();
    }
  }
  // What would go to the broker serializes.
  if (dockerbox::ipc::encodeFrame(message).empty()) std::abort();
  return 0;
}
