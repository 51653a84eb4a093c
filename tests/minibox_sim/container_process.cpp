// minibox-sim, miniboxd process model: clone of the container init, in upstream's order (process.rs
// child_init). Runs as root. Between clone and execve the child is single-threaded and allocates
// nothing: argv, envp and every path are prepared before.
#include "tests/minibox_sim/container_process.hpp"

#include "common/syscall.hpp"
#include "common/unique_fd.hpp"
#include "tests/minibox_sim/container_fs.hpp"

#include <fcntl.h>
#include <linux/capability.h>
#include <linux/close_range.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <csignal>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <filesystem>

namespace dockerbox::sim {
namespace {

/// NamespaceConfig::all(): no user namespace and no cgroup namespace, as upstream.
constexpr unsigned long kNamespaces =
    CLONE_NEWPID | CLONE_NEWNS | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWNET;

struct Prepared {
  std::vector<char*> argv;
  std::vector<char*> envp;
  MountPlan plan;
};

/// clone(2) without CLONE_VM and without a new stack behaves like fork(): the child runs on a copy
/// of this stack. Returns 0 in the child, as fork() does.
long cloneLikeFork(unsigned long flags) {
  return ::syscall(SYS_clone, flags | SIGCHLD, nullptr, nullptr, nullptr, nullptr);
}

/// apply_privileged_capabilities: everything except CAP_SYS_MODULE (16), CAP_SYS_BOOT (22),
/// CAP_MAC_OVERRIDE (32) and CAP_MAC_ADMIN (33), in all three sets. On a host whose bounding set
/// lacks one of the rest, the kernel refuses it (EPERM) just as it would refuse upstream, and the
/// container exits 127.
void applyPrivilegedCapabilities(int statusFd) {
  constexpr std::uint32_t kLow = ~(1U << 16U) & ~(1U << 22U);
  constexpr std::uint32_t kHigh = 0x1FFU & ~0x3U;
  __user_cap_header_struct header{_LINUX_CAPABILITY_VERSION_3, 0};
  std::array<__user_cap_data_struct, 2> data{{{kLow, kLow, kLow}, {kHigh, kHigh, kHigh}}};
  if (::syscall(SYS_capset, &header, data.data()) != 0)
    child::setupFailed(statusFd, "capset", "", errno);
}

/// close_extra_fds: close_range(3, ~0) in upstream. The CLOEXEC status pipe is spared so the parent
/// still learns when execve happens; it closes there.
void closeExtraFds(int statusFd) {
  if (statusFd > 3) ::syscall(SYS_close_range, 3U, static_cast<unsigned>(statusFd - 1), 0U);
  ::syscall(SYS_close_range, static_cast<unsigned>(statusFd + 1), ~0U, 0U);
}

[[noreturn]] void containerMain(const SpawnSpec& spec, const Prepared& p, int statusFd) {
  // Every signal was blocked across clone (see cloneContainerProcess).
  child::resetSignals();
  // Upstream wires the output pipe in its clone closure, before child_init.
  if (::dup2(spec.stdinFd, STDIN_FILENO) < 0 || ::dup2(spec.stdoutFd, STDOUT_FILENO) < 0 ||
      ::dup2(spec.stderrFd, STDERR_FILENO) < 0) {
    child::report(statusFd, ChildStep::Dup2, errno);
  }
  // Not upstream: a container must not outlive the simulator (test hygiene). SIGKILL from the
  // parent's namespace reaches a pid-namespace init even without a handler, and the kernel then
  // kills the whole namespace.
  ::prctl(PR_SET_PDEATHSIG, SIGKILL);
  // 1. hostname, in the new UTS namespace.
  if (::sethostname(spec.hostname.data(), spec.hostname.size()) != 0)
    child::setupFailed(statusFd, "sethostname ", spec.hostname.c_str(), errno);
  // 2. Upstream joins the container cgroup here; limits are not simulated.
  // 3. Bind mounts into the overlay, in this new mount namespace, before pivot_root.
  child::applyBindMounts(p.plan, statusFd);
  // 4. pivot_root into the overlay, with proc, sysfs and the host's devtmpfs.
  child::pivotRootTo(p.plan.pivot, statusFd);
  // 5. privileged: capset with the upstream whitelist (fewer capabilities than without!).
  if (spec.miniboxd->privileged) applyPrivilegedCapabilities(statusFd);
  // 6. setsid: the init leads its own process group, so Stop's kill(-pid) reaches it all.
  ::setsid();
  // 7. close fds > 2, then execve without a PATH search. No uid change, no capability drop, no
  // no_new_privs, no seccomp, no rlimits: the process is host root.
  closeExtraFds(statusFd);
  ::execve(p.argv[0], p.argv.data(), p.envp.data());
  ::_exit(127);  // upstream: child_init's error ends in _exit(127); the client
                 // sees 127
}

}  // namespace

Result<Forked> cloneContainerProcess(const SpawnSpec& spec) {
  Prepared p;
  for (const auto& a : spec.argv) p.argv.push_back(const_cast<char*>(a.c_str()));
  p.argv.push_back(nullptr);
  for (const auto& e : spec.env) p.envp.push_back(const_cast<char*>(e.c_str()));
  p.envp.push_back(nullptr);
  p.plan = planMounts(*spec.miniboxd);
  unsigned long flags = kNamespaces;
  if (!spec.miniboxd->newNetwork) flags &= ~static_cast<unsigned long>(CLONE_NEWNET);

  std::array<int, 2> fds{};
  auto rc = DOCKERBOX_SYSCALL(::pipe2(fds.data(), O_CLOEXEC), "pipe2 status");
  if (!rc) return fail(ErrorKind::Internal, rc.error().context);
  UniqueFd statusRead(fds[0]);
  UniqueFd statusWrite(fds[1]);
  // As forkProcess: no simulator signal handler may run in the child before it resets them.
  sigset_t all;
  sigset_t previous;
  sigfillset(&all);
  sigprocmask(SIG_SETMASK, &all, &previous);
  long pid = cloneLikeFork(flags);
  if (pid == 0) containerMain(spec, p, statusWrite.get());
  int err = errno;
  sigprocmask(SIG_SETMASK, &previous, nullptr);
  if (pid < 0) {
    return fail(ErrorKind::Internal, std::string("clone: ") + std::strerror(err) + " (os error " +
                                         std::to_string(err) + ")");
  }
  return Forked{static_cast<pid_t>(pid), std::move(statusRead)};
}

Result<void> probeNamespaces() {
  static constexpr std::array<const char*, 6> kSteps = {
      "clone(CLONE_NEWPID|CLONE_NEWNS|CLONE_NEWUTS|CLONE_NEWIPC|CLONE_NEWNET)",
      "mount --make-rprivate /",
      "mount proc",
      "mount sysfs",
      "mount devtmpfs",
      "sethostname"};
  std::error_code ec;
  std::string dir =
      (std::filesystem::temp_directory_path(ec) / "minibox-sim-probe-XXXXXX").string();
  if (::mkdtemp(dir.data()) == nullptr) {
    return fail(ErrorKind::Internal, "mkdtemp " + dir + ": " + std::strerror(errno));
  }
  std::array<int, 2> fds{};
  if (::pipe2(fds.data(), O_CLOEXEC) != 0) {
    ::rmdir(dir.c_str());
    return fail(ErrorKind::Internal, std::string("pipe2: ") + std::strerror(errno));
  }
  UniqueFd statusRead(fds[0]);
  UniqueFd statusWrite(fds[1]);
  long pid = cloneLikeFork(kNamespaces);
  if (pid == 0) {
    // Everything happens in the probe's own mount namespace and vanishes with it.
    auto step = [&](int index, int result) {
      if (result == 0) return;
      std::array<int, 2> record{index, errno};
      child::writeAll(statusWrite.get(), reinterpret_cast<const char*>(record.data()),
                      sizeof record);
      ::_exit(1);
    };
    step(1, ::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr));
    step(2, ::mount("proc", dir.c_str(), "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, nullptr));
    ::umount2(dir.c_str(), MNT_DETACH);
    step(3, ::mount("sysfs", dir.c_str(), "sysfs", MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC,
                    nullptr));
    ::umount2(dir.c_str(), MNT_DETACH);
    step(4, ::mount("devtmpfs", dir.c_str(), "devtmpfs", MS_NOSUID | MS_NOEXEC, nullptr));
    ::umount2(dir.c_str(), MNT_DETACH);
    step(5, ::sethostname("minibox-probe", 13));
    ::_exit(0);
  }
  std::array<int, 2> record{0, errno};
  statusWrite.reset();
  if (pid > 0) {
    int status = 0;
    while (::waitpid(static_cast<pid_t>(pid), &status, 0) < 0 && errno == EINTR) {
    }
    ssize_t n = ::read(statusRead.get(), record.data(), sizeof record);
    if (n != static_cast<ssize_t>(sizeof record) && WIFEXITED(status) && WEXITSTATUS(status) == 0) {
      ::rmdir(dir.c_str());
      return {};
    }
    if (n != static_cast<ssize_t>(sizeof record)) record = {0, ECHILD};
  }
  ::rmdir(dir.c_str());
  auto index = static_cast<std::size_t>(record[0]);
  return fail(ErrorKind::Internal, std::string("cannot create miniboxd-style containers: ") +
                                       kSteps[index < kSteps.size() ? index : 0] + ": " +
                                       std::strerror(record[1]));
}

}  // namespace dockerbox::sim
