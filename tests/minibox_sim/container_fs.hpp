// minibox-sim, miniboxd process model: container root filesystems made the way upstream's
// crates/minibox/src/container/filesystem.rs makes them (minibox-protocol.md §11). Runs as root:
// the parent side (overlay per container) in the simulator, the child side (bind mounts,
// pivot_root) in the clone child between clone and execve. Input: Run's image name and `mounts`
// from test clients; they are checked exactly as upstream checks them and no more, because the
// point of this mode is to show what a client gets from miniboxd.
#pragma once

#include "common/result.hpp"
#include "tests/minibox_sim/images.hpp"
#include "tests/minibox_sim/process.hpp"

#include <memory>
#include <string>
#include <vector>

namespace dockerbox::sim {

/// One container's overlay: `<dir>/merged` over the image directory, with `upper` and `work` beside
/// it. Unmounted and deleted when the last owner lets go, which is when the container record is
/// gone and its process has been reaped (both hold a reference).
class ContainerRootfs {
 public:
  explicit ContainerRootfs(std::string dir);
  ~ContainerRootfs();
  ContainerRootfs(const ContainerRootfs&) = delete;
  ContainerRootfs& operator=(const ContainerRootfs&) = delete;

  [[nodiscard]] std::string merged() const { return dir_ + "/merged"; }

 private:
  std::string dir_;
};

/// The simulator's private scratch area for overlays, and the image directory tree
/// (`--rootfs-dir`). Created once at start in the miniboxd model.
class RootfsArea {
 public:
  /// Makes a private temp dir in the host's mount namespace (where miniboxd works, so that
  /// host mounts made before a Run are visible to its container), mounts a tmpfs on it (removed
  /// at shutdown) and checks that an overlay can be mounted there.
  [[nodiscard]] static Result<std::unique_ptr<RootfsArea>> create(const std::string& imagesDir);
  ~RootfsArea();
  RootfsArea(const RootfsArea&) = delete;
  RootfsArea& operator=(const RootfsArea&) = delete;

  /// The image's directory: `--rootfs-dir`/<last path component of the repository>
  /// (`library/alpine` -> alpine). `label` names the image in the error.
  [[nodiscard]] Result<std::string> imageDir(const ImageRef& ref, const std::string& label) const;
  /// Mounts `lowerDir` as an overlay for container `id`, nosuid,nodev as setup_overlay does.
  [[nodiscard]] Result<std::shared_ptr<ContainerRootfs>> mountOverlay(const std::string& id,
                                                                      const std::string& lowerDir);
  [[nodiscard]] const std::string& imagesDir() const { return imagesDir_; }
  [[nodiscard]] const std::string& dir() const { return dir_; }

 private:
  RootfsArea(std::string imagesDir, std::string dir);
  std::string imagesDir_;  // canonical --rootfs-dir
  std::string dir_;        // private temp dir with a tmpfs on it
};

/// One bind mount, prepared before clone so that the child does not allocate.
struct BindPlan {
  std::string hostPath;       // as sent; canonicalised by the child, as root
  std::string containerPath;  // as sent, for messages
  std::string target;         // rootfs joined with container_path minus its leading '/'
  bool hasParentDir = false;  // a ".." component: refused before any filesystem access
  bool readOnly = false;
};

/// Paths for pivot_root_to, prepared before clone.
struct PivotPlan {
  std::string newRoot;
  std::string proc;
  std::string sys;
  std::string dev;
  std::string putOld;
};

struct MountPlan {
  std::vector<BindPlan> binds;
  PivotPlan pivot;
};

[[nodiscard]] MountPlan planMounts(const MiniboxdSetup& setup);

namespace child {
/// Writes "minibox-sim: container setup failed: <what><path>: <errno text>" on fd 2 (the
/// container's output, where upstream's child log line goes too), reports ChildStep::ContainerSetup
/// on the status pipe and exits 127, as upstream's child_init.
[[noreturn]] void setupFailed(int statusFd, const char* what, const char* path, int err);
/// apply_bind_mounts, mount by mount in request order. Exits through setupFailed.
void applyBindMounts(const MountPlan& plan, int statusFd);
/// pivot_root_to: private /, self-bind, proc, sysfs, devtmpfs, pivot_root, chdir, detach.
void pivotRootTo(const PivotPlan& plan, int statusFd);
}  // namespace child

}  // namespace dockerbox::sim
