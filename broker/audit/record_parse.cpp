// Runs as root (tail recovery in the broker) and as the admin's audit-verify.
// Input: untrusted bytes of one audit line; the file may have been edited by anyone who
// could write it. Every size, depth and type is checked before use.
#include <array>
#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>
#include <initializer_list>
#include <limits>

#include "broker/audit/json_line.hpp"
#include "broker/audit/limits.hpp"
#include "broker/audit/record_line.hpp"
#include "broker/audit/sha256.hpp"

namespace dockerbox::broker::audit {

namespace json = boost::json;

namespace {

constexpr std::string_view kHashMember = ",\"hash\":\"";
constexpr std::size_t kSuffixBytes = kHashMember.size() + 64 + 2;  // ,"hash":"<64 hex>"}
constexpr std::uint64_t kMaxId = std::numeric_limits<std::uint32_t>::max();
// Members of every line; the kind's own come on top (exact set, nothing else).
constexpr std::array<std::string_view, 6> kCommonMembers = {"v",    "seq",  "time",
                                                            "kind", "prev", "hash"};

Error bad(std::string what) { return fail(ErrorKind::BadRequest, std::move(what)); }

/// Reads typed members, remembering the first problem.
class Members {
 public:
  explicit Members(const json::object& object) : object_(object) {}

  std::uint64_t uint(std::string_view key,
                     std::uint64_t max = std::numeric_limits<std::uint64_t>::max()) {
    const json::value* v = object_.if_contains(key);
    std::uint64_t n = 0;
    if (v && v->is_uint64()) {
      n = v->get_uint64();
    } else if (v && v->is_int64() && v->get_int64() >= 0) {
      n = static_cast<std::uint64_t>(v->get_int64());
    } else {
      problem(key, "is missing or not an unsigned integer");
      return 0;
    }
    if (n > max) problem(key, "is out of range");
    return n;
  }
  void uintOrNull(std::string_view key, std::uint64_t max) {
    const json::value* v = object_.if_contains(key);
    if (!v || !v->is_null()) uint(key, max);
  }
  std::string_view string(std::string_view key) {
    const json::value* v = object_.if_contains(key);
    if (!v || !v->is_string()) {
      problem(key, "is missing or not a string");
      return {};
    }
    return v->get_string();
  }
  std::string_view oneOf(std::string_view key, std::initializer_list<std::string_view> allowed) {
    std::string_view s = string(key);
    for (auto a : allowed) {
      if (s == a) return s;
    }
    problem(key, "has a value that is not allowed");
    return {};
  }
  void boolean(std::string_view key) {
    const json::value* v = object_.if_contains(key);
    if (!v || !v->is_bool()) problem(key, "is missing or not a boolean");
  }
  const json::array* array(std::string_view key) {
    const json::value* v = object_.if_contains(key);
    if (!v || !v->is_array()) {
      problem(key, "is missing or not an array");
      return nullptr;
    }
    return &v->get_array();
  }
  /// The object has exactly the common members, `members` and any present `optional` ones.
  void exactly(std::initializer_list<std::string_view> members,
               std::initializer_list<std::string_view> optional = {}) {
    std::size_t expected = kCommonMembers.size() + members.size();
    for (auto m : members) {
      if (!object_.contains(m)) problem(m, "is missing");
    }
    for (auto m : optional) expected += object_.contains(m) ? 1 : 0;
    if (object_.size() != expected && error_.empty()) {
      error_ = "has a member its kind does not define";
    }
  }

  void problem(std::string_view key, std::string_view what) {
    if (error_.empty()) error_ = "member \"" + std::string(key) + "\" " + std::string(what);
  }
  [[nodiscard]] const std::string& error() const { return error_; }

