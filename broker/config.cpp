#include "broker/config.hpp"

#include <CLI/CLI.hpp>
#include <grp.h>
#include <pwd.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <sstream>
#include <tuple>

namespace dockerbox::broker {
namespace {

std::optional<std::string> env(const char* name) {
  const char* value = std::getenv(name);
  if (value == nullptr) return std::nullopt;
  return std::string(value);
}

Result<gid_t> resolveGroup(const std::string& name) {
  if (!name.empty() && name.find_first_not_of("0123456789") == std::string::npos) {
    return static_cast<gid_t>(std::stoul(name));
  }
  group grp{};
  group* found = nullptr;
  std::vector<char> buf(16384);
  if (getgrnam_r(name.c_str(), &grp, buf.data(), buf.size(), &found) != 0 || found == nullptr) {
    return fail(ErrorKind::BadRequest, "DOCKERBOX_SOCKET_GROUP: no such group: " + name);
  }
  return found->gr_gid;
}

Result<void> resolveFrontendUser(Config& config) {
  std::string name = config.frontendUserName;
  bool explicitUser = !name.empty();
  if (!explicitUser) name = "dockerbox";
  passwd pw{};
  passwd* found = nullptr;
  std::vector<char> buf(16384);
  if (getpwnam_r(name.c_str(), &pw, buf.data(), buf.size(), &found) != 0 || found == nullptr) {
    if (explicitUser) return fail(ErrorKind::BadRequest, "DOCKERBOX_FRONTEND_USER: no such user: " + name);
    name = "nobody";
    if (getpwnam_r(name.c_str(), &pw, buf.data(), buf.size(), &found) != 0 || found == nullptr) {
      return fail(ErrorKind::BadRequest, "neither user 'dockerbox' nor 'nobody' exists");
    }
  }
  if (found->pw_uid == 0 || found->pw_gid == 0) {
    return fail(ErrorKind::BadRequest, "the frontend user must not be root: " + name);
  }
  config.frontendUserName = name;
  config.frontendUid = found->pw_uid;
  config.frontendGid = found->pw_gid;
  return {};
}

/// The engine's own user: it owns the engine's state, so it must exist (no fallback), must
/// not be root, and must not be the frontend's (a compromised frontend must not reach it).
Result<void> resolveEngineUser(Config& config) {
  passwd pw{};
  passwd* found = nullptr;
  std::vector<char> buf(16384);
  const std::string& name = config.engineUserName;
  if (name.empty() || getpwnam_r(name.c_str(), &pw, buf.data(), buf.size(), &found) != 0 || found == nullptr) {
    return fail(ErrorKind::BadRequest, "DOCKERBOX_ENGINE_USER: no such user: '" + name +
                                           "' (create it: useradd --system --no-create-home --shell "
                                           "/usr/sbin/nologin " + (name.empty() ? "dockerbox-engine" : name) + ")");
  }
  if (found->pw_uid == 0 || found->pw_gid == 0) {
    return fail(ErrorKind::BadRequest, "the engine user must not be root: " + name);
  }
  if (found->pw_uid == config.frontendUid || found->pw_gid == config.frontendGid) {
    return fail(ErrorKind::BadRequest, "the engine user (" + name + ") must have a uid and group other than the "
                                       "frontend user's (" + config.frontendUserName + ")");
  }
  config.engineUid = found->pw_uid;
  config.engineGid = found->pw_gid;
  return {};
}

/// An unprivileged helper's user (the registry client's, the port proxy's), when the helper
/// is enabled: it must exist, not be root and share neither uid nor group with the frontend,
/// the engine or `others`. A default install that lacks the user (an upgrade before the
/// package made it) runs without the helper (`path` becomes "none").
struct HelperUser {
  const char* what;      // "registry client"
  const char* variable;  // "DOCKERBOX_REGISTRY_USER"
  const char* fallback;  // the default user name, for the useradd hint
  std::string& path;
  const std::string& name;
  uid_t& uid;
  gid_t& gid;
};

Result<void> resolveHelperUser(const Config& config, HelperUser helper, bool explicitPath,
                               std::initializer_list<std::tuple<uid_t, gid_t, const char*>> others) {
  if (helper.path == "none") return {};
  passwd pw{};
  passwd* found = nullptr;
  std::vector<char> buf(16384);
  const std::string& name = helper.name;
  if (name.empty() || getpwnam_r(name.c_str(), &pw, buf.data(), buf.size(), &found) != 0 || found == nullptr) {
    if (!explicitPath) {
      helper.path = "none";
      return {};
    }
    return fail(ErrorKind::BadRequest, std::string(helper.variable) + ": no such user: '" + name +
                                           "' (create it: useradd --system --no-create-home --shell "
                                           "/usr/sbin/nologin " + (name.empty() ? helper.fallback : name) + ")");
  }
  if (found->pw_uid == 0 || found->pw_gid == 0) {
    return fail(ErrorKind::BadRequest, std::string("the ") + helper.what + "'s user must not be root: " + name);
  }
  std::vector<std::tuple<uid_t, gid_t, const char*>> taken{{config.frontendUid, config.frontendGid, "frontend"},
                                                           {config.engineUid, config.engineGid, "engine"}};
  taken.insert(taken.end(), others.begin(), others.end());
  for (auto [uid, gid, who] : taken) {
    if (found->pw_uid == uid || found->pw_gid == gid) {
      return fail(ErrorKind::BadRequest, std::string("the ") + helper.what + "'s user (" + name +
                                             ") must have a uid and group other than the " + who + "'s");
    }
  }
  helper.uid = found->pw_uid;
  helper.gid = found->pw_gid;
  return {};
}


/// "a,b,,c" -> {a, b, c}
std::vector<std::string> splitList(const std::string& text) {
  std::vector<std::string> out;
  std::stringstream in(text);
  for (std::string item; std::getline(in, item, ',');) {
    if (!item.empty()) out.push_back(item);
  }
  return out;
}

/// A helper binary beside dockerboxd (installed), or in ../<buildDir>/ of the build tree.
std::string defaultHelperPath(const char* argv0, const char* name, const char* buildDir) {
  std::error_code ec;
  auto self = std::filesystem::read_symlink("/proc/self/exe", ec);
  std::filesystem::path dir = ec ? std::filesystem::path(argv0).parent_path() : self.parent_path();
  for (const auto& candidate : {dir / name, dir / ".." / buildDir / name}) {
    if (std::filesystem::exists(candidate, ec)) return std::filesystem::weakly_canonical(candidate).string();
  }
  return (dir / name).string();
}

/// An installed helper beside dockerboxd, unless configured; "none" when absent.
void defaultOptionalHelper(std::string& path, const char* argv0, const char* binary, const char* dir) {
  path = defaultHelperPath(argv0, binary, dir);
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) path = "none";
}

}  // namespace

