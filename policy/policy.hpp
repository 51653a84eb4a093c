// The policy model and its parser. Pure: no sockets, threads or clocks; the only file access
// in this library is loadPolicyFile() (load.cpp). Input: the policy file, which is trusted
// (root-owned) but hand-edited, so every mistake must be reported, never guessed around.
//
// Semantics (policy/README.md says the same at more length; keep the two in step).
// File: TOML. Top level holds only `[settings]` and `[[rule]]`. Unknown keys, wrong types,
// unknown operation names, duplicate rule names, bad sizes and bad patterns are errors that
// carry line:column. A file with no rules (or the default-constructed Policy) denies all.
// The text must be 7-bit ASCII (other characters as \uXXXX inside strings; see parser.cpp).
//
// Subjects. A rule lists `users` and/or `groups` (at least one entry overall). An entry made
// only of digits is a numeric id, anything else a name. A user entry matches when it equals
// Subject::userName or Subject::uid. A group entry matches when it names one of
// Subject::groupNames, or its id equals Subject::gid or one of Subject::groups (the
// supplementary groups from SO_PEERGROUPS). A rule matches if any entry matches. There is no
// wildcard subject: name the socket group instead.
//
// Operations. `allow` lists operation names from the broker's dispatch table, "*" (every
// known operation), or "<prefix>.*" (every known operation that starts with "<prefix>.").
// Names and prefixes that match no known operation are errors, so typos never pass silently.
//
// Order. Rules are evaluated in file order. The FIRST rule whose subject matches AND whose
// `allow` covers the operation decides; later rules are not consulted. Its constraints
// apply; a violated constraint denies (it does not fall through to a later rule). If no rule
// decides, the answer is deny "no rule allows <op>". Put narrower, more privileged rules
// (root) before broad ones (the socket group).
//
// Mode. `settings.mode` ("enforce", default, or "audit") and an optional per-rule `mode`
// that overrides it for that rule's own decisions. In audit mode a would-be denial becomes
// Allow with Decision::wouldDeny set. "No rule allows" uses settings.mode. An unknown
// operation, and any internal error, are denied in every mode.
//
// Visibility. `visibility` per rule (own | group | all), defaulting to
// `settings.default_visibility` (default "own"). See canSee() in evaluator.hpp.
//
// Constraints (checked only when the request carries the data they restrict):
//   privileged      bool, default false. true allows every privilege-raising field.
//   root_user       bool, default false. true allows a container/exec User of uid or gid 0.
//   images          image globs on the normalised reference; absent: any; []: none.
//   network_modes   allowed NetworkMode values; "container" covers "container:<x>";
//                   absent: ["default", "bridge", "none"] ("" counts as "default");
//                   "*" allows every mode.
//   max_memory      size ("2g", "512m", integer bytes); above it is denied.
//   default_memory  injected when the client sets none; defaults to max_memory.
//   max_cpus        number of CPUs (float); default_cpus likewise.
//   bind_sources    path patterns for bind sources; absent: no binds.
//   bind_read_only  bool, default false. true: every bind must be read-only.
//   volumes         bool, default true. Named-volume mounts allowed.
//   capabilities    CapAdd entries allowed without `privileged` ("NET_ADMIN", "ALL").
//   devices         host device paths allowed without `privileged` (exact match).
//   publish_addresses  IP addresses a published port may bind, normalised on load
//                   ("0:0:0:0:0:0:0:1" is "::1"); "*" allows any, 0.0.0.0 and :: included.
//                   absent: ["127.0.0.1", "::1"]; []: no publishing at all.
//   publish_ports   host port ranges, "8080" or "1024-65535" (1-65535, low <= high).
//                   absent: ["1024-65535"]; []: no publishing at all. A random host port
//                   (0) is allowed whenever the list is not empty: the kernel picks it from
//                   its ephemeral range. Both lists apply to tcp and udp alike; any other
//                   protocol, or a host address that is not an IP address, is denied.
//                   `privileged` grants neither.
#pragma once

#include "policy/pattern.hpp"
#include "policy/values.hpp"

#include <boost/system/result.hpp>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace dockerbox::policy {

/// What a rule does with a decision that would deny.
enum class Mode { Enforce, Audit };

/// Which objects (containers, execs, volumes) a caller may see; see canSee().
enum class Visibility { Own, Group, All };

/// Whether the privilege-raising fields of a request are allowed.
enum class Privileged { Denied, Allowed };

/// Whether uid/gid 0 inside a container may be requested.
enum class RootUser { Denied, Allowed };

/// Whether binds must be read-only.
enum class BindAccess { ReadWriteAllowed, ReadOnlyRequired };