 private:
  const json::object& object_;
  std::string error_;
};

std::optional<RecordKind> kindFromName(std::string_view name) {
  for (auto k : {RecordKind::Request, RecordKind::Outcome, RecordKind::PolicyReload,
                 RecordKind::Rotation, RecordKind::ChainBreak}) {
    if (kindName(k) == name) return k;
  }
  return std::nullopt;
}

/// "objects": [{type, id, name}, ...], at most kMaxObjects.
void checkObjects(Members& m) {
  if (const auto* objects = m.array("objects")) {
    if (objects->size() > kMaxObjects) m.problem("objects", "has too many entries");
    for (const auto& item : *objects) {
      if (!item.is_object() || item.get_object().size() != 3) {
        return m.problem("objects", "must hold objects with exactly type, id and name");
      }
      Members ref(item.get_object());
      ref.string("type");
      ref.string("id");
      ref.string("name");
      if (!ref.error().empty()) return m.problem("objects", "entry: " + ref.error());
    }
  }
}

void checkRequest(Members& m, const json::object& o) {
  m.exactly({"uid", "gid", "groups", "pid", "loginuid", "operation", "objects", "decision",
             "would_deny", "rule", "reason"},
            {"objects_omitted"});
  m.uint("uid", kMaxId);
  m.uint("gid", kMaxId);
  if (const auto* groups = m.array("groups")) {
    for (const auto& g : *groups) {
      if (!(g.is_int64() && g.get_int64() >= 0 &&
            static_cast<std::uint64_t>(g.get_int64()) <= kMaxId) &&
          !(g.is_uint64() && g.get_uint64() <= kMaxId)) {
        return m.problem("groups", "must hold only unsigned 32-bit integers");
      }
    }
  }
  m.uint("pid", static_cast<std::uint64_t>(std::numeric_limits<pid_t>::max()));
  m.uintOrNull("loginuid", kMaxId);
  m.string("operation");
  checkObjects(m);
  if (o.contains("objects_omitted")) m.uint("objects_omitted");
  m.oneOf("decision", {"allow", "deny"});
  m.boolean("would_deny");
  m.string("rule");
  m.string("reason");
}

void checkOutcome(Members& m, const json::object& o, ParsedLine& out) {
  m.exactly({"ref", "outcome", "error_kind", "message"}, {"objects"});
  if (o.contains("objects")) checkObjects(m);  // what the request resolved to (ids)
  out.ref = m.uint("ref");
  if (m.oneOf("outcome", {"ok", "error"}) == "ok") {
    if (!o.contains("error_kind") || !o.at("error_kind").is_null()) {
      m.problem("error_kind", "must be null when outcome is ok");
    }
  } else {
    std::string_view kind = m.string("error_kind");
    bool known = false;
    for (auto k : {ErrorKind::Internal, ErrorKind::BadRequest, ErrorKind::NotFound,
                   ErrorKind::Conflict, ErrorKind::Forbidden, ErrorKind::Unavailable,
                   ErrorKind::NotImplemented, ErrorKind::NotModified}) {
      known = known || kind == toString(k);
    }
    if (!known) m.problem("error_kind", "is not a known error kind");
  }
  m.string("message");
}

void checkKind(RecordKind kind, Members& m, const json::object& o, ParsedLine& out) {
  switch (kind) {
    case RecordKind::Request:
      return checkRequest(m, o);
    case RecordKind::Outcome:
      return checkOutcome(m, o, out);
    case RecordKind::PolicyReload:
      m.exactly({"result", "file", "error"});
      m.oneOf("result", {"ok", "failed"});
      m.string("file");
      m.string("error");
      return;
    case RecordKind::Rotation:
      m.exactly({"reason"});
      m.oneOf("reason", {"requested", "size", "recovered"});
      return;
    case RecordKind::ChainBreak:
      m.exactly({"reason"});
      m.string("reason");
      return;
  }
}

}  // namespace

Result<ParsedLine> parseLine(std::string_view untrustedLine) {
  std::string_view line = untrustedLine;
  if (line.size() > kMaxLineBytes) {
    return bad("line is longer than " + std::to_string(kMaxLineBytes) + " bytes");
  }
  if (line.size() < kSuffixBytes ||
      line.substr(line.size() - kSuffixBytes, kHashMember.size()) != kHashMember ||
      line.substr(line.size() - 2) != "\"}" || !isHashHex(line.substr(line.size() - 66, 64))) {
    return bad("line does not end with its hash member (truncated, or not an audit record)");
  }
  std::string_view body = line.substr(0, line.size() - kSuffixBytes);
  if (sha256Hex(body) != line.substr(line.size() - 66, 64)) {
    return bad("line hash does not match its content (line edited)");
  }
  for (std::size_t i = 0; i < line.size(); ++i) {
    auto c = static_cast<unsigned char>(line[i]);
    if (c < 0x20 || c > 0x7E) {
      return bad("byte " + std::to_string(c) + " at column " + std::to_string(i + 1) +
                 " is not printable ASCII");
    }
  }

  json::parse_options options;
  options.max_depth = 3;  // the format nests three deep: line > "objects" array > object
  boost::system::error_code ec;
  json::value value = json::parse(line, ec, json::storage_ptr(), options);
  if (ec) return bad("not valid JSON: " + ec.message());
  if (!value.is_object()) return bad("not a JSON object");
  const json::object& o = value.get_object();

  Members m(o);
  ParsedLine out;
  if (m.uint("v") != 1) return bad("unknown format version (member \"v\" must be 1)");
  out.seq = m.uint("seq");
  if (!looksLikeTime(m.string("time"))) m.problem("time", "is not RFC 3339 UTC with nanoseconds");
  std::optional<RecordKind> kind = kindFromName(m.string("kind"));
  if (!kind) return bad(m.error().empty() ? "unknown record kind" : m.error());
  out.kind = *kind;
  out.prev = std::string(m.string("prev"));
  if (!isHashHex(out.prev)) m.problem("prev", "is not 64 lowercase hex digits");
  checkKind(*kind, m, o, out);
  if (!m.error().empty()) return bad(std::string(kindName(*kind)) + " record: " + m.error());
  if (out.seq == 0) return bad("member \"seq\" must be at least 1");
  out.lineHash = sha256Hex(line);
  return out;
}

}  // namespace dockerbox::broker::audit
