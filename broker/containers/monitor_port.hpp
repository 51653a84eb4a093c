// The container service's only door to privileged acts (issue 9, "a small root"): every
// miniboxd request and every judgement of what a container may run goes through here. The
// monitor (broker/monitor/) implements it; the service keeps Docker's semantics and its
// records, and holds nothing that lets it act as root.
//
// The service is not trusted with what it passes: the monitor checks each act itself.
// - Records carry a seal the monitor made when they were created (an HMAC over the id, the
//   owner and the stored config, keyed by a root-only file); an act on a record whose seal
//   does not verify is refused. So the owner and config the monitor acts on are the ones it
//   judged, whatever the state database says.
// - The caller of an act must be able to see the record's owner (P7), as for the request.
// - Runs are built by the monitor from the sealed config and the current policy's judgement
//   of it (start re-judges), confined through dockerbox-init as that judgement decides.
// - An act on a running container names the miniboxd id the monitor started it under: the
//   monitor's own table, or for a run it no longer holds (after a restart) miniboxd's List,
//   where every run it starts carries the name `dbx-<docker id>-<nonce>`.
// Today both sides run in dockerboxd; the interface is what will cross the process
// boundary, so every argument is plain data.
#pragma once

#include "broker/caller.hpp"
#include "broker/containers/config_blob.hpp"
#include "broker/minibox/client.hpp"
#include "broker/minibox/image_ref.hpp"
#include "broker/minibox/types.hpp"
#include "broker/state/blob.hpp"
#include "common/result.hpp"

