// The confinement dockerbox-init applies, and how it travels from the broker to the init.
// Pure: no I/O. Linked by the broker (which encodes) and by dockerbox-init (which parses).
//
// Trust: the arguments are written by the broker (root) into the miniboxd Run/Exec request;
// the init trusts them as the broker's decision. They still go through one strict parser
// (parseInitArgs, fuzzed) so a malformed list fails closed instead of half-applying.
//
// Wire format (the init's argv after argv[0], every element one record):
//   "dockerbox-init/1"           version marker, always first
//   "<key>=<value>"              zero or more records, keys below; list keys repeat
//   "--"                         end of records
//   "<arg0>" "<arg1>" ...        the user's command (at least one element)
// Keys: mode (run|exec), user (text, may be empty), user-check (any|not-root), cwd (absolute
// path, may be empty), hostname, caps (16 lowercase hex digits), seccomp (default|unconfined),
// rootfs (rw|ro), bind ("rw:<abs path>" or "ro:<abs path>", repeated), rlimit
// ("<name>:<soft>:<hard>", name as in `ulimit` of Docker: nofile, nproc, core, ..., values
// decimal or "unlimited", repeated), rlimit-raise (refuse|allow), env ("K=V", repeated),
// tty (yes|no), stdin (path of a FIFO), control (path of a FIFO; only with tty=yes), stdout
// and stderr (paths of FIFOs; never with tty=yes), unmount (path of a mount to detach; Run
// only), timeout (milliseconds, 1..kMaxTimeoutMs; Exec without a tty only), fill (a
// writable bind's path; Run only), tmpfs ("<options>:<abs path>"; Run only), ports (the
// port channel's listener: an absolute path inside the unmount directory; Run only). The
// paths have no ".", ".." or empty components and are never "/"; the FIFOs' are absolute
// with mode=run and relative (to the run's directory pid 1 holds, kHeldIoDirFd) with
// mode=exec.
// Unknown keys, a repeated non-list key, a missing "--" or an empty command are errors.
#pragma once

