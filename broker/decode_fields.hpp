// Runs as root. Input: fields of untrusted frames from a frontend worker.
//
// Field-level checks used only by broker/decoder.cpp. A `malformed` error means the frame
// itself is hostile or broken (the channel is closed); an `invalid` error is an ordinary
// bad client request (answered with HTTP 400).
#pragma once

#include "broker/request.hpp"
#include "common/result.hpp"
#include "ipc/dockerbox.capnp.h"

#include <capnp/list.h>

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace dockerbox::broker::decode {

inline constexpr const char* kMalformedTag = "malformed: ";

[[nodiscard]] Error malformed(const std::string& what);
[[nodiscard]] Error invalid(const std::string& message);
[[nodiscard]] bool isMalformed(const Error& e);

/// Text of at most `maxBytes`, without NUL bytes.
[[nodiscard]] Result<std::string> text(capnp::Text::Reader in, std::size_t maxBytes, const char* what);
[[nodiscard]] Result<std::vector<std::string>> textList(capnp::List<capnp::Text>::Reader in, std::size_t maxItems,
                                                        std::size_t maxBytes, const char* what);
/// "KEY=VALUE" (or "KEY") entries with a non-empty key.
[[nodiscard]] Result<std::vector<std::string>> envList(capnp::List<capnp::Text>::Reader in);
[[nodiscard]] Result<KeyValues> keyValues(capnp::List<ipc::wire::KeyValue>::Reader in, const char* what);
/// 1..256 printable bytes.
[[nodiscard]] Result<ContainerRef> containerRef(capnp::Text::Reader in);
[[nodiscard]] Result<std::string> imageRef(capnp::Text::Reader in);
/// Docker's rule for local volume names: "[a-zA-Z0-9][a-zA-Z0-9_.-]+", at most 255 bytes.
/// BadRequest with Docker's message otherwise.
[[nodiscard]] Result<void> checkVolumeName(std::string_view name);
/// A new volume's name from the wire (empty: the engine picks one).
[[nodiscard]] Result<std::string> newVolumeName(capnp::Text::Reader in);
/// Exactly 64 lowercase hex digits.
[[nodiscard]] Result<std::string> hexId(capnp::Text::Reader in, const char* what);
/// -1 (unset) or 0..kMaxTimeoutSeconds.
[[nodiscard]] Result<std::optional<std::int32_t>> timeout(std::int32_t seconds);
/// "KILL", "SIGKILL", "9", "sigterm"... to a signal number (1..64).
[[nodiscard]] Result<int> signalNumber(const std::string& name);
/// Docker's detach keys ("ctrl-p,ctrl-q", "ctrl-x,x", ...: single characters or ctrl- with
/// a-z, @, [, \, ], ^ or _; at most 16) to the bytes that end an attach; "" is Docker's
/// default, ctrl-p ctrl-q.
[[nodiscard]] Result<std::string> detachKeySequence(std::string_view keys);
[[nodiscard]] Result<CreateContainerOp> createContainer(ipc::wire::ContainerConfig::Reader in);

}  // namespace dockerbox::broker::decode
