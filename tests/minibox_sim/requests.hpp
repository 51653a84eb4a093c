// minibox-sim: request decoding with serde's acceptance rules (minibox-protocol.md §3, §5).
// Input: one untrusted request line from a test client. Every field is type-checked against a
// per-variant table before a handler sees it, so handlers read fields without re-checking.
#pragma once

#include "tests/minibox_sim/wire.hpp"

#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace dockerbox::sim {

/// A request whose fields all have the documented types. `fields` is the request object as
/// sent (unknown fields included, ignored by handlers).
struct Request {
  std::string type;
  json::object fields;
};

/// Decodes one trimmed line. On failure returns the text that follows `invalid request: `
/// (shaped like serde_json's messages; only the prefix is a stable contract, §2).
std::variant<Request, std::string> decodeRequest(std::string_view line, Mode mode);

// Typed accessors for fields that decodeRequest has already checked.
std::string strField(const json::object& o, std::string_view key);
std::optional<std::string> optStrField(const json::object& o, std::string_view key);
bool boolField(const json::object& o, std::string_view key);  // defaulted fields: false
std::vector<std::string> strListField(const json::object& o, std::string_view key);  // default []
bool isPresent(const json::object& o, std::string_view key);  // present and not null

}  // namespace dockerbox::sim