#include "common/result.hpp"

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace dockerbox::init {

inline constexpr std::string_view kVersionMarker = "dockerbox-init/1";

/// Where the broker asks miniboxd to mount the installed init binary (read-only) inside
/// every container, and so the program miniboxd runs for a Run and an Exec.
inline constexpr std::string_view kInitPathInContainer = "/.dockerbox-init";

/// Pid 1 of a run with FIFOs keeps their directory open at this fd (O_PATH, CLOEXEC; the
/// mount itself is detached) for the execs of the container: an exec's init, still root
/// with every capability, reaches it through /proc/1/fd/<this>, where each exec's FIFOs are
/// waiting in a subdirectory. The program cannot: pid 1 is not dumpable, so its fds are
/// closed to anyone without CAP_SYS_PTRACE.
inline constexpr int kHeldIoDirFd = 100;

/// Docker's default capability set (moby oci/caps/defaults.go): CHOWN, DAC_OVERRIDE,
/// FSETID, FOWNER, MKNOD, NET_RAW, SETGID, SETUID, SETFCAP, SETPCAP, NET_BIND_SERVICE,
/// SYS_CHROOT, KILL, AUDIT_WRITE.
inline constexpr std::uint64_t kDockerDefaultCaps = 0x00000000a80425fbULL;

/// The environment miniboxd gives a Run (protocol 7.1), used when nothing else sets PATH.
inline constexpr std::string_view kDefaultPathEnv =
    "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// Run: the init is pid 1 of a new container: it sets up /dev, /proc, /sys, binds, rootfs,
/// hostname, then forks the user's program and stays as a reaper that forwards signals.
/// Exec: it joined an existing container (through nsenter): no mounts; it confines itself
/// and execs the program, or with tty=yes forks it onto a new pty and relays as pid 1 does.
enum class Mode { Run, Exec };
/// Refuse to run the program when `user` resolves to uid 0 or gid 0 (the policy allowed
/// a named user but not root, and only the image's /etc/passwd knows what a name means).
enum class UserCheck { Any, NotRoot };
enum class Seccomp { Default, Unconfined };
enum class RootFs { ReadWrite, ReadOnly };
enum class BindAccess { ReadWrite, ReadOnly };
/// Whether a requested rlimit may exceed the hard limit the init inherited from miniboxd.
enum class RlimitRaise { Refuse, Allow };
/// Docker's Tty: the program's stdin, stdout and stderr are the slave of a new pty, which
/// pid 1 relays (run -t).
enum class Tty { No, Yes };

/// A window-size record on the `control` FIFO: exactly this many bytes, the rows then the
/// columns, each a uint16 in host byte order, written with one write(2) (so atomically:
/// it is below PIPE_BUF). A record with 0 rows or 0 columns is ignored.
inline constexpr std::size_t kWindowSizeRecordSize = 4;

struct Bind {
  BindAccess access = BindAccess::ReadOnly;
  std::string containerPath;  // absolute, as miniboxd mounted it
};

/// A tmpfs the init mounts (Run only), always nosuid,nodev; noexec unless `exec`. The
/// numbers are decimal text as the kernel's tmpfs takes them (mode octal), empty when unset.
struct Tmpfs {
  std::string path;  // absolute and clean; made (as root, inside the container) when missing
  std::string size, mode, uid, gid, nrInodes;
  bool exec = false;
  bool readOnly = false;
  bool operator==(const Tmpfs&) const = default;
};

/// "size=65536,mode=1777,exec,ro" and so on: the options of a tmpfs record, in this order.
[[nodiscard]] std::string tmpfsOptionsText(const Tmpfs& tmpfs);

struct Rlimit {
  std::string name;           // "nofile", "nproc", ... (Docker's names)
  std::uint64_t soft = 0;     // RLIM_INFINITY for "unlimited"
  std::uint64_t hard = 0;
};

struct InitConfig {
  Mode mode = Mode::Run;
  /// The program and its arguments. argv[0] without '/' is searched in the PATH of `env`
  /// (execvp semantics) inside the container.
  std::vector<std::string> argv;
  /// The program's complete environment ("K=V"); HOME is added from the user's passwd
  /// entry when absent, PATH from kDefaultPathEnv when absent.
  std::vector<std::string> env;
  /// Docker's User: "", "name", "uid", "name:group", "uid:gid", "name:gid", "uid:group".
  /// "" means root (0:0). Names are resolved in the container's /etc/passwd and /etc/group.
  std::string user;
  UserCheck userCheck = UserCheck::Any;
  /// Working directory inside the container; "" means "/". Created when missing (Run) as
  /// Docker does.
  std::string workingDir;
  /// Run only: "" keeps the UTS name miniboxd set.
  std::string hostname;
  /// The bounding set; for uid 0 also permitted and effective. Non-root users end with
  /// empty permitted/effective sets (Docker's behaviour). Inheritable and ambient: empty.
  std::uint64_t capabilities = kDockerDefaultCaps;
  Seccomp seccomp = Seccomp::Default;
  RootFs rootfs = RootFs::ReadWrite;  // Run only
  std::vector<Bind> binds;            // Run only: each remounted nosuid,nodev (and ro)
  /// Run only: writable binds that are dockerbox volumes, filled from the image's files at
  /// their path when empty (volume_fill.hpp). Each is also in `binds`.
  std::vector<std::string> fillPaths;
  std::vector<Tmpfs> tmpfs;  // Run only
  std::vector<Rlimit> rlimits;
  RlimitRaise rlimitRaise = RlimitRaise::Refuse;
  /// The broker binds a directory holding a Run's FIFOs below into the container (it keeps
  /// their other ends); pid 1 opens them as root, then detaches `unmountPath` before any
  /// user code runs, so the program never sees them. An Exec's FIFOs are in a subdirectory
  /// of that directory, which pid 1 holds (kHeldIoDirFd).
  Tty tty = Tty::No;
  /// "" keeps the stdin miniboxd gave; else the FIFO the program's input is read from:
  /// its fd 0 without a tty, relayed into the pty by pid 1 with one.
  std::string stdinPath;
  /// tty=yes only; "" for none. The FIFO of window-size records (kWindowSizeRecordSize)
  /// pid 1 applies to the pty; until the first one the pty has no size (0x0).
  std::string controlPath;
  /// tty=no only; "" keeps the stdout and stderr miniboxd gave (one pipe, protocol 8.5);
  /// else the FIFOs the program's fds 1 and 2 write to, which the broker reads (both the
  /// same way, so that their order is kept as well as two pipes keep it).
  std::string stdoutPath;
  std::string stderrPath;
  /// "" for none; else the mount (the FIFOs' directory) detached after they are opened.
  std::string unmountPath;
  /// Run with published ports only; "" for none. A listening Unix stream socket the broker
  /// made beneath unmountPath before the Run: pid 1 connects to it before the mount is
  /// detached and serves the port proxy's requests for sockets of the container's network
  /// namespace over that connection (port_channel.hpp).
  std::string portsPath;
  /// Exec without a tty only (a health check's): the init stays as the program's reaper and
  /// kills its process group with SIGKILL after this many milliseconds; 0: never.
  std::uint32_t timeoutMs = 0;
};

/// The longest `timeout` record (about 24 days).
inline constexpr std::uint32_t kMaxTimeoutMs = 2'147'483'647;

/// The records for `config`, to follow the init's path in the command miniboxd runs.
/// Fails (BadRequest) on what the parser would refuse: NUL bytes, relative paths, an
/// empty argv, an unknown rlimit name, an env entry without '='.
[[nodiscard]] Result<std::vector<std::string>> encodeInitArgs(const InitConfig& config);

/// Parses the init's argv after argv[0]. Strict: every record is checked, nothing is
/// defaulted silently except what the struct's defaults say.
[[nodiscard]] Result<InitConfig> parseInitArgs(std::span<const std::string_view> args);

/// Docker's rlimit names and their RLIMIT_* numbers; -1 for an unknown name.
[[nodiscard]] int rlimitResource(std::string_view name);

}  // namespace dockerbox::init
