// Runs in: dockerbox-proxy at start-up, as root, before it reads a byte from the monitor,
// a container or a client. After enterSandbox() returns, the process holds no capability,
// no root id, no host file and no network of its own: a client or a container that takes
// it over through the relay gets the sockets it already had and nothing else. It cannot
// open a socket anywhere (socket() is refused), bind or listen on one, or reach miniboxd
// (its socket is out of the mount namespace; abstract sockets are scoped by the network
// namespace).
#include "proxy/sandbox.hpp"

#include "common/confine.hpp"
#include "common/deny_filter.hpp"
#include "common/syscall.hpp"

#include <sched.h>
#include <seccomp.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>

namespace dockerbox::proxy {
namespace {

struct ContextDeleter {
  void operator()(scmp_filter_ctx ctx) const { seccomp_release(ctx); }
};

/// The proxy's own additions to the helpers' deny-list (stacked on it: the kernel applies
/// the stricter answer). A received socket could otherwise be bound or made to listen in
/// the container's network namespace, or a host one re-bound.
Result<void> loadProxyFilter() {
  std::unique_ptr<void, ContextDeleter> ctx(seccomp_init(SCMP_ACT_ALLOW));
  if (!ctx) return fail(ErrorKind::Internal, "seccomp filter setup failed", "seccomp_init");
  for (const char* name : {"bind", "listen"}) {
    const int nr = seccomp_syscall_resolve_name(name);
    if (nr == __NR_SCMP_ERROR) continue;
    if (int rc = seccomp_rule_add(ctx.get(), SCMP_ACT_ERRNO(EPERM), nr, 0); rc != 0) {
      return fail(ErrorKind::Internal, "seccomp filter setup failed", std::string("deny ") + name + ": " + std::strerror(-rc));
    }
  }
  if (int rc = seccomp_load(ctx.get()); rc != 0) {
    return fail(ErrorKind::Internal, "seccomp filter setup failed", std::string("seccomp_load: ") + std::strerror(-rc));
  }
  return {};
}

}  // namespace

Result<void> enterSandbox(const SandboxConfig& config) {
  if (config.uid == 0 || config.gid == 0) return fail(ErrorKind::Internal, "refusing to run the port proxy as root");
  const pid_t parent = ::getppid();
  // 1.-3. Lazy libc loads done, only stderr and the channel open, no_new_privs.
  if (auto ok = confine::beginSandbox(config.keepFds); !ok) return ok;
  // 4. Own mount, network and IPC namespaces: no host path, no network, no abstract socket.
  //    Sockets handed in keep the namespace they were made in.
  if (auto rc = DOCKERBOX_SYSCALL(::unshare(CLONE_NEWNS | CLONE_NEWNET | CLONE_NEWIPC), "unshare(NEWNS|NEWNET|NEWIPC)");
      !rc) return rc.error();
  // 5. A read-only empty root: the proxy opens no file.
  if (auto ok = confine::enterEmptyRoot({}); !ok) return ok;
  // 6.-10. No bounding set, the proxy's ids, death with the monitor, no capability left;
  //        read back, abort on any surprise.
  if (auto ok = confine::becomeUnprivileged("dockerbox-proxy", config.uid, config.gid, parent); !ok) return ok;
  // 11. The filters last: they refuse calls the steps above needed.
  if (auto ok = confine::loadDenyFilter({}); !ok) return ok;
  if (auto ok = loadProxyFilter(); !ok) return ok;
  // 12. Read back: both filters are on (mode 2), and no_new_privs still holds.
  if (::prctl(PR_GET_SECCOMP, 0, 0, 0, 0) != 2 || ::prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) != 1) {
    std::fprintf(stderr, "dockerbox-proxy: sandbox check failed: seccomp filter mode\n");
    std::fflush(stderr);
    std::abort();
  }
  return {};
}

}  // namespace dockerbox::proxy
