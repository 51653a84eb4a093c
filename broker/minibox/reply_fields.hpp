// Runs as root, in the broker. Checked field access on one JSON object of a miniboxd reply.
// Internal to the codec (not part of the library's API). Every getter records the first
// missing or mistyped field and returns a default, so decoders read like the schema and check
// failed() once at the end; nothing here throws or asserts.
#pragma once

#include "broker/minibox/types.hpp"
#include "common/result.hpp"

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace dockerbox::broker::minibox {

class Fields {
 public:
  Fields(const boost::json::object& object, std::string where);

  [[nodiscard]] std::string string(std::string_view key);
  /// Option<String>: absent and `null` both mean empty.
  [[nodiscard]] std::optional<std::string> optionalString(std::string_view key);
  [[nodiscard]] std::uint64_t u64(std::string_view key);
  [[nodiscard]] std::uint32_t u32(std::string_view key);
  [[nodiscard]] std::optional<std::uint32_t> optionalU32(std::string_view key);
  [[nodiscard]] std::int32_t i32(std::string_view key);
  [[nodiscard]] std::uint32_t nanos(std::string_view key);  // u32 below 1e9
  [[nodiscard]] bool boolean(std::string_view key);
  [[nodiscard]] std::vector<std::string> strings(std::string_view key);
  [[nodiscard]] std::vector<std::uint8_t> base64(std::string_view key);
  [[nodiscard]] OutputStream stream(std::string_view key);
  [[nodiscard]] ContainerState state(std::string_view key);
  [[nodiscard]] EventKind eventKind(std::string_view key);
  [[nodiscard]] std::int64_t rfc3339(std::string_view key);
  /// Any JSON value, re-serialised compactly (free-form payloads such as a pipeline trace).
  [[nodiscard]] std::string anyJson(std::string_view key);
  /// A nested object; on failure an empty view whose getters only fail.
  [[nodiscard]] Fields object(std::string_view key);

  template <class T>
  [[nodiscard]] std::vector<T> objects(std::string_view key, T (*decode)(Fields&)) {
    std::vector<T> out;
    const boost::json::array* items = array(key);
    if (items == nullptr) return out;
    out.reserve(items->size());
    for (std::size_t i = 0; i < items->size() && !failed(); ++i) {
      Fields item = element(*items, i, key);
      out.push_back(decode(item));
    }
    return out;
  }

  /// Records a failure that is not about one field (an unknown type tag).
  void reject(std::string why);
  [[nodiscard]] bool failed() const { return slot_->has_value(); }
  [[nodiscard]] Error error() const;

 private:
  using Slot = std::shared_ptr<std::optional<Error>>;
  Fields(const boost::json::object* object, std::string where, Slot slot);

  const boost::json::value* find(std::string_view key);
  const boost::json::array* array(std::string_view key);
  Fields element(const boost::json::array& items, std::size_t index, std::string_view key);
  void mistyped(std::string_view key, std::string_view expected);
  template <class E>
  E oneOf(std::string_view key, std::span<const std::pair<std::string_view, E>> names);

  const boost::json::object* object_;
  std::string where_;
  Slot slot_;  // shared with nested views so the first failure anywhere wins
};

}  // namespace dockerbox::broker::minibox
