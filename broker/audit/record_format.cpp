// Runs as root (broker). Input: typed records (see record.hpp); some strings in them were
// chosen by a client and are escaped by json_line.
#include <algorithm>

#include "broker/audit/json_line.hpp"
#include "broker/audit/limits.hpp"
#include "broker/audit/record_line.hpp"
#include "broker/audit/sha256.hpp"

namespace dockerbox::broker::audit {

namespace {

constexpr std::string_view kHashMember = ",\"hash\":\"";

JsonObjectWriter begin(const LineHeader& header, RecordKind kind) {
  JsonObjectWriter w;
  w.number("v", 1);
  w.number("seq", header.seq);
  w.string("time", formatTime(header.time));
  w.string("kind", kindName(kind));
  return w;
}

/// Appends prev, then the hash of everything before the hash member, and closes the object.
std::string finish(JsonObjectWriter&& w, const LineHeader& header) {
  w.string("prev", header.prev);
  std::string line = std::move(w.open());
  std::string hash = sha256Hex(line);
  line += kHashMember;
  line += hash;
  line += "\"}";
  return line;
}

std::string objectsJson(const std::vector<ObjectRef>& objects) {
  std::string out = "[";
  std::size_t n = std::min(objects.size(), kMaxObjects);
  for (std::size_t i = 0; i < n; ++i) {
    JsonObjectWriter o;
    o.string("type", objects[i].type);
    o.string("id", objects[i].id);
    o.string("name", objects[i].name);
    if (i > 0) out.push_back(',');
    out += std::move(o).close();
  }
  return out + "]";
}

std::string groupsJson(const std::vector<gid_t>& groups) {
  std::string out = "[";
  for (std::size_t i = 0; i < groups.size(); ++i) {
    if (i > 0) out.push_back(',');
    out += std::to_string(groups[i]);
  }
  return out + "]";
}

std::string_view rotationReasonName(RotationReason reason) {
  switch (reason) {
    case RotationReason::Requested:
      return "requested";
    case RotationReason::Size:
      return "size";
    case RotationReason::Recovered:
      return "recovered";
  }
  return "requested";
}

}  // namespace

std::string_view kindName(RecordKind kind) {
  switch (kind) {
    case RecordKind::Request:
      return "request";
    case RecordKind::Outcome:
      return "outcome";
    case RecordKind::PolicyReload:
      return "policy_reload";
    case RecordKind::Rotation:
      return "rotation";
    case RecordKind::ChainBreak:
      return "chain_break";
  }
  return "request";
}

std::string formatRequest(const LineHeader& header, const RequestRecord& r) {
  auto w = begin(header, RecordKind::Request);
  w.number("uid", r.uid);
  w.number("gid", r.gid);
  w.raw("groups", groupsJson(r.groups));
  w.number("pid", static_cast<std::uint64_t>(std::max<pid_t>(r.pid, 0)));
  if (r.loginuid) {
    w.number("loginuid", *r.loginuid);
  } else {
    w.null("loginuid");
  }
  w.string("operation", r.operation);
  w.raw("objects", objectsJson(r.objects));
  if (r.objects.size() > kMaxObjects) w.number("objects_omitted", r.objects.size() - kMaxObjects);
  w.string("decision", r.decision == Decision::Allow ? "allow" : "deny");
  w.boolean("would_deny", r.wouldDeny);
  w.string("rule", r.rule);
  w.string("reason", r.reason);
  return finish(std::move(w), header);
}

std::string formatOutcome(const LineHeader& header, std::uint64_t ref, const OutcomeRecord& r) {
  auto w = begin(header, RecordKind::Outcome);
  w.number("ref", ref);
  bool ok = r.outcome == Outcome::Ok;
  w.string("outcome", ok ? "ok" : "error");
  if (ok) {
    w.null("error_kind");
  } else {
    w.string("error_kind", toString(r.errorKind));
  }
  w.string("message", r.message);
  if (!r.objects.empty()) w.raw("objects", objectsJson(r.objects));
  return finish(std::move(w), header);
}

std::string formatPolicyReload(const LineHeader& header, const PolicyReloadEvent& e) {
  auto w = begin(header, RecordKind::PolicyReload);
  w.string("result", e.result == ReloadResult::Ok ? "ok" : "failed");
  w.string("file", e.file);
  w.string("error", e.error);
  return finish(std::move(w), header);
}

std::string formatRotation(const LineHeader& header, RotationReason reason) {
  auto w = begin(header, RecordKind::Rotation);
  w.string("reason", rotationReasonName(reason));
  return finish(std::move(w), header);
}

std::string formatChainBreak(const LineHeader& header, std::string_view reason) {
  auto w = begin(header, RecordKind::ChainBreak);
  w.string("reason", reason);
  return finish(std::move(w), header);
}

}  // namespace dockerbox::broker::audit