Result<mode_t> parseSocketMode(const std::string& text) {
  std::string digits = text;
  if (digits.rfind("0o", 0) == 0) digits = digits.substr(2);
  if (digits.empty() || digits.size() > 4 || digits.find_first_not_of("01234567") != std::string::npos) {
    return fail(ErrorKind::BadRequest, "DOCKERBOX_SOCKET_MODE must be octal permission bits like 0660, got '" + text + "'");
  }
  unsigned long value = std::stoul(digits, nullptr, 8);
  if (value > 0777) {
    return fail(ErrorKind::BadRequest, "DOCKERBOX_SOCKET_MODE must be at most 0777 (no setuid/sticky bits), got '" + text + "'");
  }
  return static_cast<mode_t>(value);
}

Result<Config> loadConfig(int argc, char** argv) {
  Config config;
  // Environment first, flags override.
  std::string modeText = "0660";
  if (auto v = env("DOCKERBOX_SOCKET")) config.socketPath = *v;
  if (auto v = env("DOCKERBOX_SOCKET_GROUP"); v && !v->empty()) config.socketGroupName = *v;
  if (auto v = env("DOCKERBOX_SOCKET_MODE")) modeText = *v;
  if (auto v = env("MINIBOX_SOCKET")) config.miniboxSocket = *v;           // alias (older docs)
  if (auto v = env("MINIBOX_SOCKET_PATH")) config.miniboxSocket = *v;      // miniboxd's own name wins
  if (auto v = env("DOCKERBOX_FRONTEND_USER")) config.frontendUserName = *v;
  if (auto v = env("DOCKERBOX_FRONTEND_PATH")) config.frontendPath = *v;
  if (auto v = env("DOCKERBOX_ENGINE_USER")) config.engineUserName = *v;
  if (auto v = env("DOCKERBOX_ENGINE_PATH")) config.enginePath = *v;
  if (auto v = env("DOCKERBOX_REGISTRY_PATH")) config.registryPath = v->empty() ? "none" : *v;
  if (auto v = env("DOCKERBOX_REGISTRY_USER")) config.registryUserName = *v;
  if (auto v = env("DOCKERBOX_REGISTRY_SOCKET")) config.registrySocket = *v;
  if (auto v = env("DOCKERBOX_PROXY_PATH")) config.proxyPath = v->empty() ? "none" : *v;
  if (auto v = env("DOCKERBOX_PROXY_USER")) config.proxyUserName = *v;
  std::string insecure, miniboxdRegistries = "docker.io,ghcr.io";
  if (auto v = env("DOCKERBOX_INSECURE_REGISTRIES")) insecure = *v;
  if (auto v = env("DOCKERBOX_MINIBOXD_REGISTRIES")) miniboxdRegistries = *v;
  if (auto v = env("DOCKERBOX_STATE_DIR")) config.stateDir = *v;
  if (auto v = env("DOCKERBOX_RUN_DIR")) config.runDir = *v;
  if (auto v = env("DOCKERBOX_INIT_PATH")) config.initPath = *v;
  if (auto v = env("DOCKERBOX_POLICY")) config.policyPath = *v;
  if (auto v = env("DOCKERBOX_AUDIT_LOG")) config.auditLogPath = *v;
  if (auto v = env("DOCKERBOX_LOG_LEVEL")) config.logLevel = *v;
  std::string maxConn;
  if (auto v = env("DOCKERBOX_MAX_CONNECTIONS_PER_UID")) maxConn = *v;

  CLI::App app{"dockerboxd: the dockerbox broker (runs as root)"};
  std::string group = config.socketGroupName.value_or("");
  app.add_option("--socket", config.socketPath, "Docker API socket (DOCKERBOX_SOCKET)");
  app.add_option("--socket-group", group, "group admitted to the socket (DOCKERBOX_SOCKET_GROUP)");
  app.add_option("--socket-mode", modeText, "octal socket mode (DOCKERBOX_SOCKET_MODE)");
  app.add_option("--minibox-socket", config.miniboxSocket, "miniboxd socket (MINIBOX_SOCKET_PATH)");
  app.add_option("--frontend-user", config.frontendUserName, "user the frontend drops to (DOCKERBOX_FRONTEND_USER)");
  app.add_option("--frontend-path", config.frontendPath, "dockerbox-frontend binary (DOCKERBOX_FRONTEND_PATH)");
  app.add_option("--engine-user", config.engineUserName, "user the engine runs as (DOCKERBOX_ENGINE_USER)");
  app.add_option("--engine-path", config.enginePath, "dockerbox-engine binary (DOCKERBOX_ENGINE_PATH)");
  app.add_option("--registry-path", config.registryPath, "dockerbox-registry binary, or none (DOCKERBOX_REGISTRY_PATH)");
  app.add_option("--registry-user", config.registryUserName, "user the registry client runs as (DOCKERBOX_REGISTRY_USER)");
  app.add_option("--registry-socket", config.registrySocket,
                 "socket of a systemd-started registry client (DOCKERBOX_REGISTRY_SOCKET)");
  app.add_option("--proxy-path", config.proxyPath, "dockerbox-proxy binary, or none (DOCKERBOX_PROXY_PATH)");
  app.add_option("--proxy-user", config.proxyUserName, "user the port proxy runs as (DOCKERBOX_PROXY_USER)");
  app.add_option("--insecure-registries", insecure, "plain-HTTP registries, host[:port],... (DOCKERBOX_INSECURE_REGISTRIES)");
  app.add_option("--miniboxd-registries", miniboxdRegistries,
                 "registries miniboxd's Pull reaches (DOCKERBOX_MINIBOXD_REGISTRIES)");
  app.add_option("--state-dir", config.stateDir, "durable state (DOCKERBOX_STATE_DIR)");
  app.add_option("--run-dir", config.runDir, "runtime files: pinned bind mounts (DOCKERBOX_RUN_DIR)");
  app.add_option("--init-path", config.initPath, "dockerbox-init binary mounted into containers (DOCKERBOX_INIT_PATH)");
  app.add_option("--policy", config.policyPath, "policy file (DOCKERBOX_POLICY)");
  app.add_option("--audit-log", config.auditLogPath, "audit log (DOCKERBOX_AUDIT_LOG)");
  app.add_option("--max-connections-per-uid", maxConn, "open connections one uid may hold (DOCKERBOX_MAX_CONNECTIONS_PER_UID)");
  app.add_option("--log-level", config.logLevel, "trace|debug|info|warn|error (DOCKERBOX_LOG_LEVEL)");
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp&) {
    return fail(ErrorKind::BadRequest, app.help());
  } catch (const CLI::ParseError& e) {
    return fail(ErrorKind::BadRequest, std::string("bad command line: ") + e.what());
  }

  if (!group.empty()) config.socketGroupName = group;
  if (config.socketPath.empty() || config.socketPath.size() >= 108) {
    return fail(ErrorKind::BadRequest, "DOCKERBOX_SOCKET must be a path of 1..107 bytes");
  }
  if (config.miniboxSocket.size() >= 108) {
    return fail(ErrorKind::BadRequest, "MINIBOX_SOCKET_PATH must be shorter than 108 bytes");
  }
  auto mode = parseSocketMode(modeText);
  if (!mode) return mode.error();
  config.socketMode = *mode;
  if (config.socketGroupName) {
    auto gid = resolveGroup(*config.socketGroupName);
    if (!gid) return gid.error();
    config.socketGroup = *gid;
  }
  if (!maxConn.empty()) {
    if (maxConn.find_first_not_of("0123456789") != std::string::npos || maxConn.size() > 6 ||
        std::stoul(maxConn) == 0) {
      return fail(ErrorKind::BadRequest, "DOCKERBOX_MAX_CONNECTIONS_PER_UID must be 1..999999");
    }
    config.maxConnectionsPerUid = std::stoul(maxConn);
  }
  if (auto r = resolveFrontendUser(config); !r) return r.error();
  if (auto r = resolveEngineUser(config); !r) return r.error();
  if (config.frontendPath.empty()) config.frontendPath = defaultHelperPath(argv[0], "dockerbox-frontend", "frontend");
  if (config.enginePath.empty()) config.enginePath = defaultHelperPath(argv[0], "dockerbox-engine", "engine");
  if (config.registrySocket.size() >= 108) {
    return fail(ErrorKind::BadRequest, "DOCKERBOX_REGISTRY_SOCKET must be shorter than 108 bytes");
  }
  const bool explicitRegistry = !config.registryPath.empty();
  if (!config.registrySocket.empty()) {
    config.registryPath = "none";  // systemd starts the client, as its own user
  } else if (!explicitRegistry) {
    defaultOptionalHelper(config.registryPath, argv[0], "dockerbox-registry", "registry");
  }
  if (config.registrySocket.empty()) {
    HelperUser registry{"registry client", "DOCKERBOX_REGISTRY_USER", "dockerbox-registry", config.registryPath,
                        config.registryUserName, config.registryUid, config.registryGid};
    if (auto r = resolveHelperUser(config, registry, explicitRegistry, {}); !r) return r.error();
  }
  const bool explicitProxy = !config.proxyPath.empty();
  if (!explicitProxy) defaultOptionalHelper(config.proxyPath, argv[0], "dockerbox-proxy", "proxy");
  HelperUser proxy{"port proxy", "DOCKERBOX_PROXY_USER", "dockerbox-proxy", config.proxyPath, config.proxyUserName,
                   config.proxyUid, config.proxyGid};
  const bool registryUser = config.registrySocket.empty() && config.registryPath != "none";
  if (auto r = resolveHelperUser(config, proxy, explicitProxy,
                                 {{registryUser ? config.registryUid : 0, registryUser ? config.registryGid : 0,
                                   "registry client"}});
      !r) {
    return r.error();
  }
  config.insecureRegistries = splitList(insecure);
  config.miniboxdRegistries = splitList(miniboxdRegistries);
  if (config.stateDir.empty() || config.stateDir.front() != '/') {
    return fail(ErrorKind::BadRequest, "DOCKERBOX_STATE_DIR must be an absolute path");
  }
  if (config.initPath.empty()) config.initPath = defaultHelperPath(argv[0], "dockerbox-init", "init");
  if (config.runDir.empty() || config.runDir.front() != '/') {
    return fail(ErrorKind::BadRequest, "DOCKERBOX_RUN_DIR must be an absolute path");
  }
  return config;
}

