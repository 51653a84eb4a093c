#include "policy/values.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <array>
#include <cmath>
#include <limits>
#include <optional>

namespace dockerbox::policy {

namespace {

constexpr std::array<std::string_view, 42> kCapabilities = {
    "ALL",
    "AUDIT_CONTROL",
    "AUDIT_READ",
    "AUDIT_WRITE",
    "BLOCK_SUSPEND",
    "BPF",
    "CHECKPOINT_RESTORE",
    "CHOWN",
    "DAC_OVERRIDE",
    "DAC_READ_SEARCH",
    "FOWNER",
    "FSETID",
    "IPC_LOCK",
    "IPC_OWNER",
    "KILL",
    "LEASE",
    "LINUX_IMMUTABLE",
    "MAC_ADMIN",
    "MAC_OVERRIDE",
    "MKNOD",
    "NET_ADMIN",
    "NET_BIND_SERVICE",
    "NET_BROADCAST",
    "NET_RAW",
    "PERFMON",
    "SETFCAP",
    "SETGID",
    "SETPCAP",
    "SETUID",
    "SYSLOG",
    "SYS_ADMIN",
    "SYS_BOOT",
    "SYS_CHROOT",
    "SYS_MODULE",
    "SYS_NICE",
    "SYS_PACCT",
    "SYS_PTRACE",
    "SYS_RAWIO",
    "SYS_RESOURCE",
    "SYS_TIME",
    "SYS_TTY_CONFIG",
    "WAKE_ALARM",
};

char lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

bool isDigits(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
  }
  return true;
}

// One side of "user:group". Invalid beats Root beats NonRoot when the two are combined.
ContainerUser classifyPart(std::string_view part) {
  // A leading sign: Go's strconv.Atoi (runc) reads "-0" and "+0" as uid 0.
  if (part.empty() || part.front() == '-' || part.front() == '+') return ContainerUser::Invalid;
  for (char c : part) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == '-' || c == '$';
    if (!ok) return ContainerUser::Invalid;
  }
  if (isDigits(part)) {
    auto digits = part.substr(std::min(part.find_first_not_of('0'), part.size()));
    if (digits.empty()) return ContainerUser::Root;  // "0", "00", "000", ...
    if (digits.size() > 10) return ContainerUser::Invalid;
    std::uint64_t value = 0;
    for (char c : digits) value = value * 10 + static_cast<std::uint64_t>(c - '0');
    if (value > std::numeric_limits<std::uint32_t>::max()) return ContainerUser::Invalid;
    return ContainerUser::NonRoot;
  }
  std::string folded;
  for (char c : part) folded.push_back(lower(c));
  return folded == "root" ? ContainerUser::Root : ContainerUser::NonRoot;
}

}  // namespace

Checked<std::uint64_t> parseSize(std::string_view text) {
  auto bad = [&](const std::string& why) { return Invalid{"size '" + std::string(text) + "': " + why}; };
  std::size_t i = 0;
  std::uint64_t whole = 0;
  std::size_t intDigits = 0;
  while (i < text.size() && text[i] >= '0' && text[i] <= '9') {
    if (++intDigits > 19) return bad("too large");
    whole = whole * 10 + static_cast<std::uint64_t>(text[i] - '0');
    ++i;
  }
  if (intDigits == 0) return bad("expected a number such as 512m or 2g");
  std::uint64_t fraction = 0, fractionScale = 1;
  if (i < text.size() && text[i] == '.') {
    ++i;
    std::size_t fracDigits = 0;
    while (i < text.size() && text[i] >= '0' && text[i] <= '9') {
      if (++fracDigits > 9) return bad("more than 9 decimal places");
      fraction = fraction * 10 + static_cast<std::uint64_t>(text[i] - '0');
      fractionScale *= 10;
      ++i;
    }
    if (fracDigits == 0) return bad("expected digits after '.'");
  }
  if (i < text.size() && text[i] == ' ') ++i;
  std::string unit;
  for (; i < text.size(); ++i) unit.push_back(lower(text[i]));
  int shift = -1;
  constexpr std::string_view kUnits = "bkmgtp";
  if (unit.empty()) {
    shift = 0;
  } else if (auto pos = kUnits.find(unit[0]); pos != std::string_view::npos) {
    auto suffix = std::string_view(unit).substr(1);
    if (suffix.empty() || (pos != 0 && (suffix == "b" || suffix == "ib")))
      shift = static_cast<int>(pos) * 10;
  }
  if (shift < 0) return bad("unknown unit (use b, k, m, g, t or p)");
  constexpr std::uint64_t kMax = std::numeric_limits<std::int64_t>::max();
  if (whole > (kMax >> shift)) return bad("too large");
  // fraction * 2^shift / scale without overflow: fraction < scale <= 10^9 and 2^shift <= 2^50.
  const std::uint64_t multiplier = std::uint64_t{1} << shift;
  const std::uint64_t q = multiplier / fractionScale, r = multiplier % fractionScale;
  std::uint64_t bytes = (whole << shift) + fraction * q + (fraction * r) / fractionScale;
  if (bytes > kMax) return bad("too large");
  if (bytes == 0) return bad("must be above zero");
  return bytes;
}

