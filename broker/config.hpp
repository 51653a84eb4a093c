// The broker's settings: every one an environment variable and a command-line flag with a
// sane default (design.md), resolved once at start and printed. Runs as root; input: the
// administrator's environment and flags (trusted, but validated: a bad value is a start-up
// error, never a warning).
#pragma once

#include "common/result.hpp"

#include <sys/types.h>

#include <cstddef>
#include <optional>
#include <string>
#include <vector>

namespace dockerbox::broker {

struct Config {
  std::string socketPath = "/run/dockerbox/dockerbox.sock";
  std::optional<std::string> socketGroupName;  // DOCKERBOX_SOCKET_GROUP
  std::optional<gid_t> socketGroup;            // resolved from the name at start
  mode_t socketMode = 0660;
  std::string miniboxSocket = "/run/minibox/miniboxd.sock";
  std::string frontendPath;      // the dockerbox-frontend binary (default: next to dockerboxd)
  std::string frontendUserName;  // DOCKERBOX_FRONTEND_USER; default dockerbox, else nobody
  uid_t frontendUid = 65534;
  gid_t frontendGid = 65534;
  std::string enginePath;      // the dockerbox-engine binary (default: next to dockerboxd)
  std::string engineUserName = "dockerbox-engine";  // DOCKERBOX_ENGINE_USER: must exist
  uid_t engineUid = 0;
  gid_t engineGid = 0;
  /// dockerbox-registry, started once per pull to read the image's configuration from its
  /// registry (default: beside dockerboxd when installed). "none": pulls are miniboxd's
  /// alone and images run without their configuration.
  std::string registryPath;
  std::string registryUserName = "dockerbox-registry";  // DOCKERBOX_REGISTRY_USER
  /// Under systemd: a socket whose every connection systemd hands to a new, sandboxed
  /// dockerbox-registry (deploy/dockerbox-registry.socket). Set, it replaces registryPath.
  std::string registrySocket;
  uid_t registryUid = 0;
  gid_t registryGid = 0;
  /// dockerbox-proxy, which carries published ports' traffic (default: beside dockerboxd
  /// when installed). "none": containers cannot publish ports.
  std::string proxyPath;
  std::string proxyUserName = "dockerbox-proxy";  // DOCKERBOX_PROXY_USER
  uid_t proxyUid = 0;
  gid_t proxyGid = 0;
  /// Registries spoken to in plain HTTP besides loopback ones (host[:port], comma-separated).
  std::vector<std::string> insecureRegistries;
  /// The registries miniboxd's Pull really reaches (protocol 8.7: others are sent to Docker
  /// Hub): pulls from any other registry are refused rather than misrouted.
  std::vector<std::string> miniboxdRegistries{"docker.io", "ghcr.io"};
  std::string stateDir = "/var/lib/dockerbox";
  /// Runtime files only root may write: the per-container directories holding pinned bind
  /// mounts (bind_pin.hpp). Must be visible in the host's mount namespace (miniboxd's).
  std::string runDir = "/run/dockerbox";
  /// The static dockerbox-init, bind-mounted read-only into every confined container
  /// (default: beside dockerboxd). Checked at start: root-owned, not group/other-writable.
  std::string initPath;
  std::string policyPath = "/etc/dockerbox/policy.toml";
  std::string auditLogPath = "/var/log/dockerbox/audit.log";
  std::size_t maxConnectionsPerUid = 64;
  std::string logLevel = "info";
  bool socketActivated = false;
  bool journal = false;  // stderr is the journal: the helpers log in its format too  // the listening socket came from systemd (LISTEN_FDS)
};

/// Parses flags and environment (flags win), resolves names to ids and validates every
/// value. `argv0` locates the helper binaries when no path is given.
[[nodiscard]] Result<Config> loadConfig(int argc, char** argv);

/// One line per setting, for the start-up log.
[[nodiscard]] std::vector<std::string> describe(const Config& config);

/// Parses an octal permission string ("0660", "660"); refuses anything outside 0..0777.
[[nodiscard]] Result<mode_t> parseSocketMode(const std::string& text);

}  // namespace dockerbox::broker
