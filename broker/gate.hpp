// Runs as root. Input: validated requests and kernel-attested identities.
//
// The gate every request passes before its handler runs (P2, P6): decide, write the audit
// record, and only then act; afterwards record the outcome. If the audit record cannot be
// written the request is denied: an action that left no record must not happen.
#pragma once

#include "broker/audit/audit_log.hpp"
#include "broker/peer.hpp"
#include "broker/request.hpp"
#include "common/result.hpp"

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace dockerbox::broker {

/// What the policy said about one request.
struct GateDecision {
  bool allowed = false;
  bool wouldDeny = false;  // audit-mode rule: allowed, but enforce mode would have denied
  std::string rule;        // the deciding rule; empty when nothing matched
  std::string reason;
};

/// An admitted request in flight: close() it with the outcome.
struct Ticket {
  std::uint64_t seq = 0;
};

class PolicyHolder;  // authz.hpp

class Gate {
 public:
  /// `policy` decides every request (dispatch.cpp); it outlives the gate.
  Gate(std::unique_ptr<audit::AuditLog> log, const PolicyHolder& policy) : log_(std::move(log)), policy_(policy) {}

  /// Records the request and the decision. Returns the ticket when the request may proceed,
  /// or the error to answer (a denial, or a failure to write the audit record).
  [[nodiscard]] Result<Ticket> open(const Identity& who, std::string_view operation, const Operation* op,
                                    const GateDecision& decision);
  /// Records a request the decoder refused as invalid (it never reached policy), with its error.
  void recordRejected(const Identity& who, std::string_view operation, const Error& error);
  /// Records the outcome of an admitted request. A failure here is logged (the action has
  /// happened; the request record shows it was attempted).
  void close(const Ticket& ticket, const Result<void>& outcome, std::vector<audit::ObjectRef> resolved = {});

  [[nodiscard]] audit::AuditLog& log() { return *log_; }
  [[nodiscard]] const PolicyHolder& policy() const { return policy_; }

 private:
  std::unique_ptr<audit::AuditLog> log_;
  const PolicyHolder& policy_;
};

/// The objects a request names, for the audit record (never values such as env).
[[nodiscard]] std::vector<audit::ObjectRef> objectsOf(const Operation& op);

}  // namespace dockerbox::broker
