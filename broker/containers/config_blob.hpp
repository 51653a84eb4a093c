// Runs as root, in the broker. Input: the broker's own stored configs (written by the
// decoder's canonical re-serialization or by writeExecConfig below, kept in the root-only
// state database). They are still opened with reader limits and a failure is an error, never
// a crash: a damaged database must not take the broker down.
#pragma once

#include "broker/containers/run_spec.hpp"
#include "broker/request.hpp"
#include "broker/state/blob.hpp"
#include "common/result.hpp"
#include "ipc/dockerbox.capnp.h"

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace dockerbox::broker::containers {

/// The decoder's canonical ContainerConfig words as a state blob.
[[nodiscard]] state::Blob blobFromWords(const std::vector<std::uint64_t>& words);

/// The stored create config decoded by `decode` (the broker's request decoder), under the
/// same reader limits: what start re-judges against the current policy.
[[nodiscard]] Result<CreateContainerOp> readStoredCreate(
    const state::Blob& blob, const std::function<Result<CreateContainerOp>(ipc::wire::ContainerConfig::Reader)>& decode);

/// What starting the container needs, read back from its stored create config, including
/// what dockerbox-init applies: user, hostname, capAdd, capDrop, securityOpt, readonlyRootfs
/// and ulimits (HostConfig.Init has no effect and is not read).
[[nodiscard]] Result<RunConfig> readRunConfig(const state::Blob& blob);

/// Copies the stored create config into an inspect reply.
[[nodiscard]] Result<void> fillInspectConfig(const state::Blob& blob, ipc::wire::ContainerInspectReply::Builder out);

/// What an image's configuration gives a container that does not say otherwise (the image
/// config's `config`, as the engine read it from a verified pull). Plain data.
struct ImageDefaults {
  std::optional<std::vector<std::string>> entrypoint;
  std::optional<std::vector<std::string>> cmd;
  std::vector<std::string> env;
  std::string workingDir, user, stopSignal;
  std::vector<std::pair<std::string, std::string>> labels;
  std::vector<std::string> exposedPorts;
  std::vector<std::string> volumes;  // absolute paths; anonymous volumes where nothing is mounted
  std::optional<HealthcheckSpec> healthcheck;
};

/// Config.Healthcheck to and from its wire form (unchecked: the decoder checks a client's).
[[nodiscard]] HealthcheckSpec readHealthcheck(ipc::wire::Healthcheck::Reader in);
void writeHealthcheck(const HealthcheckSpec& health, ipc::wire::Healthcheck::Builder out);

/// Docker's merge of an image's defaults into a create config (moby daemon/commit.go
/// `merge`): without an Entrypoint the image's Cmd applies when Cmd is empty and the image's
/// Entrypoint when Entrypoint is null; `[""]` clears the Entrypoint and takes neither; Env
/// entries of the image whose name the create does not set are appended; Labels and
/// ExposedPorts are added where absent; WorkingDir, User and StopSignal fill in when empty;
/// the image's Healthcheck applies when the create has none, field by field where a field
/// of the create's is empty or 0;
/// each of the image's Volumes that no mount of the create covers becomes an anonymous volume.
/// Both the engine (what it stores) and the monitor (what it seals, after judging it) run
/// this, on the create config the policy judged, so their results are the same bytes.
[[nodiscard]] Result<state::Blob> mergeImageDefaults(const state::Blob& judged, const ImageDefaults& image);

/// An exec's configuration as stored with its record.
[[nodiscard]] state::Blob writeExecConfig(const CreateExecOp& exec);
[[nodiscard]] Result<CreateExecOp> readExecConfig(const state::Blob& blob);
[[nodiscard]] Result<void> fillExecConfig(const state::Blob& blob, ipc::wire::ExecInspectReply::Builder out);

}  // namespace dockerbox::broker::containers
