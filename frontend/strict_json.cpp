#include "frontend/strict_json.hpp"

#include "frontend/limits.hpp"

#include <boost/json/basic_parser_impl.hpp>

#include <algorithm>
#include <limits>

namespace dockerbox::frontend {
namespace {

namespace json = boost::json;
using boost::system::error_code;

Error invalidJson(std::string detail) {
  return fail(ErrorKind::BadRequest, "invalid JSON: " + std::move(detail));
}

/// Builds a json::value from SAX events, refusing repeated keys and long lists.
class TreeHandler {
 public:
  static constexpr std::size_t max_object_size = kMaxJsonItems;
  static constexpr std::size_t max_array_size = kMaxJsonItems;
  static constexpr std::size_t max_key_size = kMaxBodyBytes;
  static constexpr std::size_t max_string_size = kMaxBodyBytes;

  bool on_document_begin(error_code&) { return true; }
  bool on_document_end(error_code&) { return true; }
  bool on_array_begin(error_code&) { return open(json::array()); }
  bool on_array_end(std::size_t, error_code& ec) { return close(ec); }
  bool on_object_begin(error_code&) { return open(json::object()); }
  bool on_object_end(std::size_t, error_code& ec) { return close(ec); }
  bool on_string_part(json::string_view s, std::size_t, error_code&) {
    text_.append(s.data(), s.size());
    return true;
  }
  bool on_string(json::string_view s, std::size_t, error_code& ec) {
    text_.append(s.data(), s.size());
    json::value v(json::string(text_.data(), text_.size()));
    text_.clear();
    return put(std::move(v), ec);
  }
  bool on_key_part(json::string_view s, std::size_t, error_code&) {
    key_.append(s.data(), s.size());
    return true;
  }
  bool on_key(json::string_view s, std::size_t, error_code&) {
    key_.append(s.data(), s.size());
    return true;
  }
  bool on_number_part(json::string_view, error_code&) { return true; }
  bool on_int64(std::int64_t i, json::string_view, error_code& ec) { return put(json::value(i), ec); }
  bool on_uint64(std::uint64_t u, json::string_view, error_code& ec) { return put(json::value(u), ec); }
  bool on_double(double d, json::string_view, error_code& ec) { return put(json::value(d), ec); }
  bool on_bool(bool b, error_code& ec) { return put(json::value(b), ec); }
  bool on_null(error_code& ec) { return put(json::value(nullptr), ec); }
  bool on_comment_part(json::string_view, error_code&) { return true; }
  bool on_comment(json::string_view, error_code&) { return true; }

  json::value root;
  std::string problem;  // set when the handler refused the document

 private:
  struct Open {
    json::value container;
    std::string key;  // where it goes in its parent object
  };

  bool open(json::value container) {
    open_.push_back(Open{std::move(container), std::move(key_)});
    key_.clear();
    return true;
  }

  bool close(error_code& ec) {
    Open done = std::move(open_.back());
    open_.pop_back();
    key_ = std::move(done.key);
    return put(std::move(done.container), ec);
  }

  bool put(json::value v, error_code& ec) {
    if (open_.empty()) {
      root = std::move(v);
      return true;
    }
    json::value& parent = open_.back().container;
    if (parent.is_array()) {
      parent.get_array().push_back(std::move(v));
      return true;
    }
    json::object& object = parent.get_object();
    if (object.contains(key_)) {
      problem = "duplicate key \"" + key_ + "\"";
      ec = json::error::syntax;
      return false;
    }
    object.emplace(key_, std::move(v));
    key_.clear();
    return true;
  }