namespace {
std::string joined(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& item : items) out += (out.empty() ? "" : ",") + item;
  return out.empty() ? "-" : out;
}
}  // namespace

std::vector<std::string> describe(const Config& c) {
  std::ostringstream mode;
  mode << "0" << std::oct << c.socketMode;
  return {
      "socket=" + c.socketPath + (c.socketActivated ? " (from systemd)" : ""),
      "socket_group=" + (c.socketGroupName ? *c.socketGroupName + " (gid " + std::to_string(*c.socketGroup) + ")" : std::string("(none: root only)")),
      "socket_mode=" + mode.str(),
      "minibox_socket=" + c.miniboxSocket,
      "frontend=" + c.frontendPath,
      "frontend_user=" + c.frontendUserName + " (uid " + std::to_string(c.frontendUid) + ", gid " + std::to_string(c.frontendGid) + ")",
      "engine=" + c.enginePath,
      "engine_user=" + c.engineUserName + " (uid " + std::to_string(c.engineUid) + ", gid " + std::to_string(c.engineGid) + ")",
      "registry=" + (!c.registrySocket.empty() ? "socket " + c.registrySocket
                     : c.registryPath + (c.registryPath == "none" ? " (pulls are miniboxd's alone)" : "")),
      "registry_user=" + (c.registryPath == "none" ? std::string("-") : c.registryUserName + " (uid " + std::to_string(c.registryUid) + ", gid " + std::to_string(c.registryGid) + ")"),
      "insecure_registries=" + joined(c.insecureRegistries),
      "miniboxd_registries=" + joined(c.miniboxdRegistries),
      "state_dir=" + c.stateDir,
      "run_dir=" + c.runDir,
      "init=" + c.initPath,
      "policy=" + c.policyPath,
      "audit_log=" + c.auditLogPath,
      "max_connections_per_uid=" + std::to_string(c.maxConnectionsPerUid),
      "log_level=" + c.logLevel,
  };
}

}  // namespace dockerbox::broker
