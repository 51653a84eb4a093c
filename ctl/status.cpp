// dockerboxctl status: what the running dockerboxd says of itself (<run dir>/status, see
// broker/status_file.hpp), checked against the system now: is that process alive, does the
// policy file still hold what was loaded, does miniboxd answer, where the audit chain stands.
// Runs by hand, usually as root. Input: the status file (believed only when root's alone),
// the policy file, the audit log's tail, miniboxd's reply to a probe.
#include "ctl/status.hpp"

#include "broker/audit/tail.hpp"
#include "broker/ids.hpp"
#include "broker/minibox/client.hpp"
#include "broker/status_file.hpp"
#include "common/syscall.hpp"
#include "common/unique_fd.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>
#include <string_view>

namespace dockerbox::ctl {
namespace {

// A status file is a few hundred bytes; this bounds what the reader takes in.
constexpr std::size_t kMaxStatusBytes = 256 * 1024;

std::optional<std::int64_t> number(std::string_view text) {
  std::int64_t value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return value;
}

}  // namespace

Result<broker::DaemonStatus> readStatusFile(const std::string& path) {
  auto fd = DOCKERBOX_SYSCALL(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW), "open " + path);
  if (!fd) return fail(ErrorKind::NotFound, "no status file at " + path, fd.error().context);
  UniqueFd file(*fd);
  struct stat st {};
  if (::fstat(file.get(), &st) != 0 || !S_ISREG(st.st_mode) || st.st_uid != 0 || (st.st_mode & 022) != 0) {
    return fail(ErrorKind::Forbidden, path + " is not a root-owned file only root can write: not believed");
  }
  std::string text;
  char buffer[4096];
  for (;;) {
    ssize_t n = ::read(file.get(), buffer, sizeof buffer);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return fail(ErrorKind::Internal, "cannot read " + path);
    if (n == 0) break;
    text.append(buffer, static_cast<std::size_t>(n));
    if (text.size() > kMaxStatusBytes) return fail(ErrorKind::BadRequest, path + " is too large to be a status file");
  }
  broker::DaemonStatus s;
  std::string_view rest = text;
  while (!rest.empty()) {
    auto end = rest.find('\n');
    if (end == std::string_view::npos) return fail(ErrorKind::BadRequest, path + ": unterminated last line");
    std::string_view line = rest.substr(0, end);
    rest.remove_prefix(end + 1);
    auto eq = line.find('=');
    if (eq == std::string_view::npos) return fail(ErrorKind::BadRequest, path + ": a line without '='");
    std::string_view key = line.substr(0, eq);
    std::string value(line.substr(eq + 1));
    auto asNumber = [&](std::int64_t& out) -> bool {
      auto n = number(value);
      if (n) out = *n;
      return n.has_value();
    };
    bool ok = true;
    std::int64_t pid = 0;
    if (key == "pid") {
      ok = asNumber(pid) && pid > 0;
      s.pid = static_cast<pid_t>(pid);
    } else if (key == "version") {
      s.version = value;
    } else if (key == "started_at") {
      ok = asNumber(s.startedAt);
    } else if (key == "socket") {
      s.socketPath = value;
    } else if (key == "socket_activated") {
      s.socketActivated = value == "yes";
    } else if (key == "minibox_socket") {
      s.miniboxSocket = value;
    } else if (key == "init") {
      s.initPath = value;
    } else if (key == "policy") {
      s.policyPath = value;
    } else if (key == "policy_valid") {
      s.policyValid = value == "yes";
    } else if (key == "policy_rule") {
      s.policyRules.push_back(value);
    } else if (key == "policy_loaded_at") {
      ok = asNumber(s.policyLoadedAt);
    } else if (key == "policy_sha256") {
      s.policySha256 = value;
    } else if (key == "policy_reload_error") {
      s.lastReloadError = value;
    } else if (key == "audit_log") {
      s.auditLogPath = value;
    }  // unknown keys: a newer daemon's; ignored
    if (!ok) return fail(ErrorKind::BadRequest, path + ": bad value for " + std::string(key));
  }
  if (s.pid == 0) return fail(ErrorKind::BadRequest, path + ": no pid");
  return s;
}