#include <boost/asio/awaitable.hpp>

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace dockerbox::broker::containers {

/// A container or exec record as the service holds it, with the monitor's seal.
struct SealedRecord {
  std::string id;      ///< 64 hex: the Docker id of the container, or the exec id
  std::string parent;  ///< an exec's container id; empty for a container
  std::uint32_t ownerUid = 0;
  std::uint32_t ownerGid = 0;
  state::Blob config;
  std::string seal;  ///< 64 hex
};

/// What dockerbox-registry answered for an image reference, copied through the monitor
/// unread: nothing in it is verified until the engine checks the digests.
struct ResolvedImage {
  std::string reference;  ///< canonical, as the registry client normalised it
  std::string repoDigest;
  std::string manifestDigest;
  std::string manifest;  ///< bytes
  std::string index;     ///< bytes; empty when the reference named a manifest
  std::string configDigest;
  std::string config;  ///< bytes
};

/// The client's registry credentials for one pull (X-Registry-Auth): handed to the registry
/// client, never logged, audited or stored. Empty: anonymous.
struct RegistryCredentials {
  std::string username;
  std::string password;
};

/// What a held run reports while it lasts.
struct RunHandlers {
  /// miniboxd created the container (the start succeeded) under this id.
  minibox::CreatedHandler onCreated;
  /// Output of the container's process, as miniboxd sends it (stdout and stderr mixed).
  minibox::OutputHandler onOutput;
  /// Its published ports as bound, before onCreated (only when it publishes any).
  std::function<boost::asio::awaitable<void>(std::vector<BoundPort>)> onPublished;
};

class MonitorPort {
 public:
  virtual ~MonitorPort() = default;

  // miniboxd's view, for reconciliation, lists and images (no act).
  virtual boost::asio::awaitable<Result<std::vector<minibox::ContainerInfo>>> list() = 0;
  virtual boost::asio::awaitable<Result<std::vector<std::string>>> listImages() = 0;
  virtual boost::asio::awaitable<Result<minibox::Protocol>> probe() = 0;
  /// Delivers miniboxd's container events until cancelled or the connection fails.
  virtual boost::asio::awaitable<Result<void>> subscribeEvents(minibox::EventHandler onEvent) = 0;
  /// Whether containers can be confined here (dockerbox-init installed, miniboxd HEAD and
  /// taking bind mounts).
  virtual boost::asio::awaitable<bool> canConfine() = 0;

  /// The seal for a new container record of `who` with the config the policy judged for
  /// this request (the decoder's canonical words); refused for any other config. With
  /// `image`, the record's config is mergeImageDefaults(config, *image), judged again by
  /// the policy before it is sealed (the image may set a User, a command, an Env).
  virtual boost::asio::awaitable<Result<std::string>> sealContainer(const Caller& who, const std::string& dockerId,
                                                                    const state::Blob& config,
                                                                    const std::optional<ImageDefaults>& image) = 0;
  /// The seal for a new exec record of `who` in a sealed container the caller can see.
  virtual boost::asio::awaitable<Result<std::string>> sealExec(const Caller& who, const std::string& execId,
                                                     const SealedRecord& container, const state::Blob& config) = 0;

  /// Pull and image removal, for a caller the policy allowed to do so.
  virtual boost::asio::awaitable<Result<void>> pull(const Caller& who, minibox::ImageRef ref) = 0;
  virtual boost::asio::awaitable<Result<void>> removeImage(const Caller& who, minibox::ImageRef ref) = 0;
  /// Asks a freshly started, sandboxed dockerbox-registry what `reference` names (for
  /// `platform`, "" = the host's), for a caller the policy allowed to pull. An empty answer
  /// (no repoDigest): the registry client is not enabled, pulls are miniboxd's alone.
  /// With `loginOnly` (docker login), `reference` is a registry address and only the
  /// credentials are checked: the answer holds only `reference`, the registry's domain
  /// (empty: the client is not enabled).
  virtual boost::asio::awaitable<Result<ResolvedImage>> resolveImage(const Caller& who, std::string reference,
                                                                     std::string platform,
                                                                     RegistryCredentials credentials,
                                                                     bool loginOnly) = 0;

  /// Starts the container for `who` and holds its run: returns the raw miniboxd exit code
  /// when it ends, or an Error; before `onCreated` an Error means the start failed (the
  /// policy refused it, it cannot be confined, miniboxd refused it).
  virtual boost::asio::awaitable<Result<std::int32_t>> run(const Caller& who, SealedRecord container,
                                                           RunHandlers handlers) = 0;
  /// Starts the container again for its sealed owner because its restart policy says so
  /// (no client asked): as run(), for an owner still admitted to the socket and judged again
  /// under the policy in force now, and only when the sealed config has a restart policy.
  virtual boost::asio::awaitable<Result<std::int32_t>> restartRun(SealedRecord container, RunHandlers handlers) = 0;
  /// Runs the health check of the container's sealed config once in its current run
  /// (`miniboxId`), for its owner as an exec they could make (judged as its creator now),
  /// killed by dockerbox-init at the check's timeout; returns the raw exit code. At most one
  /// per container at a time. No audit record: the check is part of the container the
  /// policy judged at its start.
  virtual boost::asio::awaitable<Result<std::int32_t>> healthCheck(SealedRecord container, std::string miniboxId,
                                                                   minibox::OutputHandler onOutput) = 0;
  /// Judges an exec in the container's current run (`miniboxId`), to be confined the way
  /// that run was; returns a ticket for runExec, or why it may not run.
  virtual boost::asio::awaitable<Result<std::uint64_t>> prepareExec(const Caller& who, SealedRecord container,
                                                                    std::string miniboxId, SealedRecord exec) = 0;
  /// Runs a prepared exec (each ticket once): returns the raw exit code (-1 for a signal death).
  virtual boost::asio::awaitable<Result<std::int32_t>> runExec(std::uint64_t ticket, minibox::OutputHandler onOutput) = 0;
  /// Forgets a prepared exec that will not run.
  virtual void dropExec(std::uint64_t ticket) = 0;
  /// Writes the client's stdin into a held run's input (a container with OpenStdin started
  /// through dockerbox-init), or into an exec's of it (`exec`'s id not empty: AttachStdin,
  /// between prepareExec and the end of runExec), returning once it is written: the
  /// program's reading paces the client. `close` ends the input (the program reads EOF).
  /// One call per run or exec at a time. One that is not held or has no input answers
  /// Conflict.
  virtual boost::asio::awaitable<Result<void>> input(const Caller& who, SealedRecord container, SealedRecord exec,
                                                     std::vector<std::uint8_t> data, bool close) = 0;
  /// Sets the size of a held run's terminal (a container with Tty started through the
  /// init), or of an exec's (`exec`'s id not empty).
  virtual boost::asio::awaitable<Result<void>> resizeTerminal(const Caller& who, SealedRecord container,
                                                              SealedRecord exec, std::uint16_t rows,
                                                              std::uint16_t cols) = 0;
  virtual boost::asio::awaitable<Result<void>> stop(const Caller& who, SealedRecord container,
                                                    std::string miniboxId) = 0;
  /// Sends `signal` (1..64) to the run `miniboxId` of `container`: to dockerbox-init, which
  /// passes it to the program (SIGKILL ends the whole container at once), or to the program
  /// of an unconfined run. Returns once it is sent; Conflict when the run is not running,
  /// NotImplemented when miniboxd does not say which process it is.
  virtual boost::asio::awaitable<Result<void>> signal(const Caller& who, SealedRecord container,
                                                      std::string miniboxId, int signal) = 0;
  virtual boost::asio::awaitable<Result<void>> pause(const Caller& who, SealedRecord container,
                                                     std::string miniboxId) = 0;
  virtual boost::asio::awaitable<Result<void>> resume(const Caller& who, SealedRecord container,
                                                      std::string miniboxId) = 0;

  /// Makes volume `name` (Docker's name rules) owned by `who`: true when made now, false
  /// when `who` can see one of that name already; Conflict when it is someone else's.
  virtual boost::asio::awaitable<Result<bool>> createVolume(const Caller& who, std::string name) = 0;
  /// Removes volume `name` and its content: NotFound when `who` cannot see it, Conflict
  /// while a run the monitor holds mounts it.
  virtual boost::asio::awaitable<Result<void>> removeVolume(const Caller& who, std::string name) = 0;
};

}  // namespace dockerbox::broker::containers