/// Whether named-volume mounts are allowed.
enum class NamedVolumes { Denied, Allowed };

/// A user or group as written in the policy file: a numeric id or a name.
struct SubjectRef {
  std::optional<std::uint32_t> id;  // set when the entry is all digits
  std::string name;                 // the entry as written
};

/// One `[[rule]]` after validation. Only parsePolicy() builds these into a Policy.
struct Rule {
  std::string name;
  std::uint32_t line = 0;  // where the rule starts, for explain output
  std::vector<SubjectRef> users, groups;
  std::vector<std::string> allowPatterns;         // as written, for explain output
  std::set<std::string, std::less<>> operations;  // allowPatterns expanded over the known set
  std::optional<Mode> mode;                       // nullopt: settings.mode
  std::optional<Visibility> visibility;           // nullopt: settings.defaultVisibility
  Privileged privileged = Privileged::Denied;
  RootUser rootUser = RootUser::Denied;
  std::optional<std::vector<ImagePattern>> images;  // nullopt: any image
  std::vector<std::string> networkModes;
  std::optional<std::uint64_t> maxMemory, defaultMemory;  // bytes
  std::optional<std::uint64_t> maxNanoCpus, defaultNanoCpus;
  std::vector<PathPattern> bindSources;
  BindAccess bindAccess = BindAccess::ReadWriteAllowed;
  NamedVolumes volumes = NamedVolumes::Allowed;
  std::vector<std::string> capabilities;  // normalised: upper case, no "CAP_" prefix
  std::vector<std::string> devices;
  // Host sockets a container may publish (ContainerSpec::ports). Entries are normalised
  // addresses (normaliseIpAddress) or "*" for any address.
  std::vector<std::string> publishAddresses;  // parser default: {"127.0.0.1", "::1"}
  std::vector<PortRange> publishPorts;        // parser default: {1024-65535}
};

struct Settings {
  Mode mode = Mode::Enforce;
  Visibility defaultVisibility = Visibility::Own;
};

/// A validated policy. Immutable once built; the default value is the empty policy, which
/// knows no operation and so denies everything (what the broker holds when no file loaded).
class Policy {
 public:
  Policy() = default;

  [[nodiscard]] const Settings& settings() const { return settings_; }
  [[nodiscard]] std::span<const Rule> rules() const { return rules_; }
  [[nodiscard]] bool knowsOperation(std::string_view op) const {
    return knownOperations_.find(op) != knownOperations_.end();
  }

 private:
  friend class PolicyBuilder;  // parser.cpp
  Settings settings_;
  std::vector<Rule> rules_;
  std::set<std::string, std::less<>> knownOperations_;
};

/// One problem in a policy file. line/column are 1-based; 0 when not tied to a place.
struct Diagnostic {
  std::string source;  // file name as given
  std::uint32_t line = 0;
  std::uint32_t column = 0;
  std::string message;

  /// "policy.toml:12:5: rule 'members': unknown key 'alow'"
  [[nodiscard]] std::string toString() const;
};

/// Why a policy file was refused; every problem found, in file order (capped, see parser).
struct ParseFailure {
  std::vector<Diagnostic> diagnostics;

  /// One diagnostic per line.
  [[nodiscard]] std::string toString() const;
};

[[noreturn]] void throw_exception_from_error(const ParseFailure& e,
                                             const boost::source_location& loc);

using ParseResult = boost::system::result<Policy, ParseFailure>;

/// Larger policy files are refused before parsing (a real policy is a few KiB).
inline constexpr std::size_t kMaxPolicyBytes = 1024 * 1024;

/// Parses and validates policy text. `knownOperations` is the broker's dispatch table (the
/// single source of truth); `sourceName` only labels diagnostics.
[[nodiscard]] ParseResult parsePolicy(std::string_view text,
                                      std::span<const std::string_view> knownOperations,
                                      std::string_view sourceName = "policy");

/// Whether loadPolicyFile() insists on a root-owned file that only root can write.
enum class FileTrust { RequireRootOwned, AnyOwner };

/// Reads and parses the policy file: the one filesystem access of this library. With
/// RequireRootOwned (the broker) a file not owned by uid 0, or writable by group or others,
/// is refused: whoever can write it is root-equivalent. `check-policy` may use AnyOwner.
[[nodiscard]] ParseResult loadPolicyFile(const std::string& path,
                                         std::span<const std::string_view> knownOperations,
                                         FileTrust trust = FileTrust::RequireRootOwned);

[[nodiscard]] std::string_view toString(Mode mode);
[[nodiscard]] std::string_view toString(Visibility visibility);

}  // namespace dockerbox::policy
