#include "broker/status_file.hpp"

#include "common/syscall.hpp"
#include "common/unique_fd.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <string_view>

namespace dockerbox::broker {
namespace {

std::string oneLine(std::string_view value) {
  std::string out(value);
  for (char& c : out) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) c = '?';
  }
  return out;
}

}  // namespace

std::string statusFilePath(const std::string& runDir) { return runDir + "/status"; }

Result<void> writeStatusFile(const std::string& path, const DaemonStatus& s) {
  std::string text;
  auto put = [&text](std::string_view key, std::string_view value) {
    text.append(key).append("=").append(oneLine(value)).append("\n");
  };
  put("pid", std::to_string(s.pid));
  put("version", s.version);
  put("started_at", std::to_string(s.startedAt));
  put("socket", s.socketPath);
  put("socket_activated", s.socketActivated ? "yes" : "no");
  put("minibox_socket", s.miniboxSocket);
  put("init", s.initPath);
  put("policy", s.policyPath);
  put("policy_valid", s.policyValid ? "yes" : "no");
  for (const auto& rule : s.policyRules) put("policy_rule", rule);
  put("policy_loaded_at", std::to_string(s.policyLoadedAt));
  put("policy_sha256", s.policySha256);
  put("policy_reload_error", s.lastReloadError);
  put("audit_log", s.auditLogPath);

  const std::string tmp = path + ".new";
  ::unlink(tmp.c_str());
  auto fd = DOCKERBOX_SYSCALL(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0644),
                              "open " + tmp);
  if (!fd) return fd.error();
  UniqueFd file(*fd);
  if (::fchmod(file.get(), 0644) != 0) return fail(ErrorKind::Internal, "cannot write the status file", "fchmod " + tmp);
  std::string_view rest = text;
  while (!rest.empty()) {
    ssize_t n = ::write(file.get(), rest.data(), rest.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return fail(ErrorKind::Internal, "cannot write the status file", "write " + tmp);
    rest.remove_prefix(static_cast<std::size_t>(n));
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    ::unlink(tmp.c_str());
    return fail(ErrorKind::Internal, "cannot write the status file", "rename to " + path);
  }
  return {};
}

}  // namespace dockerbox::broker
