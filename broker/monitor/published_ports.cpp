// Runs as root; see published_ports.hpp. Input: judged port bindings.
#include "broker/monitor/published_ports.hpp"

#include "policy/values.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>

namespace dockerbox::broker::monitor {
namespace {

struct Address {
  sockaddr_storage storage{};
  socklen_t length = 0;
  int family = AF_INET;
};

Result<Address> addressOf(const std::string& ip, std::uint16_t port) {
  Address a;
  if (auto* v4 = reinterpret_cast<sockaddr_in*>(&a.storage); ::inet_pton(AF_INET, ip.c_str(), &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    v4->sin_port = htons(port);
    a.length = sizeof(sockaddr_in);
    return a;
  }
  a.storage = {};
  auto* v6 = reinterpret_cast<sockaddr_in6*>(&a.storage);
  if (::inet_pton(AF_INET6, ip.c_str(), &v6->sin6_addr) != 1) {
    return fail(ErrorKind::BadRequest, "invalid IP address: " + ip);
  }
  v6->sin6_family = AF_INET6;
  v6->sin6_port = htons(port);
  a.length = sizeof(sockaddr_in6);
  a.family = AF_INET6;
  return a;
}

std::string hostPortText(const std::string& ip, std::uint16_t port) {
  return (policy::isIpv6(ip) ? "[" + ip + "]" : ip) + ":" + std::to_string(port);
}

/// One socket bound to `port` (0: the kernel's choice); EADDRINUSE is returned as errno so
/// that a range can go on to the next port.
Result<UniqueFd> bindOne(const containers::PublishSpec& spec, std::uint16_t port, int& err) {
  auto address = addressOf(spec.hostIp, port);
  if (!address) return address.error();
  const bool tcp = spec.protocol == "tcp";
  UniqueFd fd(::socket(address->family, (tcp ? SOCK_STREAM : SOCK_DGRAM) | SOCK_CLOEXEC, 0));
  if (!fd) return fail(ErrorKind::Internal, "internal error", std::string("socket: ") + std::strerror(errno));
  const int on = 1;
  // tcp: a port whose last connections are in TIME_WAIT can be listened on again (a
  // restarted container); two listeners still cannot share it. Never for udp, where the
  // option would let two sockets share the port.
  if (tcp && ::setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &on, sizeof on) != 0) {
    return fail(ErrorKind::Internal, "internal error", std::string("SO_REUSEADDR: ") + std::strerror(errno));
  }
  // "::" means IPv6 only, as the address says; 0.0.0.0 is published apart.
  if (address->family == AF_INET6 && ::setsockopt(fd.get(), IPPROTO_IPV6, IPV6_V6ONLY, &on, sizeof on) != 0) {
    return fail(ErrorKind::Internal, "internal error", std::string("IPV6_V6ONLY: ") + std::strerror(errno));
  }
  if (::bind(fd.get(), reinterpret_cast<const sockaddr*>(&address->storage), address->length) != 0) {
    err = errno;
    return UniqueFd();
  }
  if (tcp && ::listen(fd.get(), SOMAXCONN) != 0) {
    err = errno;
    return UniqueFd();
  }
  err = 0;
  return fd;
}

std::uint16_t boundPort(int fd) {
  sockaddr_storage storage{};
  socklen_t length = sizeof storage;
  if (::getsockname(fd, reinterpret_cast<sockaddr*>(&storage), &length) != 0) return 0;
  if (storage.ss_family == AF_INET6) return ntohs(reinterpret_cast<sockaddr_in6*>(&storage)->sin6_port);
  return ntohs(reinterpret_cast<sockaddr_in*>(&storage)->sin_port);
}

}  // namespace

Result<std::vector<HostSocket>> bindHostPorts(const std::vector<containers::PublishSpec>& specs) {
  std::vector<HostSocket> out;
  for (const auto& spec : specs) {
    int err = 0;
    UniqueFd fd;
    for (unsigned port = spec.hostPortLow; port <= spec.hostPortHigh; ++port) {
      auto bound = bindOne(spec, static_cast<std::uint16_t>(port), err);
      if (!bound) return bound.error();
      if (*bound) {
        fd = std::move(*bound);
        break;
      }
      if (err != EADDRINUSE) break;
    }
    if (!fd) {
      const std::string where = hostPortText(spec.hostIp, spec.hostPortLow) +
                                (spec.hostPortHigh != spec.hostPortLow ? "-" + std::to_string(spec.hostPortHigh) : "");
      if (err == EADDRINUSE) return fail(ErrorKind::Conflict, "Bind for " + where + " failed: port is already allocated");
      if (err == EADDRNOTAVAIL) {
        return fail(ErrorKind::BadRequest, "Bind for " + where + " failed: cannot assign requested address");
      }
      return fail(ErrorKind::Internal, "Bind for " + where + " failed: " + std::strerror(err));
    }
    containers::BoundPort port{spec.protocol, spec.containerPort, spec.hostIp, boundPort(fd.get())};
    out.push_back(HostSocket{std::move(port), std::move(fd)});
  }
  return out;
}

}  // namespace dockerbox::broker::monitor
