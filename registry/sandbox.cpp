// Runs in: dockerbox-registry at start-up, as root. After enterSandbox() returns, the
// process holds no capability, no root id and no host file: a registry that exploits a
// parser bug gets a process that can open connections and nothing else (issue 10).
#include "registry/sandbox.hpp"

#include "common/deny_filter.hpp"
#include "common/syscall.hpp"
#include "common/unique_fd.hpp"

#include <fcntl.h>
#include <sched.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace dockerbox::registry {
namespace {

constexpr std::size_t kMaxResolverFile = 64 << 10;

/// A host file's contents (at most 64 KiB), or empty when it does not exist.
Result<std::string> readSmallFile(const char* path) {
  const int fd = ::open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) return std::string();
    return fail(ErrorKind::Internal, std::string("cannot read ") + path, std::strerror(errno));
  }
  UniqueFd owned(fd);
  std::string out;
  char buffer[4096];
  while (true) {
    auto n = DOCKERBOX_SYSCALL(::read(fd, buffer, sizeof buffer), std::string("read ") + path);
    if (!n) return n.error();
    if (*n == 0) break;
    out.append(buffer, static_cast<std::size_t>(*n));
    if (out.size() > kMaxResolverFile) return fail(ErrorKind::Internal, std::string(path) + " is larger than 64 KiB");
  }
  return out;
}

}  // namespace

Result<std::vector<confine::File>> resolverFiles() {
  std::vector<confine::File> files;
  for (const char* path : {"/etc/resolv.conf", "/etc/hosts"}) {
    auto contents = readSmallFile(path);
    if (!contents) return contents.error();
    files.push_back({std::string(path + 1), std::move(*contents)});
  }
  files.push_back({"etc/nsswitch.conf", "hosts: files dns\n"});
  return files;
}

Result<void> enterSandbox(const SandboxConfig& config) {
  if (config.uid == 0 || config.gid == 0) return fail(ErrorKind::Internal, "refusing to run the registry client as root");
  auto files = resolverFiles();
  if (!files) return files.error();
  const pid_t parent = ::getppid();
  if (auto ok = confine::beginSandbox(config.keepFds); !ok) return ok;
  if (auto rc = DOCKERBOX_SYSCALL(::unshare(CLONE_NEWNS | CLONE_NEWIPC), "unshare(NEWNS|NEWIPC)"); !rc) {
    return rc.error();
  }
  if (auto ok = confine::enterEmptyRoot({}, *files); !ok) return ok;
  if (auto ok = confine::becomeUnprivileged("dockerbox-registry", config.uid, config.gid, parent); !ok) return ok;
  return confine::loadDenyFilter({.networkClient = true});
}

}  // namespace dockerbox::registry
