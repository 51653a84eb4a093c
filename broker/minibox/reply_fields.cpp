// Runs as root, in the broker. Input: JSON objects parsed from miniboxd reply lines.
#include "broker/minibox/reply_fields.hpp"

#include "broker/minibox/wire_values.hpp"

#include <boost/json.hpp>

#include <array>
#include <limits>

namespace dockerbox::broker::minibox {
namespace {

namespace json = boost::json;

constexpr std::array<std::pair<std::string_view, OutputStream>, 2> kStreams = {
    {{"stdout", OutputStream::Stdout}, {"stderr", OutputStream::Stderr}}};

// Capitalised, as the daemon writes them (the lowercase doc comments upstream are wrong).
constexpr std::array<std::pair<std::string_view, ContainerState>, 6> kStates = {
    {{"Created", ContainerState::Created},
     {"Running", ContainerState::Running},
     {"Paused", ContainerState::Paused},
     {"Stopped", ContainerState::Stopped},
     {"Failed", ContainerState::Failed},
     {"Orphaned", ContainerState::Orphaned}}};

constexpr std::array<std::pair<std::string_view, EventKind>, 9> kEventKinds = {
    {{"created", EventKind::Created},
     {"started", EventKind::Started},
     {"stopped", EventKind::Stopped},
     {"paused", EventKind::Paused},
     {"resumed", EventKind::Resumed},
     {"oom_killed", EventKind::OomKilled},
     {"image_pulled", EventKind::ImagePulled},
     {"image_removed", EventKind::ImageRemoved},
     {"image_pruned", EventKind::ImagePruned}}};

/// A JSON integer as int64 when it fits; Boost.JSON keeps integers above INT64_MAX as uint64.
std::optional<std::uint64_t> unsignedValue(const json::value& value) {
  if (const auto* i = value.if_int64(); i != nullptr && *i >= 0) return std::uint64_t(*i);
  if (const auto* u = value.if_uint64(); u != nullptr) return *u;
  return std::nullopt;
}

}  // namespace

Fields::Fields(const json::object& object, std::string where)
    : Fields(&object, std::move(where), std::make_shared<std::optional<Error>>()) {}

Fields::Fields(const json::object* object, std::string where, Slot slot)
    : object_(object), where_(std::move(where)), slot_(std::move(slot)) {}

void Fields::reject(std::string why) {
  if (failed()) return;
  *slot_ = fail(ErrorKind::Internal, "malformed reply from miniboxd", where_ + ": " + why);
}

Error Fields::error() const {
  return slot_->value_or(fail(ErrorKind::Internal, "malformed reply from miniboxd", where_));
}

void Fields::mistyped(std::string_view key, std::string_view expected) {
  reject("field `" + std::string(key) + "` is not " + std::string(expected));
}

const json::value* Fields::find(std::string_view key) {
  if (object_ == nullptr) return nullptr;  // the enclosing object already failed
  const json::value* value = object_->if_contains(key);
  if (value == nullptr) reject("field `" + std::string(key) + "` is missing");
  return value;
}

std::string Fields::string(std::string_view key) {
  const json::value* value = find(key);
  if (value == nullptr) return {};
  if (const auto* text = value->if_string()) return std::string(*text);
  mistyped(key, "a string");
  return {};
}

std::optional<std::string> Fields::optionalString(std::string_view key) {
  if (object_ == nullptr) return std::nullopt;
  const json::value* value = object_->if_contains(key);
  if (value == nullptr || value->is_null()) return std::nullopt;
  return string(key);
}

std::uint64_t Fields::u64(std::string_view key) {
  const json::value* value = find(key);
  if (value == nullptr) return 0;
  if (auto number = unsignedValue(*value)) return *number;
  mistyped(key, "an unsigned integer");
  return 0;
}

std::uint32_t Fields::u32(std::string_view key) {
  const std::uint64_t value = u64(key);
  if (value <= std::numeric_limits<std::uint32_t>::max()) return std::uint32_t(value);
  mistyped(key, "a 32-bit unsigned integer");
  return 0;
}

std::optional<std::uint32_t> Fields::optionalU32(std::string_view key) {
  if (object_ == nullptr) return std::nullopt;
  const json::value* value = object_->if_contains(key);
  if (value == nullptr || value->is_null()) return std::nullopt;
  return u32(key);
}

std::int32_t Fields::i32(std::string_view key) {
  const json::value* value = find(key);
  if (value == nullptr) return 0;
  const auto* number = value->if_int64();
  if (number != nullptr && *number >= std::numeric_limits<std::int32_t>::min() &&
      *number <= std::numeric_limits<std::int32_t>::max()) {
    return std::int32_t(*number);
  }
  mistyped(key, "a 32-bit integer");
  return 0;
}

std::uint32_t Fields::nanos(std::string_view key) {
  const std::uint32_t value = u32(key);
  if (value < 1'000'000'000U) return value;
  mistyped(key, "below 1e9");
  return 0;
}

bool Fields::boolean(std::string_view key) {
  const json::value* value = find(key);
  if (value == nullptr) return false;
  if (const auto* flag = value->if_bool()) return *flag;
  mistyped(key, "a boolean");
  return false;
}

const json::array* Fields::array(std::string_view key) {
  const json::value* value = find(key);
  if (value == nullptr) return nullptr;
  if (const auto* items = value->if_array()) return items;
  mistyped(key, "an array");
  return nullptr;
}

std::vector<std::string> Fields::strings(std::string_view key) {
  std::vector<std::string> out;
  const json::array* items = array(key);
  if (items == nullptr) return out;
  out.reserve(items->size());
  for (const json::value& item : *items) {
    const auto* text = item.if_string();
    if (text == nullptr) {
      mistyped(key, "an array of strings");
      return {};
    }
    out.emplace_back(*text);
  }
  return out;
}

std::vector<std::uint8_t> Fields::base64(std::string_view key) {
  const std::string text = string(key);
  if (failed()) return {};
  auto bytes = base64Decode(text);
  if (bytes) return std::move(*bytes);
  reject("field `" + std::string(key) + "`: " + bytes.error().context);
  return {};
}

template <class E>
E Fields::oneOf(std::string_view key, std::span<const std::pair<std::string_view, E>> names) {
  const std::string text = string(key);
  if (failed()) return names.front().second;
  for (const auto& [name, value] : names) {
    if (name == text) return value;
  }
  reject("field `" + std::string(key) + "` has unknown value `" + text.substr(0, 64) + "`");
  return names.front().second;
}

OutputStream Fields::stream(std::string_view key) { return oneOf<OutputStream>(key, kStreams); }
ContainerState Fields::state(std::string_view key) { return oneOf<ContainerState>(key, kStates); }
EventKind Fields::eventKind(std::string_view key) { return oneOf<EventKind>(key, kEventKinds); }

std::int64_t Fields::rfc3339(std::string_view key) {
  const std::string text = string(key);
  if (failed()) return 0;
  auto nanos = parseRfc3339Nanos(text);
  if (nanos) return *nanos;
  reject("field `" + std::string(key) + "`: " + nanos.error().context);
  return 0;
}

std::string Fields::anyJson(std::string_view key) {
  const json::value* value = find(key);
  return value == nullptr ? std::string() : json::serialize(*value);
}

Fields Fields::object(std::string_view key) {
  const json::value* value = find(key);
  const json::object* nested = value == nullptr ? nullptr : value->if_object();
  if (value != nullptr && nested == nullptr) mistyped(key, "an object");
  return Fields(nested, where_ + "." + std::string(key), slot_);
}

Fields Fields::element(const json::array& items, std::size_t index, std::string_view key) {
  const json::object* nested = items[index].if_object();
  if (nested == nullptr) mistyped(key, "an array of objects");
  return Fields(nested, where_ + "." + std::string(key) + "[" + std::to_string(index) + "]", slot_);
}

}  // namespace dockerbox::broker::minibox
