// Runs in: dockerbox-engine at start-up, as root, before it reads a byte from the monitor.
// After enterSandbox() returns, the engine holds no capability, no root id, no host file
// but its own state directory, no network and no way to reach miniboxd (its socket is out
// of the mount namespace; abstract sockets are scoped by the network namespace; `socket`
// is refused), so it cannot do root's work even when compromised (issue 9).
#include "engine/sandbox.hpp"

#include "common/confine.hpp"
#include "common/deny_filter.hpp"
#include "common/syscall.hpp"

#include <sched.h>
#include <unistd.h>

namespace dockerbox::engine {

Result<void> enterSandbox(const SandboxConfig& config) {
  if (config.uid == 0 || config.gid == 0) return fail(ErrorKind::Internal, "refusing to run the engine as root");
  if (config.dataDir.empty() || config.dataDir.front() != '/') {
    return fail(ErrorKind::Internal, "the engine's state directory must be an absolute path");
  }
  const pid_t parent = ::getppid();
  // 1.-3. Lazy libc loads done, only stderr and the channels open, no_new_privs.
  if (auto ok = confine::beginSandbox(config.keepFds); !ok) return ok;
  // 4. Own mount, network and IPC namespaces: no host path, no network, no abstract socket.
  if (auto rc = DOCKERBOX_SYSCALL(::unshare(CLONE_NEWNS | CLONE_NEWNET | CLONE_NEWIPC), "unshare(NEWNS|NEWNET|NEWIPC)");
      !rc) return rc.error();
  // 5. A read-only empty root holding the state directory alone.
  const confine::Bind binds[] = {{config.dataDir, std::string(kSandboxDataDir + 1)}};
  if (auto ok = confine::enterEmptyRoot(binds); !ok) return ok;
  // 6.-10. No bounding set, the engine's ids, death with the monitor, no capability left;
  //        read back, abort on any surprise.
  if (auto ok = confine::becomeUnprivileged("dockerbox-engine", config.uid, config.gid, parent); !ok) return ok;
  // 11. The filter last: it refuses calls the steps above needed.
  return confine::loadDenyFilter({});
}

}  // namespace dockerbox::engine
