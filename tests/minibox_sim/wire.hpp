// minibox-sim (test infrastructure, never production): the encoding side of the miniboxd
// wire protocol (minibox-protocol.md §3, §4, §6, §8.9). Builds response and event objects
// with `type` first and fields in the documented order; Boost.JSON objects keep insertion
// order and serialize compactly, which is what serde_json writes.
#pragma once

#include <boost/json.hpp>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace dockerbox::sim {

namespace json = boost::json;
using SystemTime = std::chrono::system_clock::time_point;

/// Which upstream daemon is being imitated (minibox-protocol.md §0, §9, §10 item 13).
enum class Mode { V019, Head };

/// Maximum request line, newline included (§2).
inline constexpr std::size_t kMaxRequestBytes = 1024 * 1024;
/// Maximum raw bytes per ContainerOutput chunk (§7.1).
inline constexpr std::size_t kOutputChunkBytes = 4096;

/// Standard base64 with padding (RFC 4648 alphabet).
std::string base64Encode(std::string_view bytes);
/// Decodes standard padded base64; on failure returns nullopt and a text shaped like the
/// Rust `base64` crate's error (`Invalid symbol 33, offset 0.`).
std::optional<std::string> base64Decode(std::string_view text, std::string& error);

/// RFC 3339 in UTC with 9 fractional digits and a `+00:00` offset (chrono's to_rfc3339).
std::string rfc3339(SystemTime t);
/// serde's encoding of SystemTime: {"secs_since_epoch":u64,"nanos_since_epoch":u32}.
json::object timestampObject(SystemTime t);

/// nullopt for valid UTF-8, else a text like Rust's Utf8Error Display.
std::optional<std::string> utf8Error(std::string_view bytes);

/// True when `type` ends an exchange (§2.1); ContainerCreated, ContainerOutput, ExecStarted,
/// Event, LogLine and the progress types are not terminal.
bool isTerminalType(std::string_view type);

/// Compact JSON plus the terminating newline.
std::string toLine(const json::object& message);

// Response builders, one per response type used by the simulator (§6).
json::object errorMessage(std::string_view message);
json::object successMessage(std::string_view message);
json::object containerCreated(std::string_view id);
json::object containerOutput(std::string_view stream, std::string_view rawBytes);
json::object containerStopped(std::int32_t exitCode);
json::object execStarted(std::string_view execId);
json::object logLine(std::string_view line);
json::object withId(std::string_view type, std::string_view id);

// ContainerEvent payloads wrapped in an `Event` response (§4, §8.8).
json::object eventCreated(std::string_view id, std::string_view image);
json::object eventStarted(std::string_view id, std::int64_t pid);
json::object eventStopped(std::string_view id, std::int32_t exitCode);
json::object eventSimple(std::string_view type, std::string_view id);  // paused, resumed
json::object eventImageRemoved(std::string_view image);
json::object eventImagePruned(std::uint64_t count, std::uint64_t freedBytes);

}  // namespace dockerbox::sim
