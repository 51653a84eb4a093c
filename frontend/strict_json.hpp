// Strict JSON for request bodies and query values, decoded the way dockerd's Go decoder
// reads them, minus its ambiguities. Runs in: a frontend worker. Input: untrusted JSON.
//
// - One value per document: trailing bytes other than whitespace are refused (dockerd:
//   "unexpected content after JSON"), and so is an empty document.
// - A key that appears twice in one object is refused. Go keeps the last one silently,
//   which lets a client show one value to a reviewer of its request and use another.
// - Struct fields are matched case-insensitively, like Go's encoding/json ("hostconfig"
//   is HostConfig); two keys of one struct object that differ only in case are refused.
// - Nesting depth and list lengths are capped (limits.hpp) before any IPC is built.
#pragma once

#include "common/result.hpp"

#include <boost/json/value.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace dockerbox::frontend {

/// Parses one JSON document strictly (see above). Errors are BadRequest with dockerd's
/// "invalid JSON: ..." wording.
[[nodiscard]] Result<boost::json::value> parseStrictJson(std::string_view text);

/// Go's case folding for struct field names: ASCII letters, plus the two non-ASCII runes
/// that fold onto ASCII ones (U+212A KELVIN SIGN is 'k', U+017F LONG S is 's').
[[nodiscard]] std::string foldFieldName(std::string_view name);

/// The fields of one JSON object decoded into a Go struct: case-insensitive lookup, no two
/// keys that fold to the same name. `where` names the struct in error messages.
class JsonFields {
 public:
  /// `value` must be an object, or null (an absent struct: every field is absent).
  [[nodiscard]] static Result<JsonFields> of(const boost::json::value& value, std::string where);

  /// The value of field `name`, or nullptr when absent. JSON null counts as absent, as
  /// Go leaves the field at its zero value.
  [[nodiscard]] const boost::json::value* find(std::string_view name) const;

  [[nodiscard]] const std::string& where() const { return where_; }

  // Typed getters, named after Go's field types. Absent or null gives the zero value; a
  // value of the wrong JSON type fails like Go's "cannot unmarshal".
  [[nodiscard]] Result<std::string> getString(std::string_view name) const;
  [[nodiscard]] Result<bool> getBool(std::string_view name) const;
  [[nodiscard]] Result<std::int64_t> getInt(std::string_view name, std::int64_t absent = 0) const;
  /// []string: nullopt when absent or null (Go's nil slice), else the list.
  [[nodiscard]] Result<std::optional<std::vector<std::string>>> getStringList(
      std::string_view name) const;
  /// strslice.StrSlice (Cmd, Entrypoint): a list, or one string taken as a one-item list.
  [[nodiscard]] Result<std::optional<std::vector<std::string>>> getStrSlice(
      std::string_view name) const;
  /// map[string]string, keys in document order (exact keys: map keys are data, not fields).
  [[nodiscard]] Result<std::vector<std::pair<std::string, std::string>>> getStringMap(
      std::string_view name) const;
  /// map[string]struct{} and the like: the keys only; each value must be an object or null.
  [[nodiscard]] Result<std::vector<std::string>> getKeySet(std::string_view name) const;
  /// A nested struct; an absent or null field gives an empty one.
  [[nodiscard]] Result<JsonFields> getStruct(std::string_view name) const;
  /// A list of structs ([]mount.Mount); absent or null gives none.
  [[nodiscard]] Result<std::vector<JsonFields>> getStructList(std::string_view name) const;

  /// Go's "json: cannot unmarshal <what> into Go struct field <where>.<name> of type <type>".
  [[nodiscard]] Error typeError(std::string_view name, const boost::json::value& got,
                                std::string_view goType) const;

 private:
  JsonFields(const boost::json::object* object, std::string where)
      : object_(object), where_(std::move(where)) {}
  const boost::json::object* object_ = nullptr;  // null: an absent struct
  std::string where_;
};

}  // namespace dockerbox::frontend
