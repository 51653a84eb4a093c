// Runs as root. Input: validated requests (after broker::decodeWorkerMessage); every string
// in them was chosen by the client, so each one that names a host object is looked up here
// rather than believed.
//
// Converts a validated request into the policy's own plain values (style.md §1: the
// evaluator never sees a Cap'n Proto reader), adding the facts the broker looked up: the
// normalised image reference and, for every mount that reaches a host path, where that
// path really is and whether the caller could access it (bind_check.hpp).
#pragma once

#include "broker/bind_check.hpp"
#include "broker/request.hpp"
#include "common/result.hpp"
#include "policy/request.hpp"

#include <cstddef>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace dockerbox::broker {

/// Looks up one bind source. The broker's probe is checkBindSource with the caller's
/// identity (see authorize()); tests and `explain` may pass their own.
using BindProbe = std::function<BindSourceFacts(std::string_view source, MountAccess access)>;

/// Where a checked host path goes in the spec the handler runs.
enum class ResolvedField {
  MountSource,   // ContainerSpec::host.mounts[mount].source (Binds and Mounts type=bind)
  VolumeDevice,  // the `device` entry of host.mounts[mount].volumeOptions
};

/// A host path the policy judged in its resolved form. The handler must mount `path`, not
/// the text the client sent: that text may go through a symlink the client can still swap.
struct ResolvedBind {
  std::size_t mount = 0;  // index into ContainerSpec::host.mounts
  ResolvedField field = ResolvedField::MountSource;
  std::size_t option = 0;  // VolumeDevice: index into host.mounts[mount].volumeOptions
  std::string path;       // canonical absolute host path that was checked
};

struct PolicyInput {
  policy::Request request;
  std::vector<ResolvedBind> resolvedBinds;  // every resolved host path in the request
};

/// "alpine" -> "docker.io/library/alpine:latest" (ImageRef's grammar, the one the
/// container handlers use). An error, which the caller turns into a denial, for a reference
/// the broker cannot parse: the policy cannot judge what it cannot name.
[[nodiscard]] Result<std::string> normaliseImage(std::string_view reference);

/// The policy request for running `spec` under `operation`: "containers.create" here, and
/// "containers.start" with the stored spec once start re-checks it (see bind_check.hpp on
/// the TOCTOU that closes). Fills container, volume (a foreign volume driver) and images
/// (Image mounts); resolvedBinds index spec.host.mounts.
[[nodiscard]] Result<PolicyInput> toContainerRequest(std::string_view operation, const ContainerSpec& spec,
                                                     const BindProbe& probe);

/// The policy request for one operation: its name from kOperations and, for create, exec
/// and the image operations, everything the policy constrains. An error means the request
/// cannot be judged and must be denied (Error::message is safe to show the client).
[[nodiscard]] Result<PolicyInput> toPolicyRequest(const Operation& op, const BindProbe& probe);

}  // namespace dockerbox::broker
