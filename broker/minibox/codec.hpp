// Runs as root, in the broker. The miniboxd JSON-lines codec: encodes requests with only the
// v0.19 field set (protocol section 9) and decodes one reply line into a checked Reply.
// Pure functions, no I/O. Encoders live in codec.cpp, the decoder in codec_decode.cpp (split
// only to keep files short).
#pragma once

#include "broker/minibox/image_ref.hpp"
#include "broker/minibox/types.hpp"
#include "broker/minibox/wire_values.hpp"
#include "common/result.hpp"

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

namespace dockerbox::broker::minibox {

[[nodiscard]] EncodedRequest encodeRun(const RunSpec& spec, RunMode mode);
[[nodiscard]] EncodedRequest encodeStop(std::string_view idOrName);
[[nodiscard]] EncodedRequest encodePauseContainer(std::string_view id);
[[nodiscard]] EncodedRequest encodeResumeContainer(std::string_view id);
[[nodiscard]] EncodedRequest encodeRemove(std::string_view idOrName);
[[nodiscard]] EncodedRequest encodeList();
/// `image` is the repository (ImageRef::wireRepository()), the tag goes separately.
[[nodiscard]] EncodedRequest encodePull(const ImageRef& ref);
[[nodiscard]] EncodedRequest encodeExec(const ExecSpec& spec);
/// `follow` is always false: miniboxd ignores it and always ends after the current content.
[[nodiscard]] EncodedRequest encodeContainerLogs(std::string_view idOrName);
[[nodiscard]] EncodedRequest encodeSubscribeEvents();
/// HEAD only; v0.19 answers `invalid request: unknown variant` (used as the version probe).
[[nodiscard]] EncodedRequest encodeListImages();
/// Sends the store name (`library/alpine:latest`): miniboxd deletes by store name only.
[[nodiscard]] EncodedRequest encodeRemoveImage(const ImageRef& ref);
[[nodiscard]] EncodedRequest encodeSendInput(std::string_view sessionId,
                                             std::span<const std::uint8_t> data);

/// Decodes one reply line (trailing `\r`/whitespace allowed, `\n` already stripped). Malformed
/// JSON, an unknown `type`, a missing or mistyped field: an Internal Error, never a crash.
[[nodiscard]] Result<Reply> decodeReply(std::string_view untrustedLine);

/// True when miniboxd sends nothing more for the request after this reply (protocol 2.1).
/// Detached Run (ends on ContainerCreated) and SubscribeEvents (never ends) are the caller's.
[[nodiscard]] bool isTerminal(const Reply& reply);
[[nodiscard]] std::string_view replyType(const Reply& reply);

/// The Error for an `Error{message}` reply to `request`. The kind is derived from the message
/// prefixes documented in protocol section 7; the message is miniboxd's text.
[[nodiscard]] Error errorFromReply(const ErrorReply& reply, RequestType request);

/// The Error for a reply that does not belong to `request` at this point of the exchange.
[[nodiscard]] Error unexpectedReply(const Reply& reply, RequestType request);

/// The reply as T, the Error an ErrorReply carries, or unexpectedReply for anything else.
template <class T>
[[nodiscard]] Result<T> expectReply(Result<Reply> reply, RequestType request) {
  if (!reply) return reply.error();
  if (auto* wanted = std::get_if<T>(&*reply)) return std::move(*wanted);
  if (auto* error = std::get_if<ErrorReply>(&*reply)) return errorFromReply(*error, request);
  return unexpectedReply(*reply, request);
}

/// True when an Error reply says the daemon does not know the request type (v0.19 answering a
/// HEAD-only request).
[[nodiscard]] bool isUnknownVariant(const ErrorReply& reply);

}  // namespace dockerbox::broker::minibox