  std::vector<Open> open_;
  std::string key_;
  std::string text_;
};

bool isJsonSpace(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

std::string_view kindName(const json::value& v) {
  switch (v.kind()) {
    case json::kind::null: return "null";
    case json::kind::bool_: return "bool";
    case json::kind::int64:
    case json::kind::uint64:
    case json::kind::double_: return "number";
    case json::kind::string: return "string";
    case json::kind::array: return "array";
    case json::kind::object: return "object";
  }
  return "value";
}

}  // namespace

Result<json::value> parseStrictJson(std::string_view text) {
  if (std::all_of(text.begin(), text.end(), isJsonSpace)) {
    return invalidJson("got EOF while reading request body");
  }
  json::parse_options options;
  options.max_depth = kMaxJsonDepth;
  json::basic_parser<TreeHandler> parser(options);
  error_code ec;
  std::size_t used = parser.write_some(false, text.data(), text.size(), ec);
  if (ec) {
    if (!parser.handler().problem.empty()) return invalidJson(parser.handler().problem);
    return invalidJson(ec.message());
  }
  if (!std::all_of(text.begin() + static_cast<std::ptrdiff_t>(used), text.end(), isJsonSpace)) {
    return fail(ErrorKind::BadRequest, "unexpected content after JSON");
  }
  return std::move(parser.handler().root);
}

std::string foldFieldName(std::string_view name) {
  std::string out;
  out.reserve(name.size());
  for (std::size_t i = 0; i < name.size(); ++i) {
    if (name.substr(i, 3) == "\xE2\x84\xAA") {  // KELVIN SIGN
      out.push_back('k');
      i += 2;
    } else if (name.substr(i, 2) == "\xC5\xBF") {  // LATIN SMALL LETTER LONG S
      out.push_back('s');
      i += 1;
    } else {
      char c = name[i];
      out.push_back(c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c);
    }
  }
  return out;
}

Result<JsonFields> JsonFields::of(const json::value& value, std::string where) {
  if (value.is_null()) return JsonFields(nullptr, std::move(where));
  if (!value.is_object()) {
    return invalidJson("json: cannot unmarshal " + std::string(kindName(value)) +
                       " into Go value of type " + where);
  }
  const json::object& object = value.get_object();
  std::vector<std::string> folded;
  folded.reserve(object.size());
  for (const auto& entry : object) folded.push_back(foldFieldName(entry.key()));
  std::sort(folded.begin(), folded.end());
  if (auto dup = std::adjacent_find(folded.begin(), folded.end()); dup != folded.end()) {
    return invalidJson("duplicate key \"" + *dup + "\" in " + where +
                       " (keys are matched case-insensitively)");
  }
  return JsonFields(&object, std::move(where));
}

const json::value* JsonFields::find(std::string_view name) const {
  if (object_ == nullptr) return nullptr;
  // Exact match first, as Go does; keys differing only in case were refused in of().
  if (auto exact = object_->find(name); exact != object_->end()) {
    return exact->value().is_null() ? nullptr : &exact->value();
  }
  std::string want = foldFieldName(name);
  for (const auto& entry : *object_) {
    if (foldFieldName(entry.key()) == want) {
      return entry.value().is_null() ? nullptr : &entry.value();
    }
  }
  return nullptr;
}

Error JsonFields::typeError(std::string_view name, const json::value& got,
                            std::string_view goType) const {
  return invalidJson("json: cannot unmarshal " + std::string(kindName(got)) +
                     " into Go struct field " + where_ + "." + std::string(name) + " of type " +
                     std::string(goType));
}

Result<std::string> JsonFields::getString(std::string_view name) const {
  const json::value* v = find(name);
  if (v == nullptr) return std::string();
  if (!v->is_string()) return typeError(name, *v, "string");
  return std::string(v->get_string());
}

Result<bool> JsonFields::getBool(std::string_view name) const {
  const json::value* v = find(name);
  if (v == nullptr) return false;
  if (!v->is_bool()) return typeError(name, *v, "bool");
  return v->get_bool();
}

Result<std::int64_t> JsonFields::getInt(std::string_view name, std::int64_t absent) const {
  const json::value* v = find(name);
  if (v == nullptr) return absent;
  if (v->is_int64()) return v->get_int64();
  if (v->is_uint64() && v->get_uint64() <= static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) {
    return static_cast<std::int64_t>(v->get_uint64());
  }
  return typeError(name, *v, "int64");  // Go refuses 1.5 and 1e9 for integers too
}

Result<std::optional<std::vector<std::string>>> JsonFields::getStringList(
    std::string_view name) const {
  const json::value* v = find(name);
  if (v == nullptr) return std::optional<std::vector<std::string>>();
  if (!v->is_array()) return typeError(name, *v, "[]string");
  std::vector<std::string> out;
  for (const auto& item : v->get_array()) {
    if (item.is_null()) {
      out.emplace_back();  // Go leaves the element at its zero value
    } else if (item.is_string()) {
      out.emplace_back(item.get_string());
    } else {
      return typeError(name, item, "string");
    }
  }
  return std::optional<std::vector<std::string>>(std::move(out));
}

Result<std::optional<std::vector<std::string>>> JsonFields::getStrSlice(
    std::string_view name) const {
  const json::value* v = find(name);
  if (v != nullptr && v->is_string()) {
    return std::optional<std::vector<std::string>>(std::vector<std::string>{std::string(v->get_string())});
  }
  return getStringList(name);
}

Result<std::vector<std::pair<std::string, std::string>>> JsonFields::getStringMap(
    std::string_view name) const {
  std::vector<std::pair<std::string, std::string>> out;
  const json::value* v = find(name);
  if (v == nullptr) return out;
  if (!v->is_object()) return typeError(name, *v, "map[string]string");
  for (const auto& entry : v->get_object()) {
    if (entry.value().is_null()) {
      out.emplace_back(std::string(entry.key()), std::string());
    } else if (entry.value().is_string()) {
      out.emplace_back(std::string(entry.key()), std::string(entry.value().get_string()));
    } else {
      return typeError(name, entry.value(), "string");
    }
  }
  return out;
}

Result<std::vector<std::string>> JsonFields::getKeySet(std::string_view name) const {
  std::vector<std::string> out;
  const json::value* v = find(name);
  if (v == nullptr) return out;
  if (!v->is_object()) return typeError(name, *v, "map[string]struct {}");
  for (const auto& entry : v->get_object()) {
    if (!entry.value().is_null() && !entry.value().is_object()) {
      return typeError(name, entry.value(), "struct {}");
    }
    out.emplace_back(entry.key());
  }
  return out;
}

Result<JsonFields> JsonFields::getStruct(std::string_view name) const {
  static const json::value kNull;
  const json::value* v = find(name);
  std::string where = where_ + "." + std::string(name);
  if (v == nullptr) return JsonFields::of(kNull, std::move(where));
  if (!v->is_object()) return typeError(name, *v, "struct");
  return JsonFields::of(*v, std::move(where));
}

Result<std::vector<JsonFields>> JsonFields::getStructList(std::string_view name) const {
  std::vector<JsonFields> out;
  const json::value* v = find(name);
  if (v == nullptr) return out;
  if (!v->is_array()) return typeError(name, *v, "[]struct");
  for (const auto& item : v->get_array()) {
    auto fields = JsonFields::of(item, where_ + "." + std::string(name));
    if (!fields) return fields.error();
    out.push_back(std::move(*fields));
  }
  return out;
}

}  // namespace dockerbox::frontend
