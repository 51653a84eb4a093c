// The body of POST /containers/create, decoded into the typed ContainerConfig the broker
// validates (ipc/dockerbox.capnp). Runs in: a frontend worker. Input: untrusted JSON.
//
// Decoding follows dockerd's Go decoder (strict_json.hpp: case-insensitive fields, refused
// duplicates and trailing bytes). Binds strings and Mounts entries both become typed
// Mounts (fromBinds tells them apart), so the broker's policy sees every mount in one
// shape. Settings that miniboxd cannot honour are refused with 501 when they ask for
// something other than the default, rather than dropped: the container would otherwise
// run differently from what the client asked for, and nobody would know.
#pragma once

#include "common/result.hpp"
#include "frontend/strict_json.hpp"

#include "ipc/dockerbox.capnp.h"

#include <string>
#include <string_view>
#include <vector>

namespace dockerbox::frontend {

/// Fills `out` from a create body. `out.name` (from ?name=) is left to the caller.
[[nodiscard]] Result<void> parseCreateBody(std::string_view body,
                                           ipc::wire::ContainerConfig::Builder out);

/// One HostConfig.Binds entry as Docker's Linux parser reads it: "dst", "src:dst" or
/// "src:dst:mode" with mode a comma list of rw|ro, z|Z, a propagation, nocopy and a
/// consistency. A source that is an absolute path is a bind, anything else a volume name.
struct BindSpec {
  ipc::wire::MountType type = ipc::wire::MountType::VOLUME;
  std::string source;
  std::string target;
  bool readOnly = false;
  std::string propagation;  // "" or rprivate, private, rshared, shared, rslave, slave
};
[[nodiscard]] Result<BindSpec> parseBind(std::string_view bind);

/// The HostConfig part of a create body (host_config_body.cpp). `anonymousVolumes` are the
/// Config.Volumes paths; each one that no bind or mount covers becomes an anonymous volume.
[[nodiscard]] Result<void> parseHostConfig(const JsonFields& host,
                                           const std::vector<std::string>& anonymousVolumes,
                                           ipc::wire::HostConfig::Builder out);

/// "80" -> "80/tcp"; "80/udp" stays. Fails on anything that is not port[-port][/proto].
[[nodiscard]] Result<std::string> normalizePort(std::string_view port);

}  // namespace dockerbox::frontend
