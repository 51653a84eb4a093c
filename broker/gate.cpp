// Runs as root. Input: validated requests and kernel-attested identities.
#include "broker/gate.hpp"

#include "policy/evaluator.hpp"

#include <spdlog/spdlog.h>

#include <type_traits>

namespace dockerbox::broker {

namespace {

template <class T, class = void>
struct HasRef : std::false_type {};
template <class T>
struct HasRef<T, std::void_t<decltype(std::declval<T>().ref.text)>> : std::true_type {};

}  // namespace

std::vector<audit::ObjectRef> objectsOf(const Operation& op) {
  return std::visit(
      [](const auto& o) -> std::vector<audit::ObjectRef> {
        using T = std::decay_t<decltype(o)>;
        if constexpr (std::is_same_v<T, CreateContainerOp>) {
          return {{"container", "", o.spec.name}, {"image", o.spec.image, ""}};
        } else if constexpr (std::is_same_v<T, RenameContainerOp>) {
          return {{"container", "", o.ref.text}, {"container", "", o.newName}};
        } else if constexpr (std::is_same_v<T, CreateExecOp>) {
          return {{"container", "", o.container.text}};
        } else if constexpr (std::is_same_v<T, StartExecOp> || std::is_same_v<T, InspectExecOp> ||
                             std::is_same_v<T, ResizeExecOp>) {
          return {{"exec", o.id, ""}};
        } else if constexpr (std::is_same_v<T, PullImageOp> || std::is_same_v<T, InspectImageOp> ||
                             std::is_same_v<T, RemoveImageOp>) {
          return {{"image", o.ref, ""}};
        } else if constexpr (std::is_same_v<T, CreateVolumeOp> || std::is_same_v<T, InspectVolumeOp> ||
                             std::is_same_v<T, RemoveVolumeOp>) {
          return {{"volume", "", o.name}};
        } else if constexpr (std::is_same_v<T, AuthOp>) {
          return {{"registry", o.server, ""}};  // never the credentials
        } else if constexpr (HasRef<T>::value) {
          return {{"container", "", o.ref.text}};
        } else {
          return {};
        }
      },
      op);
}

Result<Ticket> Gate::open(const Identity& who, std::string_view operation, const Operation* op,
                          const GateDecision& decision) {
  audit::RequestRecord record;
  record.uid = who.uid;
  record.gid = who.gid;
  record.groups = who.groups;
  record.pid = who.pid;
  record.loginuid = who.loginuid;
  record.operation = std::string(operation);
  if (op != nullptr) record.objects = objectsOf(*op);
  record.decision = decision.allowed ? audit::Decision::Allow : audit::Decision::Deny;
  record.wouldDeny = decision.wouldDeny;
  record.rule = decision.rule;
  record.reason = decision.reason;
  auto seq = log_->writeRequest(record);
  if (!seq) {
    spdlog::error("event=audit_write_failed op={} uid={} error=\"{}: {}\"", operation, who.uid, seq.error().message,
                  seq.error().context);
    return fail(ErrorKind::Unavailable, "request refused: dockerbox could not write its audit log");
  }
  if (!decision.allowed && decision.rule.empty() && decision.reason.rfind("invalid request: ", 0) == 0) {
    Error invalid = Error::make(ErrorKind::BadRequest, decision.reason.substr(17));
    if (auto r = log_->writeOutcome(*seq, audit::OutcomeRecord::fromError(invalid)); !r) {
      spdlog::error("event=audit_write_failed seq={} error=\"{}\"", *seq, r.error().context);
    }
    return invalid;
  }
  if (!decision.allowed) {
    // The one spelling of a denial (policy::denialMessage): "denied by policy rule <rule>:
    // <reason>", or "denied by policy: <reason>" when no rule decided.
    policy::Decision policyDecision;
    policyDecision.rule = decision.rule;
    policyDecision.reason = decision.reason;
    Error denied = Error::make(ErrorKind::Forbidden, policy::denialMessage(policyDecision));
    if (auto r = log_->writeOutcome(*seq, audit::OutcomeRecord::fromError(denied)); !r) {
      spdlog::error("event=audit_write_failed seq={} error=\"{}\"", *seq, r.error().context);
    }
    return denied;
  }
  return Ticket{*seq};
}

void Gate::recordRejected(const Identity& who, std::string_view operation, const Error& error) {
  GateDecision decision{false, false, "", "invalid request: " + error.message};
  auto ticket = open(who, operation, nullptr, decision);
  (void)ticket;  // always a denial; the outcome was recorded with it
}

void Gate::close(const Ticket& ticket, const Result<void>& outcome, std::vector<audit::ObjectRef> resolved) {
  auto record = outcome ? audit::OutcomeRecord::ok() : audit::OutcomeRecord::fromError(outcome.error());
  record.objects = std::move(resolved);
  if (auto r = log_->writeOutcome(ticket.seq, record); !r) {
    spdlog::error("event=audit_write_failed seq={} error=\"{}: {}\"", ticket.seq, r.error().message, r.error().context);
  }
}

}  // namespace dockerbox::broker