namespace {

std::string utc(std::int64_t unixSeconds) {
  if (unixSeconds <= 0) return "never";
  const auto t = static_cast<std::time_t>(unixSeconds);
  std::tm tm{};
  ::gmtime_r(&t, &tm);
  char out[32];
  std::strftime(out, sizeof out, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return out;
}

/// The process is alive and is a dockerboxd (not a pid reused by something else).
bool isDockerboxd(pid_t pid) {
  if (::kill(pid, 0) != 0 && errno != EPERM) return false;
  std::ifstream comm("/proc/" + std::to_string(pid) + "/comm");
  std::string name;
  std::getline(comm, name);
  return name == "dockerboxd";
}

std::optional<std::string> fileSha256(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::nullopt;
  std::ostringstream bytes;
  bytes << in.rdbuf();
  return broker::sha256Hex(bytes.str());
}

Result<broker::minibox::Protocol> probeMinibox(const std::string& socket) {
  boost::asio::io_context io;
  broker::minibox::Client client(io.get_executor(), socket);
  std::optional<Result<broker::minibox::Protocol>> out;
  boost::asio::co_spawn(
      io, [&]() -> boost::asio::awaitable<void> { out.emplace(co_await client.probe()); }, boost::asio::detached);
  io.run_for(std::chrono::seconds(10));
  if (!out) return fail(ErrorKind::Unavailable, "no answer within 10 s");
  return std::move(*out);
}

}  // namespace

int runStatus(int argc, char** argv) {
  // dockerboxctl status [--run-dir DIR]
  const char* fromEnv = std::getenv("DOCKERBOX_RUN_DIR");
  std::string runDir = fromEnv != nullptr && *fromEnv != '\0' ? fromEnv : "/run/dockerbox";
  for (int i = 1; i < argc; ++i) {
    std::string_view arg = argv[i];
    if (arg == "--run-dir" && i + 1 < argc) {
      runDir = argv[++i];
    } else {
      std::fprintf(stderr, "usage: dockerboxctl status [--run-dir DIR]\n");
      return kStatusUsage;
    }
  }
  const std::string path = broker::statusFilePath(runDir);
  auto status = readStatusFile(path);
  if (!status) {
    if (status.error().kind == ErrorKind::NotFound) {
      std::printf("dockerboxd: not running (no %s)\n", path.c_str());
      return kStatusNotRunning;
    }
    std::printf("dockerboxd: unknown: %s\n", status.error().message.c_str());
    return kStatusProblem;
  }
  const auto& s = *status;
  if (!isDockerboxd(s.pid)) {
    std::printf("dockerboxd: not running (%s names pid %d, which is gone)\n", path.c_str(), s.pid);
    return kStatusNotRunning;
  }
  bool healthy = true;
  std::printf("dockerboxd: running, pid %d, version %s, since %s\n", s.pid, s.version.c_str(),
              utc(s.startedAt).c_str());
  std::printf("socket: %s%s\n", s.socketPath.c_str(), s.socketActivated ? " (from systemd)" : "");

  if (!s.policyValid) {
    healthy = false;
    std::printf("policy: %s: none in force, every request is denied\n", s.policyPath.c_str());
  } else {
    std::string rules;
    for (const auto& r : s.policyRules) rules += (rules.empty() ? "" : ", ") + r;
    std::printf("policy: %s, %zu rule%s (%s), loaded %s\n", s.policyPath.c_str(), s.policyRules.size(),
                s.policyRules.size() == 1 ? "" : "s", rules.c_str(), utc(s.policyLoadedAt).c_str());
    auto now = fileSha256(s.policyPath);
    if (!now) {
      std::printf("  the file cannot be read now; the policy above stays in force\n");
    } else if (*now != s.policySha256) {
      std::printf("  the file changed since: check it (dockerboxctl check-policy %s), then reload (SIGHUP)\n",
                  s.policyPath.c_str());
    }
  }
  if (!s.lastReloadError.empty()) {
    std::printf("  the last reload failed (the policy above stays in force): %s\n", s.lastReloadError.c_str());
  }

  auto protocol = probeMinibox(s.miniboxSocket);
  if (protocol) {
    std::printf("miniboxd: %s reachable, protocol %s\n", s.miniboxSocket.c_str(),
                *protocol == broker::minibox::Protocol::Head ? "head" : "v0.19");
  } else {
    healthy = false;
    std::printf("miniboxd: %s unreachable: %s\n", s.miniboxSocket.c_str(), protocol.error().message.c_str());
  }

  if (s.initPath.empty()) {
    std::printf("confinement: unavailable (no trusted dockerbox-init): only privileged rules may run containers\n");
  } else {
    std::printf("confinement: available (dockerbox-init %s)\n", s.initPath.c_str());
  }

  auto tail = broker::audit::readTail(s.auditLogPath);
  if (!tail) {
    healthy = false;
    std::printf("audit: %s: %s\n", s.auditLogPath.c_str(), tail.error().message.c_str());
  } else if (!tail->lastGood) {
    std::printf("audit: %s: no record yet\n", s.auditLogPath.c_str());
  } else {
    std::printf("audit: %s, head seq %llu hash %s%s\n", s.auditLogPath.c_str(),
                static_cast<unsigned long long>(tail->lastGood->seq), tail->lastGood->hash.c_str(),
                tail->lastLineGood ? "" : " (the file ends with a damaged line; dockerboxctl audit-verify it)");
  }
  return healthy ? 0 : kStatusProblem;
}
}  // namespace dockerbox::ctl
