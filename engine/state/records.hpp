// The records dockerbox keeps about containers, execs and events. Runs in the engine
// (dockerbox-engine, unprivileged). Input: none; these are plain values the broker fills
// from validated requests and from miniboxd replies.
#pragma once

#include "engine/state/sqlite.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace dockerbox::broker::state {

/// Docker's container states (the lowercase texts are Docker's `State.Status`).
enum class ContainerState { Created, Running, Paused, Restarting, Removing, Exited, Dead };

[[nodiscard]] std::string_view toString(ContainerState state);
[[nodiscard]] std::optional<ContainerState> containerStateFromString(std::string_view text);

/// One label or event attribute. Order is kept as given.
struct KeyValue {
  std::string key;
  std::string value;
  bool operator==(const KeyValue&) const = default;
};
using KeyValues = std::vector<KeyValue>;

/// What the broker supplies to create a container record.
struct NewContainer {
  std::string name;      ///< Docker rules, with or without a leading '/'; empty: generated
  std::string image;     ///< the image as the client named it ("alpine")
  std::string imageRef;  ///< normalised reference ("docker.io/library/alpine:latest")
  KeyValues labels;
  std::uint32_t creatorUid = 0;  ///< from SO_PEERCRED, never from the request
  std::uint32_t creatorGid = 0;
  Blob config;                 ///< the broker's serialized create config; opaque here
  std::int64_t createdAt = 0;  ///< unix nanoseconds, from the broker's clock
  bool autoRemove = false;
  bool tty = false;
  std::string seal;  ///< the monitor's seal over id, owner and config (monitor_port.hpp)
  /// 64 lowercase hex chosen by the caller (it is sealed before the record exists); empty:
  /// the store picks one.
  std::string dockerId;
};

struct Container {
  std::string dockerId;  ///< 64 lowercase hex, ours (never reused)
  /// Current 16-hex minibox id; miniboxd hands out a new one on every start.
  std::optional<std::string> miniboxId = std::nullopt;
  std::string name;  ///< without the leading '/'
  std::string image;
  std::string imageRef;
  KeyValues labels;
  std::uint32_t creatorUid = 0;
  std::uint32_t creatorGid = 0;
  Blob config;
  ContainerState state = ContainerState::Created;
  std::optional<int> exitCode = std::nullopt;  ///< Docker's way: 128+N for a signal death
  bool oomKilled = false;
  std::string error;           ///< Docker's State.Error; safe to show the owner
  std::int64_t createdAt = 0;  ///< unix nanoseconds; 0 = never
  std::int64_t startedAt = 0;
  std::int64_t finishedAt = 0;
  std::int64_t restartCount = 0;
  bool autoRemove = false;
  bool tty = false;
  std::string seal;  ///< empty for records of schema version 1 (never sealed)
  /// Docker's HasBeenManuallyStopped: stopped or killed by a client since its last start by
  /// a client (an `unless-stopped` policy then leaves it stopped when dockerbox starts).
  bool manuallyStopped = false;
};

/// How a container stopped.
struct ExitStatus {
  int exitCode = 0;
  std::int64_t finishedAt = 0;
  bool oomKilled = false;
  std::string error;
};

struct NewExec {
  std::string containerDockerId;
  std::uint32_t creatorUid = 0;
  std::uint32_t creatorGid = 0;
  Blob config;  ///< the broker's serialized exec config; opaque here
  std::int64_t createdAt = 0;
  std::string seal;
  std::string execId;  ///< 64 lowercase hex chosen by the caller; empty: the store picks one
};

struct Exec {
  std::string execId;  ///< 64 lowercase hex, ours (miniboxd's exec ids are not usable)
  std::string containerDockerId;
  std::uint32_t creatorUid = 0;
  std::uint32_t creatorGid = 0;
  Blob config;
  bool running = false;
  std::optional<int> exitCode = std::nullopt;
  std::optional<std::int64_t> pid = std::nullopt;
  std::int64_t createdAt = 0;
  std::string seal;
};

/// An image dockerbox pulled itself: what its registry said, verified by digest.
struct ImageRecord {
  std::string storeName;  ///< miniboxd's store name: library/alpine:latest
  std::string reference;  ///< canonical: docker.io/library/alpine:latest
  std::string repoDigest;
  std::string manifestDigest;
  std::string configDigest;
  Blob config;  ///< the image config's bytes
  std::int64_t size = 0;
  std::int64_t pulledAt = 0;
};

/// A volume (its directory is the monitor's: broker/monitor/volumes.hpp). The engine keeps
/// what Docker shows of it.
struct VolumeRecord {
  std::string name;
  std::uint32_t creatorUid = 0;
  std::uint32_t creatorGid = 0;
  std::int64_t createdAt = 0;
  bool anonymous = false;  ///< made for a container's anonymous mount
  KeyValues labels;
};

struct NewEvent {
  std::int64_t timeNanos = 0;
  std::string type;     ///< "container", "image", ...
  std::string action;   ///< "create", "start", "die", ...
  std::string actorId;  ///< Docker id of the object
  KeyValues attributes;
  /// Creator of the object, for ownership filtering; unset for objects nobody owns.
  std::optional<std::uint32_t> ownerUid = std::nullopt;
  std::optional<std::uint32_t> ownerGid = std::nullopt;
};

struct Event {
  std::int64_t seq = 0;  ///< strictly increasing, never reused
  std::int64_t timeNanos = 0;
  std::string type;
  std::string action;
  std::string actorId;
  KeyValues attributes;
  std::optional<std::uint32_t> ownerUid = std::nullopt;
  std::optional<std::uint32_t> ownerGid = std::nullopt;
};

/// Which stored events to replay. Times are inclusive, like Docker's since/until.
struct EventQuery {
  std::int64_t afterSeq = 0;                             ///< only events with seq > afterSeq
  std::int64_t sinceNanos = 0;                           ///< 0: no lower bound
  std::int64_t untilNanos = 0;                           ///< 0: no upper bound
  std::optional<std::uint32_t> ownerUid = std::nullopt;  ///< only events owned by this uid
  std::int64_t limit = 0;                                ///< 0: up to the retention bound
};

}  // namespace dockerbox::broker::state
