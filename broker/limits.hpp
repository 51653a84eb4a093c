// Bounds the broker's decoder puts on every field a worker sends. Each number says why.
#pragma once

#include <cstddef>
#include <cstdint>

namespace dockerbox::broker {

/// Container references and filter values: ids are 64 hex, names are short; 256 leaves room.
inline constexpr std::size_t kMaxRefBytes = 256;
/// Names, users, tags, signal names, label keys: Docker's own names stay far below this.
inline constexpr std::size_t kMaxNameBytes = 256;
/// Paths (mount sources and targets, working dirs): PATH_MAX.
inline constexpr std::size_t kMaxPathBytes = 4096;
/// One argument, env entry or label value: 128 KiB (Linux's MAX_ARG_STRLEN).
inline constexpr std::size_t kMaxArgBytes = 128 * 1024;
/// Arguments of one command: far above what a CLI sends, far below memory trouble.
inline constexpr std::size_t kMaxArgs = 4096;
/// Items in any other list (labels, mounts, env, capabilities, filters...).
inline constexpr std::size_t kMaxListItems = 1024;
inline constexpr std::size_t kMaxSignalBytes = 32;
/// A registry password or token from X-Registry-Auth (the frontend caps it the same).
inline constexpr std::size_t kMaxRegistryPasswordBytes = 4096;
/// GET /containers/json?limit=
inline constexpr std::int32_t kMaxListLimit = 100000;
/// ?t= of stop/restart: a day.
inline constexpr std::int32_t kMaxTimeoutSeconds = 86400;
/// ?tail= of logs.
inline constexpr std::int64_t kMaxLogTail = 1'000'000'000;

}  // namespace dockerbox::broker
