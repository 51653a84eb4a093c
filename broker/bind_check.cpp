// Runs as root. Input: client-chosen bind source paths and kernel-attested identities.
//
// checkBindSource forks one child per source. The child resolves the path as root (as the
// mount will), then becomes the caller (groups, gid, uid, in that order, each checked) and
// asks the kernel whether the caller may access the resolved path. It reports through a
// pipe; the parent reads with a deadline and kills the child if it runs out.
// Between fork and _exit the child may only make async-signal-safe calls (the broker has
// other threads whose locks may be held at fork): everything it needs is prepared first.
#include "broker/bind_check.hpp"

#include "broker/child_probe.hpp"

#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <climits>
#include <cstddef>

namespace dockerbox::broker {

namespace {

using asyncsafe::finish;
using asyncsafe::sameObject;

// The child's one-byte verdict, followed by the resolved path for Access and NoAccess.
constexpr char kUnresolved = 'U';
constexpr char kNoAccess = 'N';
constexpr char kAccess = 'A';

struct ChildInput {
  const char* path;
  CallerIds caller;
  MountAccess access;
  int mountView;  // pidfd of miniboxd, or -1
};

// "/proc/self/fd/<fd>" without snprintf (not async-signal-safe).
void fdLinkPath(int fd, std::array<char, 32>& buf) {
  constexpr char kPrefix[] = "/proc/self/fd/";
  std::size_t i = 0;
  for (; kPrefix[i] != '\0'; ++i) buf[i] = kPrefix[i];
  std::array<char, 12> digits{};
  std::size_t n = 0;
  do {
    digits[n++] = static_cast<char>('0' + fd % 10);
    fd /= 10;
  } while (fd > 0 && n < digits.size());
  while (n > 0) buf[i++] = digits[--n];
  buf[i] = '\0';
}

// Async-signal-safe: runs in the forked child (child_probe.hpp).
[[noreturn]] void childMain(const void* raw, int out) {
  const auto& in = *static_cast<const ChildInput*>(raw);
  // 0. miniboxd's view of the file system when the broker has another one.
  if (in.mountView >= 0 && !asyncsafe::joinMountNamespace(in.mountView)) finish(out, kUnresolved);
  // 1. Resolve as root, following symlinks the way the mount will. Magic links
  //    (/proc/<pid>/root, /proc/<pid>/fd/N) are refused: they lead outside our view of the
  //    file system and their readlink text does not name what they point to.
  int fd = asyncsafe::openPath(in.path, RESOLVE_NO_MAGICLINKS);
  if (fd < 0) finish(out, kUnresolved);
  struct stat st {};
  if (::fstat(fd, &st) != 0) finish(out, kUnresolved);
  std::array<char, 32> link{};
  fdLinkPath(fd, link);
  std::array<char, PATH_MAX> resolved{};
  ssize_t n = ::readlink(link.data(), resolved.data(), resolved.size() - 1);
  // n == size - 1 may be a truncated name.
  if (n <= 0 || static_cast<std::size_t>(n) >= resolved.size() - 1 || resolved[0] != '/') finish(out, kUnresolved);
  const auto length = static_cast<std::size_t>(n);
  resolved[length] = '\0';
  // 2. The text must name the same object with no symlink left in it. This refuses
  //    "... (deleted)" names, paths from another mount namespace and anything that changed
  //    since step 1.
  if (!sameObject(st, resolved.data(), RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS)) finish(out, kUnresolved);
  // 3. Become the caller (groups, gid, uid, each checked; no capability left).
  if (!asyncsafe::becomeCaller(in.caller)) finish(out, kNoAccess, resolved.data(), length);
  // 4. As the caller: the same path must reach the same object (this also needs search
  //    permission on every directory above it), and the kernel must grant the mode.
  if (!sameObject(st, resolved.data(), RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS)) {
    finish(out, kNoAccess, resolved.data(), length);
  }
  int mode = R_OK;
  if (in.access == MountAccess::ReadWrite) mode |= W_OK;
  if (S_ISDIR(st.st_mode)) mode |= X_OK;  // a directory one cannot search is not usable
  if (::faccessat(AT_FDCWD, resolved.data(), mode, 0) != 0) finish(out, kNoAccess, resolved.data(), length);
  finish(out, kAccess, resolved.data(), length);
}

// End of the async-signal-safe part.

}  // namespace

BindSourceFacts checkBindSource(std::string_view source, const Identity& caller, MountAccess access,
                                std::chrono::milliseconds deadline, int mountView) {
  BindSourceFacts facts;
  // A relative source is not a host path (in Binds it names a volume); NUL would cut the
  // path short in the kernel; longer than PATH_MAX cannot resolve.
  if (source.empty() || source.front() != '/' || source.find('\0') != std::string_view::npos ||
      source.size() >= PATH_MAX) {
    return facts;
  }
  auto ids = callerIds(caller);
  if (!ids) return facts;
  const std::string path(source);
  const ChildInput input{path.c_str(), *ids, access, mountView};
  auto report = runChildProbe(&childMain, &input, deadline, PATH_MAX + 1, "bind_check");
  if (!report || report->empty()) return facts;
  const char verdict = report->front();
  if ((verdict != kAccess && verdict != kNoAccess) || report->size() < 2 || (*report)[1] != '/') return facts;
  facts.resolved = report->substr(1);
  facts.access = verdict == kAccess ? CallerAccess::Allowed : CallerAccess::Denied;
  return facts;
}

bool stillResolvesTo(std::string_view resolvedPath, const Identity& caller, MountAccess access,
                     std::chrono::milliseconds deadline) {
  auto facts = checkBindSource(resolvedPath, caller, access, deadline);
  return facts.resolved && *facts.resolved == resolvedPath && facts.access == CallerAccess::Allowed;
}

}  // namespace dockerbox::broker
