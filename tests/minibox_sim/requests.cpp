// minibox-sim: request decoding. Input: untrusted request lines from test clients.
#include "tests/minibox_sim/requests.hpp"

#include <array>

namespace dockerbox::sim {
namespace {

enum class Kind { Str, Bool, U16, U32, U64, StrList, Mounts, Network, Credentials, Pairs, Any };
enum class Need { Required, Optional, Defaulted };

struct Field {
  std::string_view name;
  Kind kind;
  Need need;
  bool headOnly = false;
};

struct Variant {
  std::string_view name;
  bool headOnly;
  std::vector<Field> fields;
};

constexpr Need R = Need::Required;
constexpr Need O = Need::Optional;
constexpr Need D = Need::Defaulted;

// One entry per request variant, fields in declaration order (§5). `headOnly` fields are
// unknown (hence ignored) in v0.19 mode; `headOnly` variants are unknown variants there.
const std::vector<Variant>& variants() {
  static const std::vector<Variant> kVariants = {
      {"Run", false, {{"image", Kind::Str, R}, {"tag", Kind::Str, O},
                      {"command", Kind::StrList, R}, {"memory_limit_bytes", Kind::U64, O},
                      {"cpu_weight", Kind::U64, O}, {"ephemeral", Kind::Bool, D},
                      {"network", Kind::Network, O}, {"env", Kind::StrList, D},
                      {"mounts", Kind::Mounts, D}, {"privileged", Kind::Bool, D},
                      {"name", Kind::Str, O}, {"tty", Kind::Bool, D},
                      {"entrypoint", Kind::Str, O, true}, {"user", Kind::Str, O, true},
                      {"auto_remove", Kind::Bool, D, true}, {"priority", Kind::Any, O, true},
                      {"urgency", Kind::Any, O, true}, {"execution_context", Kind::Any, O, true},
                      {"platform", Kind::Str, O, true}}},
      {"Stop", false, {{"id", Kind::Str, R}}},
      {"PauseContainer", false, {{"id", Kind::Str, R}}},
      {"ResumeContainer", false, {{"id", Kind::Str, R}}},
      {"Remove", false, {{"id", Kind::Str, R}}},
      {"List", false, {}},
      {"Pull", false, {{"image", Kind::Str, R}, {"tag", Kind::Str, O},
                       {"platform", Kind::Str, O, true}}},
      {"LoadImage", false, {{"path", Kind::Str, R}, {"name", Kind::Str, R}, {"tag", Kind::Str, R}}},
      {"Exec", false, {{"container_id", Kind::Str, R}, {"cmd", Kind::StrList, R},
                       {"env", Kind::StrList, D}, {"working_dir", Kind::Str, O},
                       {"tty", Kind::Bool, D}, {"user", Kind::Str, O, true}}},
      {"SendInput", false, {{"session_id", Kind::Str, R}, {"data", Kind::Str, R}}},
      {"ResizePty", false, {{"session_id", Kind::Str, R}, {"cols", Kind::U16, R},
                            {"rows", Kind::U16, R}}},
      {"Push", false, {{"image_ref", Kind::Str, R}, {"credentials", Kind::Credentials, R}}},
      {"Commit", false, {{"container_id", Kind::Str, R}, {"target_image", Kind::Str, R},
                         {"author", Kind::Str, O}, {"message", Kind::Str, O},
                         {"env_overrides", Kind::StrList, D}, {"cmd_override", Kind::StrList, O}}},
      {"Build", false, {{"dockerfile", Kind::Str, R}, {"context_path", Kind::Str, R},
                        {"tag", Kind::Str, R}, {"build_args", Kind::Pairs, D},
                        {"no_cache", Kind::Bool, D}}},
      {"SubscribeEvents", false, {}},
      {"Prune", false, {{"dry_run", Kind::Bool, D}}},
      {"RemoveImage", false, {{"image_ref", Kind::Str, R}}},
      {"ContainerLogs", false, {{"container_id", Kind::Str, R}, {"follow", Kind::Bool, D}}},
      {"RunPipeline", false, {{"pipeline_path", Kind::Str, R}, {"input", Kind::Any, O},
                              {"image", Kind::Str, O}, {"budget", Kind::Any, O},
                              {"env", Kind::Pairs, D}, {"max_depth", Kind::U32, D},
                              {"priority", Kind::Any, O, true}, {"urgency", Kind::Any, O, true},
                              {"execution_context", Kind::Any, O, true}}},
      {"ListImages", true, {}},
      {"SaveSnapshot", true, {{"id", Kind::Str, R}, {"name", Kind::Str, O}}},
      {"RestoreSnapshot", true, {{"id", Kind::Str, R}, {"name", Kind::Str, R}}},
      {"ListSnapshots", true, {{"id", Kind::Str, R}}},
      {"Update", true, {{"images", Kind::StrList, R}, {"all", Kind::Bool, D},
                        {"containers", Kind::Bool, D}, {"restart", Kind::Bool, D}}},
      {"GetManifest", true, {{"id", Kind::Str, R}}},
      {"VerifyManifest", true, {{"id", Kind::Str, R}, {"policy_json", Kind::Str, R}}},
      // The workflow definition is flattened next to `type`; upstream always answers Error.
      {"RunWorkflow", true, {}},
  };
  return kVariants;
}

/// serde's "unexpected" wording for a JSON value.
std::string describe(const json::value& v) {
  switch (v.kind()) {
    case json::kind::null: return "null";
    case json::kind::bool_: return std::string("boolean `") + (v.get_bool() ? "true" : "false") + "`";
    case json::kind::int64: return "integer `" + std::to_string(v.get_int64()) + "`";
    case json::kind::uint64: return "integer `" + std::to_string(v.get_uint64()) + "`";
    case json::kind::double_: return "floating point `" + json::serialize(v) + "`";
    case json::kind::string: return "string " + json::serialize(v);
    case json::kind::array: return "sequence";
    case json::kind::object: return "map";
  }
  return "value";
}

std::string invalidType(const json::value& v, std::string_view expected) {
  return "invalid type: " + describe(v) + ", expected " + std::string(expected);
}

std::string missing(std::string_view field) { return "missing field `" + std::string(field) + "`"; }

template <std::size_t N>
std::string unknownVariant(std::string_view got, const std::array<std::string_view, N>& names) {
  std::string text = "unknown variant `" + std::string(got) + "`, expected one of ";
  for (std::size_t i = 0; i < N; ++i) text += (i ? ", `" : "`") + std::string(names[i]) + "`";
  return text;
}

std::optional<std::string> checkUnsigned(const json::value& v, std::uint64_t max,
                                         std::string_view name) {
  if (v.is_uint64() && v.get_uint64() <= max) return std::nullopt;
  if (v.is_int64() && v.get_int64() >= 0 && static_cast<std::uint64_t>(v.get_int64()) <= max)
    return std::nullopt;
  if (v.is_int64() || v.is_uint64())
    return "invalid value: " + describe(v) + ", expected " + std::string(name);
  return invalidType(v, name);
}

std::optional<std::string> checkStrings(const json::value& v) {
  if (!v.is_array()) return invalidType(v, "a sequence");
  for (const auto& e : v.get_array()) {
    if (!e.is_string()) return invalidType(e, "a string");
  }
  return std::nullopt;
}

std::optional<std::string> checkStructFields(
    const json::object& o, std::initializer_list<std::pair<std::string_view, Kind>> fields);

std::optional<std::string> checkKind(const json::value& v, Kind kind) {
  switch (kind) {
    case Kind::Str: return v.is_string() ? std::nullopt : std::optional(invalidType(v, "a string"));
    case Kind::Bool: return v.is_bool() ? std::nullopt : std::optional(invalidType(v, "a boolean"));
    case Kind::U16: return checkUnsigned(v, 0xFFFF, "u16");
    case Kind::U32: return checkUnsigned(v, 0xFFFFFFFFULL, "u32");
    case Kind::U64: return checkUnsigned(v, ~0ULL, "u64");
    case Kind::StrList: return checkStrings(v);
    case Kind::Any: return std::nullopt;
    case Kind::Network: {
      static constexpr std::array<std::string_view, 4> kNames = {"None", "Bridge", "Host", "Tailnet"};
      if (!v.is_string()) return invalidType(v, "enum NetworkMode");
      for (auto n : kNames) {
        if (v.get_string() == n) return std::nullopt;
      }
      return unknownVariant(v.get_string(), kNames);
    }
    case Kind::Mounts: {
      if (!v.is_array()) return invalidType(v, "a sequence");
      for (const auto& m : v.get_array()) {
        if (!m.is_object()) return invalidType(m, "struct BindMount");
        auto err = checkStructFields(m.get_object(), {{"host_path", Kind::Str},
                                                       {"container_path", Kind::Str},
                                                       {"read_only", Kind::Bool}});
        if (err) return err;
      }
      return std::nullopt;
    }
    case Kind::Credentials: {
      static constexpr std::array<std::string_view, 3> kNames = {"Anonymous", "Basic", "Token"};
      if (!v.is_object()) return invalidType(v, "internally tagged enum PushCredentials");
      const auto& o = v.get_object();
      const auto* tag = o.if_contains("type");
      if (!tag) return missing("type");
      if (!tag->is_string()) return invalidType(*tag, "variant identifier");
      if (tag->get_string() == "Anonymous") return std::nullopt;
      if (tag->get_string() == "Basic")
        return checkStructFields(o, {{"username", Kind::Str}, {"password", Kind::Str}});
      if (tag->get_string() == "Token") return checkStructFields(o, {{"token", Kind::Str}});
      return unknownVariant(tag->get_string(), kNames);
    }
    case Kind::Pairs: {
      if (!v.is_array()) return invalidType(v, "a sequence");
      for (const auto& p : v.get_array()) {
        if (!p.is_array()) return invalidType(p, "a tuple of size 2");
        if (p.get_array().size() != 2)
          return "invalid length " + std::to_string(p.get_array().size()) +
                 ", expected a tuple of size 2";
        for (const auto& s : p.get_array()) {
          if (!s.is_string()) return invalidType(s, "a string");
        }
      }
      return std::nullopt;
    }
  }
  return std::nullopt;
}

/// All fields required (BindMount, credential variants).
std::optional<std::string> checkStructFields(
    const json::object& o, std::initializer_list<std::pair<std::string_view, Kind>> fields) {
  for (const auto& [name, kind] : fields) {
    const auto* v = o.if_contains(name);
    if (v) {
      if (auto err = checkKind(*v, kind)) return err;
    }
  }
  for (const auto& [name, kind] : fields) {
    if (!o.contains(name)) return missing(name);
  }
  return std::nullopt;
}

std::optional<std::string> checkVariant(const Variant& var, const json::object& o, Mode mode) {
  auto active = [&](const Field& f) { return !f.headOnly || mode == Mode::Head; };
  // serde visits fields in input order (first bad type wins), then reports missing fields.
  for (const auto& [key, value] : o) {
    for (const auto& f : var.fields) {
      if (f.name != key || !active(f)) continue;
      if (value.is_null() && f.need == Need::Optional) break;
      if (auto err = checkKind(value, f.kind)) return err;
      break;
    }
  }
  for (const auto& f : var.fields) {
    if (active(f) && f.need == Need::Required && !o.contains(f.name)) return missing(f.name);
  }
  return std::nullopt;
}

std::string syntaxError(std::string_view line, boost::system::error_code ec, std::size_t used) {
  std::string what = "expected value";
  if (ec == json::error::incomplete) what = "EOF while parsing a value";
  if (ec == json::error::extra_data) what = "trailing characters";
  return what + " at line 1 column " + std::to_string(std::min(used + 1, line.size()));
}

}  // namespace

std::variant<Request, std::string> decodeRequest(std::string_view line, Mode mode) {
  json::stream_parser parser;
  boost::system::error_code ec;
  std::size_t used = parser.write_some(line.data(), line.size(), ec);
  if (!ec) parser.finish(ec);
  if (!ec && used < line.size()) ec = json::error::extra_data;
  if (ec) return syntaxError(line, ec, used);
  json::value root = parser.release();

  std::string at = " at line 1 column " + std::to_string(line.size());
  if (!root.is_object()) return invalidType(root, "internally tagged enum DaemonRequest") + at;
  const auto& o = root.get_object();
  const auto* tag = o.if_contains("type");
  if (!tag) return missing("type") + at;
  if (!tag->is_string()) return invalidType(*tag, "variant identifier") + at;

  for (const auto& var : variants()) {
    if (var.name != tag->get_string() || (var.headOnly && mode == Mode::V019)) continue;
    if (auto err = checkVariant(var, o, mode)) return *err + at;
    return Request{std::string(var.name), o};
  }
  std::string text = "unknown variant `" + std::string(tag->get_string()) + "`, expected one of ";
  bool first = true;
  for (const auto& var : variants()) {
    if (var.headOnly && mode == Mode::V019) continue;
    text += (first ? "`" : ", `") + std::string(var.name) + "`";
    first = false;
  }
  return text + at;
}

std::string strField(const json::object& o, std::string_view key) {
  const auto* v = o.if_contains(key);
  return v && v->is_string() ? std::string(v->get_string()) : std::string();
}

std::optional<std::string> optStrField(const json::object& o, std::string_view key) {
  const auto* v = o.if_contains(key);
  if (!v || !v->is_string()) return std::nullopt;
  return std::string(v->get_string());
}

bool boolField(const json::object& o, std::string_view key) {
  const auto* v = o.if_contains(key);
  return v && v->is_bool() && v->get_bool();
}

std::vector<std::string> strListField(const json::object& o, std::string_view key) {
  std::vector<std::string> out;
  const auto* v = o.if_contains(key);
  if (!v || !v->is_array()) return out;
  for (const auto& e : v->get_array()) out.emplace_back(e.get_string());
  return out;
}

bool isPresent(const json::object& o, std::string_view key) {
  const auto* v = o.if_contains(key);
  return v && !v->is_null();
}

}  // namespace dockerbox::sim
