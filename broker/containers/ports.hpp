// Runs as root, in the broker (and in the engine, which shares this library). Input: the
// port bindings of a validated create request (request.hpp: HostConfig.PortBindings,
// PublishAllPorts and Config.ExposedPorts, all text the client chose) or of the broker's
// own stored create config.
//
// Docker's `-p [ip:]host:container[/proto]` and `-P` as the host sockets the monitor binds
// for a run (monitor/published_ports.hpp) and the policy judges (policy_request.cpp). Pure
// functions, no I/O.
//
// Choices a Docker user should know about (also in the README):
// - An empty HostIp is bound on kDefaultPublishAddress (127.0.0.1), not on 0.0.0.0 and ::
//   as dockerd does by default: on a shared host a published port is then the publisher's
//   business until they name an address (which the policy may refuse).
// - `-P` publishes every exposed port that has no binding of its own, on a random port of
//   the default address.
#pragma once

#include "broker/request.hpp"
#include "common/result.hpp"

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace dockerbox::broker::containers {

inline constexpr std::string_view kDefaultPublishAddress = "127.0.0.1";
/// Host sockets one container may publish: every one is a descriptor passed to the port
/// proxy in one message (SCM_RIGHTS carries at most 253).
inline constexpr std::size_t kMaxPublishedPorts = 128;

/// Ports in one host range (`-p 8000-8099:80`): the policy judges each of them.
inline constexpr unsigned kMaxHostPortRange = 1024;

/// One host binding to make: a port, or the first free one of a range, of `hostIp`.
struct PublishSpec {
  std::string protocol;             // "tcp" or "udp"
  std::uint16_t containerPort = 0;  // 1..65535
  std::string hostIp;               // canonical text (inet_ntop), never empty
  std::uint16_t hostPortLow = 0;    // 0: the kernel picks (then high is 0 too)
  std::uint16_t hostPortHigh = 0;   // == low for a single port
  friend bool operator==(const PublishSpec&, const PublishSpec&) = default;
};

/// A published port as bound.
struct BoundPort {
  std::string protocol;
  std::uint16_t containerPort = 0;
  std::string hostIp;
  std::uint16_t hostPort = 0;
  friend bool operator==(const BoundPort&, const BoundPort&) = default;
};

/// "80", "80/tcp", "53/udp" -> port and protocol. BadRequest (Docker's "invalid port
/// specification") otherwise; sctp is NotImplemented.
[[nodiscard]] Result<std::pair<std::uint16_t, std::string>> parseContainerPort(std::string_view text);

/// The bindings a container asks for, in order: each PortBindings entry, then (publishAll)
/// every exposed port without one on a random port. At most kMaxPublishedPorts.
[[nodiscard]] Result<std::vector<PublishSpec>> publishSpecsOf(const std::vector<PortSpec>& bindings, bool publishAll,
                                                              const std::vector<std::string>& exposedPorts);

}  // namespace dockerbox::broker::containers
