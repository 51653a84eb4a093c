// The container's mount table as Docker (runc) leaves it, built by dockerbox-init from
// what miniboxd gives a container (protocol §11: the host's devtmpfs at /dev, a writable
// /proc, binds without nosuid/nodev). Run mode only: pid 1, before any user code.
#pragma once

#include "common/result.hpp"
#include "init/config.hpp"

#include <string>

namespace dockerbox::init {

/// Docker's masked paths (moby oci/defaults.go): a file gets /dev/null bound over it, a
/// directory an empty read-only tmpfs. Missing paths are skipped.
inline constexpr std::string_view kMaskedPaths[] = {
    "/proc/asound",      "/proc/acpi",        "/proc/interrupts", "/proc/kcore",
    "/proc/keys",        "/proc/latency_stats", "/proc/timer_list", "/proc/timer_stats",
    "/proc/sched_debug", "/proc/scsi",        "/sys/firmware",    "/sys/devices/virtual/powercap"};

/// Docker's read-only paths: bound onto themselves, read-only, nosuid, nodev, noexec.
inline constexpr std::string_view kReadOnlyPaths[] = {"/proc/bus", "/proc/fs", "/proc/irq",
                                                      "/proc/sys", "/proc/sysrq-trigger"};

/// Builds the mounts in order (the .cpp explains it) and reads them back: the kernel's
/// mount table must pass checkMountTable, and every bind, the root and the read-only
/// paths must report the flags asked for. Any failure leaves the container unusable,
/// and the caller must exit without running anything.
[[nodiscard]] Result<void> setUpMounts(const InitConfig& config);

/// Detaches the mount at `path` (and any stacked on it) after setUpMounts, then removes
/// the mount point if it can (not on a read-only root, where the empty directory stays).
/// Fails when `path` is not a mount or is still one afterwards: whatever the broker put
/// there must not stay reachable by the user's program.
[[nodiscard]] Result<void> detachMount(const std::string& path);

}  // namespace dockerbox::init
