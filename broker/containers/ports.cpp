// Runs as root, in the broker; see ports.hpp. Input: text the client chose.
#include "broker/containers/ports.hpp"

#include "policy/values.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <optional>
#include <set>

namespace dockerbox::broker::containers {
namespace {

Error invalidSpec(std::string_view text) {
  return fail(ErrorKind::BadRequest, "invalid port specification: \"" + std::string(text) + "\"");
}

/// A decimal 1..65535 (0 too when `allowZero`), nothing else.
std::optional<std::uint16_t> portNumber(std::string_view text, bool allowZero) {
  if (text.empty() || text.size() > 5 || !std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    return std::nullopt;
  }
  unsigned value = 0;
  std::from_chars(text.data(), text.data() + text.size(), value);
  if (value > 65535 || (value == 0 && !allowZero)) return std::nullopt;
  return static_cast<std::uint16_t>(value);
}

/// "" -> the default address; an IPv4 or IPv6 address (brackets allowed, as the docker CLI
/// may leave them) -> its canonical text, as the policy normalises its own entries.
Result<std::string> hostAddress(std::string_view text) {
  if (text.empty()) return std::string(kDefaultPublishAddress);
  std::string_view address = text;
  if (address.size() >= 2 && address.front() == '[' && address.back() == ']') address = address.substr(1, address.size() - 2);
  auto normal = policy::normaliseIpAddress(address);
  if (!normal) return fail(ErrorKind::BadRequest, "invalid IP address: " + std::string(text));
  return std::move(*normal);
}

}  // namespace

Result<std::pair<std::uint16_t, std::string>> parseContainerPort(std::string_view text) {
  std::string_view port = text;
  std::string protocol = "tcp";
  if (auto slash = text.find('/'); slash != std::string_view::npos) {
    port = text.substr(0, slash);
    protocol = std::string(text.substr(slash + 1));
    std::transform(protocol.begin(), protocol.end(), protocol.begin(), [](unsigned char c) { return std::tolower(c); });
  }
  if (protocol == "sctp") {
    return fail(ErrorKind::NotImplemented, "publish sctp port " + std::string(port) + ": dockerbox carries tcp and udp");
  }
  auto number = portNumber(port, false);
  if (!number || (protocol != "tcp" && protocol != "udp")) return invalidSpec(text);
  return std::pair{*number, protocol};
}

Result<std::vector<PublishSpec>> publishSpecsOf(const std::vector<PortSpec>& bindings, bool publishAll,
                                                const std::vector<std::string>& exposedPorts) {
  std::vector<PublishSpec> out;
  std::set<std::pair<std::uint16_t, std::string>> bound;
  for (const auto& b : bindings) {
    auto container = parseContainerPort(b.containerPort);
    if (!container) return container.error();
    PublishSpec spec;
    spec.containerPort = container->first;
    spec.protocol = container->second;
    DOCKERBOX_TRY_ASSIGN(spec.hostIp, hostAddress(b.hostIp));
    std::string_view host = b.hostPort;
    if (auto dash = host.find('-'); dash != std::string_view::npos) {
      auto low = portNumber(host.substr(0, dash), false);
      auto high = portNumber(host.substr(dash + 1), false);
      if (!low || !high || *low > *high) return invalidSpec(b.hostPort);
      if (static_cast<unsigned>(*high - *low) >= kMaxHostPortRange) {
        return fail(ErrorKind::BadRequest, "host port range " + b.hostPort + " is too wide: dockerbox takes at most " +
                                               std::to_string(kMaxHostPortRange) + " ports");
      }
      spec.hostPortLow = *low;
      spec.hostPortHigh = *high;
    } else if (!host.empty()) {
      auto port = portNumber(host, true);
      if (!port) return invalidSpec(b.hostPort);
      spec.hostPortLow = spec.hostPortHigh = *port;
    }
    bound.emplace(spec.containerPort, spec.protocol);
    out.push_back(std::move(spec));
  }
  if (publishAll) {
    for (const auto& exposed : exposedPorts) {
      auto container = parseContainerPort(exposed);
      if (!container) return container.error();
      if (!bound.insert(*container).second) continue;
      out.push_back(PublishSpec{container->second, container->first, std::string(kDefaultPublishAddress), 0, 0});
    }
  }
  if (out.size() > kMaxPublishedPorts) {
    return fail(ErrorKind::BadRequest, "too many published ports: dockerbox publishes at most " +
                                           std::to_string(kMaxPublishedPorts) + " per container");
  }
  return out;
}

}  // namespace dockerbox::broker::containers