Checked<std::uint64_t> cpusToNanoCpus(double cpus) {
  if (!std::isfinite(cpus) || cpus <= 0 || cpus > 4096) {
    return Invalid{"CPU count must be above 0 and at most 4096"};
  }
  auto nano = static_cast<std::uint64_t>(std::llround(cpus * 1e9));
  if (nano == 0) return Invalid{"CPU count must be above 0"};
  return nano;
}

std::string normaliseCapability(std::string_view name) {
  std::string upper;
  for (char c : name)
    upper.push_back((c >= 'a' && c <= 'z') ? static_cast<char>(c - 'a' + 'A') : c);
  if (std::string_view(upper).starts_with("CAP_")) upper.erase(0, 4);
  return upper;
}

bool isKnownCapability(std::string_view normalised) {
  for (auto known : kCapabilities) {
    if (known == normalised) return true;
  }
  return false;
}

Checked<std::string> normaliseIpAddress(std::string_view text) {
  auto bad = [&](std::string why) { return Invalid{std::move(why)}; };
  // inet_pton reads a C string: a NUL inside would cut the text short. Longer text than the
  // longest address ("ffff:...:255.255.255.255", 45 characters) is refused before it.
  if (text.empty()) return bad("empty (write \"127.0.0.1\", \"::1\", ... or \"*\")");
  if (text.size() >= INET6_ADDRSTRLEN || text.find('\0') != std::string_view::npos)
    return bad("not an IPv4 or IPv6 address");
  const std::string input(text);
  char out[INET6_ADDRSTRLEN] = {};
  if (in_addr v4{}; ::inet_pton(AF_INET, input.c_str(), &v4) == 1) {
    if (::inet_ntop(AF_INET, &v4, out, sizeof out) == nullptr) return bad("not an IPv4 address");
    // Invalid is constructible from a string too: say which alternative this is.
    return Checked<std::string>(boost::system::in_place_value, out);
  }
  if (in6_addr v6{}; ::inet_pton(AF_INET6, input.c_str(), &v6) == 1) {
    if (::inet_ntop(AF_INET6, &v6, out, sizeof out) == nullptr) return bad("not an IPv6 address");
    return Checked<std::string>(boost::system::in_place_value, out);
  }
  return bad("not an IPv4 or IPv6 address");
}

bool isIpv6(std::string_view normalised) { return normalised.find(':') != std::string_view::npos; }

std::string PortRange::toString() const {
  if (low == high) return std::to_string(low);
  return std::to_string(low) + "-" + std::to_string(high);
}

Checked<PortRange> parsePortRange(std::string_view text) {
  const std::string expected =
      "expected a port such as \"8080\" or a range such as \"1024-65535\"";
  if (text == "*") return Invalid{expected + " (write \"1-65535\" for every port)"};
  // One decimal port, 1-65535. At most 5 digits, so the value cannot overflow.
  auto port = [](std::string_view digits) -> std::optional<std::uint32_t> {
    if (!isDigits(digits) || digits.size() > 5) return std::nullopt;
    std::uint32_t value = 0;
    for (char c : digits) value = value * 10 + static_cast<std::uint32_t>(c - '0');
    return value;
  };
  const auto dash = text.find('-');
  const auto first = port(text.substr(0, dash));
  const auto second = dash == std::string_view::npos ? first : port(text.substr(dash + 1));
  if (!first || !second) return Invalid{expected};
  for (auto value : {*first, *second}) {
    if (value == 0 || value > 65535)
      return Invalid{"port " + std::to_string(value) + " is out of range (ports are 1-65535)"};
  }
  if (*first > *second) return Invalid{"the first port is above the second"};
  return PortRange{static_cast<std::uint16_t>(*first), static_cast<std::uint16_t>(*second)};
}

ContainerUser classifyUser(std::string_view user) {
  if (user.empty()) return ContainerUser::Unspecified;
  auto colon = user.find(':');
  if (colon == std::string_view::npos) return classifyPart(user);
  auto group = user.substr(colon + 1);
  if (group.find(':') != std::string_view::npos) return ContainerUser::Invalid;
  auto a = classifyPart(user.substr(0, colon));
  auto b = classifyPart(group);
  if (a == ContainerUser::Invalid || b == ContainerUser::Invalid) return ContainerUser::Invalid;
  if (a == ContainerUser::Root || b == ContainerUser::Root) return ContainerUser::Root;
  return ContainerUser::NonRoot;
}

}  // namespace dockerbox::policy
