// minibox-sim, miniboxd process model: the parts of Run that differ from the host model
// (minibox-protocol.md §11). Runs as root. Input: a validated Run request; the image name chooses a
// directory under --rootfs-dir and `mounts` are applied as upstream applies them.
#include "tests/minibox_sim/daemon.hpp"

namespace dockerbox::sim {

Result<void> Daemon::prepareMiniboxdRun(Container& c, const ImageRef& ref, const json::object& r,
                                        SpawnSpec& spec) {
  auto lower = rootfsArea_->imageDir(ref, c.imageLabel);
  if (!lower) return lower.error();
  auto rootfs = rootfsArea_->mountOverlay(c.id, *lower);
  if (!rootfs) return rootfs.error();
  c.rootfs = *rootfs;

  MiniboxdSetup setup;
  setup.rootfs = (*rootfs)->merged();
  // Upstream: every mode but Host gets CLONE_NEWNET (--network-isolation is not consulted).
  setup.newNetwork = optStrField(r, "network") != "Host";
  setup.privileged = boolField(r, "privileged");  // only reachable when allowed (policy check)
  if (const auto* mounts = r.if_contains("mounts"); mounts && mounts->is_array()) {
    for (const auto& m : mounts->get_array()) {
      const auto& o = m.get_object();
      setup.mounts.push_back(BindMount{strField(o, "host_path"), strField(o, "container_path"),
                                       boolField(o, "read_only")});
    }
  }
  spec.miniboxd = std::move(setup);
  return {};
}

}  // namespace dockerbox::sim
