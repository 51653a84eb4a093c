// minibox-sim, miniboxd process model: overlays, bind mounts and pivot_root as upstream's
// filesystem.rs does them. Runs as root. The child:: functions run in the clone child, which is
// single-threaded and about to exec: they use fixed buffers and system calls only.
#include "tests/minibox_sim/container_fs.hpp"

#include "common/syscall.hpp"

#include <fcntl.h>
#include <sched.h>
#include <spdlog/spdlog.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <climits>
#include <cstdlib>
#include <cstring>
#include <filesystem>

namespace dockerbox::sim {
namespace {

namespace fs = std::filesystem;

/// Upper and work dirs of every container live in RAM: a test container that writes more than this
/// gets ENOSPC, which is better than filling the host's disk.
constexpr const char* kScratchOptions = "mode=0700,size=1g";

Result<void> checkedCall(int rc, const std::string& what) {
  if (rc == 0) return {};
  int err = errno;
  return fail(ErrorKind::Internal,
              what + ": " + std::strerror(err) + " (os error " + std::to_string(err) + ")");
}

/// Rust's Path::starts_with: whole components, so /a/merged2 is not under /a/merged.
bool underDir(const char* path, const char* dir) {
  std::size_t n = std::strlen(dir);
  if (std::strncmp(path, dir, n) != 0) return false;
  return path[n] == '\0' || path[n] == '/' || (n > 0 && dir[n - 1] == '/');
}

bool isDir(const char* path) {
  struct stat st {};
  return ::stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

/// std::fs::create_dir_all on a mutable buffer: mkdir, and on ENOENT the parent first. Follows
/// symlinks in existing components, as Rust's does.
bool mkdirAll(char* path) {
  if (path[0] == '\0') return true;
  if (::mkdir(path, 0777) == 0) return true;
  int err = errno;
  if (err != ENOENT) {
    if (isDir(path)) return true;
    errno = err;
    return false;
  }
  char* slash = std::strrchr(path, '/');
  if (slash == nullptr || slash == path) return false;
  *slash = '\0';
  bool parentOk = mkdirAll(path);
  *slash = '/';
  if (!parentOk) return false;
  if (::mkdir(path, 0777) == 0) return true;
  err = errno;
  if (isDir(path)) return true;
  errno = err;
  return false;
}

bool copyPath(char (&buf)[PATH_MAX], const std::string& path) {
  if (path.size() >= PATH_MAX) {
    errno = ENAMETOOLONG;
    return false;
  }
  std::memcpy(buf, path.c_str(), path.size() + 1);
  return true;
}

}  // namespace

ContainerRootfs::ContainerRootfs(std::string dir) : dir_(std::move(dir)) {}

ContainerRootfs::~ContainerRootfs() {
  // Lazy: a container process may still hold it. EINVAL means it is not mounted (any more).
  if (::umount2(merged().c_str(), MNT_DETACH) != 0 && errno != EINVAL && errno != ENOENT) {
    // Deleting through a still-mounted overlay would only whiteout the upper layer, but keep it
    // simple and safe: leave the directory for the tmpfs to take away.
    spdlog::warn("event=overlay_umount_failed dir={} error={}", dir_, std::strerror(errno));
    return;
  }
  std::error_code ec;
  fs::remove_all(dir_, ec);
  if (ec) spdlog::warn("event=rootfs_cleanup_failed dir={} error={}", dir_, ec.message());
}

RootfsArea::RootfsArea(std::string imagesDir, std::string dir)
    : imagesDir_(std::move(imagesDir)), dir_(std::move(dir)) {}

Result<std::unique_ptr<RootfsArea>> RootfsArea::create(const std::string& imagesDir) {
  std::error_code ec;
  fs::path images = fs::canonical(imagesDir, ec);
  if (ec || !fs::is_directory(images)) {
    return fail(ErrorKind::Internal, "--rootfs-dir " + imagesDir + " is not a directory");
  }
  // The simulator stays in the host's mount namespace, as miniboxd does: a container's
  // namespace is cloned from it at Run, so mounts made on the host before the Run (dockerbox's
  // pinned bind sources) are there to be bound. A simulator killed with SIGKILL leaves its
  // scratch tmpfs mounted; SIGTERM cleans up.
  std::string tmpl = (fs::temp_directory_path(ec) / "minibox-sim-XXXXXX").string();
  if (::mkdtemp(tmpl.data()) == nullptr) return checkedCall(-1, "mkdtemp " + tmpl).error();
  std::unique_ptr<RootfsArea> area(new RootfsArea(images.string(), tmpl));
  if (auto r = checkedCall(::mount("tmpfs", tmpl.c_str(), "tmpfs", 0, kScratchOptions),
                           "mount tmpfs " + tmpl);
      !r) {
    ::rmdir(tmpl.c_str());
    area->dir_.clear();
    return r.error();
  }
  // Overlay self-test, so a kernel or filesystem without overlayfs fails here and not on the first
  // Run.
  const std::string probe = tmpl + "/probe";
  for (const char* sub : {"/lower", "/upper", "/work", "/merged"})
    fs::create_directories(probe + sub, ec);
  std::string options =
      "lowerdir=" + probe + "/lower,upperdir=" + probe + "/upper,workdir=" + probe + "/work";
  auto mounted = checkedCall(::mount("overlay", (probe + "/merged").c_str(), "overlay",
                                     MS_NOSUID | MS_NODEV, options.c_str()),
                             "overlay self-test mount");
  if (!mounted) return mounted.error();
  ::umount2((probe + "/merged").c_str(), MNT_DETACH);
  fs::remove_all(probe, ec);
  return area;
}

RootfsArea::~RootfsArea() {
  if (dir_.empty()) return;
  // Detaches the tmpfs and every overlay still mounted beneath it.
  ::umount2(dir_.c_str(), MNT_DETACH);
  ::rmdir(dir_.c_str());
}

Result<std::string> RootfsArea::imageDir(const ImageRef& ref, const std::string& label) const {
  auto missing = [&] {
    return fail(ErrorKind::NotFound, "no rootfs for " + label + " under " + imagesDir_);
  };
  std::error_code ec;
  fs::path dir = fs::canonical(fs::path(imagesDir_) / ref.name, ec);
  if (ec || !fs::is_directory(dir, ec)) return missing();
  // upstream's validate_layer_path: the layer must stay under the images base after symlinks are
  // resolved.
  if (!underDir(dir.c_str(), imagesDir_.c_str())) {
    return fail(ErrorKind::BadRequest, "path traversal attempt: layer " + dir.string() +
                                           " is outside allowed directory " + imagesDir_);
  }
  return dir.string();
}

Result<std::shared_ptr<ContainerRootfs>> RootfsArea::mountOverlay(const std::string& id,
                                                                  const std::string& lowerDir) {
  const std::string dir = dir_ + "/" + id;
  auto rootfs = std::make_shared<ContainerRootfs>(dir);  // cleans up on every failure below
  std::error_code ec;
  for (const char* sub : {"/merged", "/upper", "/work"}) {
    fs::create_directories(dir + sub, ec);
    if (ec) return fail(ErrorKind::Internal, "create " + dir + sub + ": " + ec.message());
  }
  // Upstream writes the same options with no escaping; our paths hold no ',' or ':'.
  std::string options =
      "lowerdir=" + lowerDir + ",upperdir=" + dir + "/upper,workdir=" + dir + "/work";
  auto mounted = checkedCall(::mount("overlay", rootfs->merged().c_str(), "overlay",
                                     MS_NOSUID | MS_NODEV, options.c_str()),
                             "overlay mount failed: mount overlay -> " + rootfs->merged());
  if (!mounted) return mounted.error();
  return rootfs;
}

MountPlan planMounts(const MiniboxdSetup& setup) {
  MountPlan plan;
  for (const auto& m : setup.mounts) {
    BindPlan b;
    b.hostPath = m.hostPath;
    b.containerPath = m.containerPath;
    b.readOnly = m.readOnly;
    std::string rel = m.containerPath;
    rel.erase(0, rel.find_first_not_of('/') == std::string::npos ? rel.size()
                                                                 : rel.find_first_not_of('/'));
    for (std::size_t start = 0; start <= rel.size();) {
      auto end = std::min(rel.find('/', start), rel.size());
      if (rel.compare(start, end - start, "..") == 0) b.hasParentDir = true;
      start = end + 1;
    }
    b.target = setup.rootfs + "/" + rel;
    plan.binds.push_back(std::move(b));
  }
  plan.pivot = PivotPlan{setup.rootfs, setup.rootfs + "/proc", setup.rootfs + "/sys",
                         setup.rootfs + "/dev", setup.rootfs + "/.put_old"};
  return plan;
}

namespace child {

void setupFailed(int statusFd, const char* what, const char* path, int err) {
  writeText(STDERR_FILENO, "minibox-sim: container setup failed: ");
  writeText(STDERR_FILENO, what);
  writeText(STDERR_FILENO, path);
  if (err != 0) {
    writeText(STDERR_FILENO, ": ");
    const char* text = strerrordesc_np(err);
    writeText(STDERR_FILENO, text ? text : "unknown error");
  }
  writeText(STDERR_FILENO, "\n");
  report(statusFd, ChildStep::ContainerSetup, err);
}

namespace {

/// apply_one_bind_mount, step by step. A failure ends the child; upstream first unmounts the binds
/// it already made, which changes nothing here since the namespace dies with it.
void applyOne(const BindPlan& b, const char* rootfs, int statusFd) {
  char host[PATH_MAX];
  // Canonicalised as root in the container's fresh mount namespace (still the host's view).
  if (::realpath(b.hostPath.c_str(), host) == nullptr)
    setupFailed(statusFd,
                "bind mount source does not exist or is not accessible: ", b.hostPath.c_str(),
                errno);
  if (b.hasParentDir) {
    setupFailed(statusFd,
                "path traversal attempt: bind mount container_path contains "
                "'..' component: ",
                b.containerPath.c_str(), 0);
  }
  char buf[PATH_MAX];
  struct stat st {};
  // The target is created through the image's own symlinks: an absolute link resolves on the host
  // and is refused below only after the directory or file has been made.
  if (::stat(b.target.c_str(), &st) != 0) {
    if (!copyPath(buf, b.target))
      setupFailed(statusFd, "bind mount target too long: ", b.containerPath.c_str(), errno);
    if (isDir(host)) {
      if (!mkdirAll(buf))
        setupFailed(statusFd, "failed to create bind mount target directory ", b.target.c_str(),
                    errno);
    } else {
      if (char* slash = std::strrchr(buf, '/'); slash != nullptr && slash != buf) {
        *slash = '\0';
        if (!mkdirAll(buf))
          setupFailed(statusFd, "failed to create parent for bind mount target ", b.target.c_str(),
                      errno);
      }
      int fd = ::open(b.target.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
      if (fd < 0)
        setupFailed(statusFd, "failed to create bind mount target file ", b.target.c_str(), errno);
      ::close(fd);
    }
  }
  if (::realpath(b.target.c_str(), buf) == nullptr)
    setupFailed(statusFd, "failed to canonicalize bind mount target ", b.target.c_str(), errno);
  if (!underDir(buf, rootfs))
    setupFailed(statusFd, "path traversal attempt: bind mount target escapes rootfs: ",
                b.containerPath.c_str(), 0);
  // No MS_NOSUID/MS_NODEV: setuid files and device nodes in the host directory work.
  if (::mount(host, buf, nullptr, MS_BIND | MS_REC, nullptr) != 0)
    setupFailed(statusFd, "bind mount failed: ", b.containerPath.c_str(), errno);
  // A plain remount: it also drops nosuid/nodev/noexec the source mount may have had, and a process
  // with CAP_SYS_ADMIN can remount it read-write again.
  if (b.readOnly && ::mount(nullptr, buf, nullptr, MS_BIND | MS_REMOUNT | MS_RDONLY, nullptr) != 0)
    setupFailed(statusFd, "read-only remount of bind mount failed: ", b.containerPath.c_str(),
                errno);
}

}  // namespace

void applyBindMounts(const MountPlan& plan, int statusFd) {
  for (const auto& b : plan.binds) applyOne(b, plan.pivot.newRoot.c_str(), statusFd);
}

void pivotRootTo(const PivotPlan& p, int statusFd) {
  // pivot_root(2) refuses a new root whose mount is shared with a peer.
  if (::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0)
    setupFailed(statusFd, "mount private ", "/", errno);
  if (::mount(p.newRoot.c_str(), p.newRoot.c_str(), nullptr, MS_BIND | MS_REC, nullptr) != 0)
    setupFailed(statusFd, "bind mount new root ", p.newRoot.c_str(), errno);
  // proc is a fresh procfs of the new pid namespace, read-write (/proc/sys, sysrq-trigger).
  ::mkdir(p.proc.c_str(), 0777);
  if (::mount("proc", p.proc.c_str(), "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, nullptr) != 0)
    setupFailed(statusFd, "mount proc on ", p.proc.c_str(), errno);
  ::mkdir(p.sys.c_str(), 0777);
  if (::mount("sysfs", p.sys.c_str(), "sysfs", MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC,
              nullptr) != 0)
    setupFailed(statusFd, "mount sysfs on ", p.sys.c_str(), errno);
  // devtmpfs is one kernel-wide instance: the container sees (and can open, mknod in and write) the
  // host's real device nodes. Not nodev, as upstream.
  ::mkdir(p.dev.c_str(), 0777);
  if (::mount("devtmpfs", p.dev.c_str(), "devtmpfs", MS_NOSUID | MS_NOEXEC, nullptr) != 0)
    setupFailed(statusFd, "mount devtmpfs on ", p.dev.c_str(), errno);
  char buf[PATH_MAX];
  if (!copyPath(buf, p.putOld) || !mkdirAll(buf))
    setupFailed(statusFd, "create ", p.putOld.c_str(), errno);
  if (::syscall(SYS_pivot_root, p.newRoot.c_str(), p.putOld.c_str()) != 0)
    setupFailed(statusFd, "pivot_root to ", p.newRoot.c_str(), errno);
  if (::chdir("/") != 0) setupFailed(statusFd, "chdir ", "/", errno);
  if (::umount2("/.put_old", MNT_DETACH) != 0) setupFailed(statusFd, "umount ", "/.put_old", errno);
  ::rmdir("/.put_old");  // best effort, as upstream
}

}  // namespace child

}  // namespace dockerbox::sim
