// Parts of the container inspect document rebuilt from the create config the broker keeps:
// HostConfig, Mounts and NetworkSettings. Runs in: a frontend worker. Input: the broker's
// typed reply.
#pragma once

#include "ipc/dockerbox.capnp.h"

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>

namespace dockerbox::frontend {

/// HostConfig as created, with every key of the v1.50 schema (zero values for settings
/// dockerbox does not carry, which create refuses unless they are zero).
[[nodiscard]] boost::json::object renderHostConfig(ipc::wire::HostConfig::Reader host);

/// Mounts[] (MountPoint): one entry per bind, volume and tmpfs mount.
[[nodiscard]] boost::json::array renderMountPoints(ipc::wire::HostConfig::Reader host);

/// NetworkSettings: the network the container is on, and Ports while it runs (every
/// exposed port, with the host side of each published one as bound: `bound`).
[[nodiscard]] boost::json::object renderNetworkSettings(ipc::wire::ContainerConfig::Reader config,
                                                       capnp::List<ipc::wire::BoundPort>::Reader bound, bool running);

/// The network a NetworkMode names: "default" and "" are "bridge"; "container:x" has none.
[[nodiscard]] std::string networkName(std::string_view networkMode);

}  // namespace dockerbox::frontend
