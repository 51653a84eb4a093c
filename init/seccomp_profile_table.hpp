// Docker's default seccomp profile as data, for seccomp_profile.cpp to turn into a filter.
// Runs in dockerbox-init (inside the container, before the user's program). Pure data: no
// libseccomp calls, no I/O; the only input is the capability set the broker chose.
//
// Translated from moby/profiles seccomp v0.2.3 (profiles/seccomp/default_linux.go, the
// source default.json is generated from), as vendored by moby/moby at commit
// b985e2313a8676e18072b442911fc8f64f17d440. Keep the groups, their order and their names
// as upstream has them, so a reviewer can diff this table against the JSON.
#pragma once

#include <seccomp.h>

#include <cstdint>
#include <optional>
#include <span>
#include <string_view>

namespace dockerbox::init {

/// When a rule applies (moby's "includes" and "excludes" for the amd64 profile).
enum class GateKind {
  Always,
  WithCap,        // includes.caps: only when the capability is in the bounding set
  WithoutCap,     // excludes.caps: only when the capability is NOT in the bounding set
  KernelAtLeast,  // includes.minKernel: only on a host kernel >= major.minor
};

struct Gate {
  GateKind kind = GateKind::Always;
  int capability = -1;  // CAP_* number, for WithCap and WithoutCap
  int kernelMajor = 0;  // for KernelAtLeast
  int kernelMinor = 0;
};

constexpr Gate always() { return {}; }
constexpr Gate withCap(int cap) { return {GateKind::WithCap, cap, 0, 0}; }
constexpr Gate withoutCap(int cap) { return {GateKind::WithoutCap, cap, 0, 0}; }
constexpr Gate kernelAtLeast(int major, int minor) {
  return {GateKind::KernelAtLeast, -1, major, minor};
}

/// What a matching call gets. The profile's default (everything unlisted) is EPERM.
enum class Verdict {
  Allow,
  FailWithNoSys,  // ERRNO(ENOSYS): "not implemented", so libc falls back to an older call
};

/// One comparison on a syscall argument (moby's "args"; every rule there has at most one).
/// For SCMP_CMP_MASKED_EQ `value` is the mask and `valueTwo` the expected masked value,
/// exactly as moby's Value/ValueTwo and libseccomp's datum_a/datum_b.
struct ArgCheck {
  unsigned index = 0;
  scmp_compare op = SCMP_CMP_EQ;
  std::uint64_t value = 0;
  std::uint64_t valueTwo = 0;
};

struct ProfileRule {
  std::span<const std::string_view> names;
  Verdict verdict = Verdict::Allow;
  Gate when = always();
  std::optional<ArgCheck> arg = std::nullopt;
};

/// The profile's rules for an x86_64 host (architectures x86_64, x86, x32), in upstream
/// order. Groups upstream limits to other architectures (ppc64le, arm/arm64, s390/s390x,
/// riscv64) are left out: dockerbox-init is built for x86_64 only.
[[nodiscard]] std::span<const ProfileRule> dockerDefaultRules();

}  // namespace dockerbox::init
