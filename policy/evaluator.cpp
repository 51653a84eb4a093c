#include "policy/evaluator.hpp"

#include "policy/constraints.hpp"

#include <algorithm>
#include <exception>

namespace dockerbox::policy {

namespace {

// The operation name comes from the broker's table, but keep messages bounded anyway.
std::string shown(std::string_view text) {
  constexpr std::size_t kMaxShown = 64;
  std::string out(text.substr(0, kMaxShown));
  if (text.size() > kMaxShown) out += "...";
  return out;
}

std::string describe(const Subject& subject) {
  std::string out = "user " +
                    (subject.userName.empty() ? std::string("(no name)") : subject.userName) +
                    " (uid " + std::to_string(subject.uid) + ", gid " +
                    std::to_string(subject.gid) + ", groups [";
  for (std::size_t i = 0; i < subject.groups.size(); ++i)
    out += (i > 0 ? "," : "") + std::to_string(subject.groups[i]);
  return out + "])";
}

// Which entry of the rule names the subject, or nullopt.
std::optional<std::string> matchSubject(const Rule& rule, const Subject& subject) {
  for (const auto& user : rule.users) {
    if (user.id ? *user.id == subject.uid
                : (!subject.userName.empty() && user.name == subject.userName)) {
      return "users entry '" + user.name + "' matches " + describe(subject);
    }
  }
  for (const auto& group : rule.groups) {
    bool hit = false;
    if (group.id) {
      hit = *group.id == subject.gid || std::find(subject.groups.begin(), subject.groups.end(),
                                                  *group.id) != subject.groups.end();
    } else {
      hit = std::find(subject.groupNames.begin(), subject.groupNames.end(), group.name) !=
            subject.groupNames.end();
    }
    if (hit) return "groups entry '" + group.name + "' matches " + describe(subject);
  }
  return std::nullopt;
}

std::string joinReasons(const std::vector<Violation>& violations, bool withDetail) {
  std::string out;
  for (const auto& v : violations) {
    if (!out.empty()) out += "; ";
    out += v.reason;
    if (withDetail && !v.detail.empty()) out += " (" + v.detail + ")";
  }
  return out;
}

Decision deny(std::string rule, std::string reason) {
  Decision d;
  d.rule = std::move(rule);
  d.reason = std::move(reason);
  return d;
}

// The one decision procedure; `trace` is filled when explaining.
Decision decide(const Policy& policy, const Subject& subject, const Request& request,
                std::vector<RuleTrace>* trace) {
  const auto& rules = policy.rules();
  if (trace != nullptr) {
    for (const auto& rule : rules)
      trace->push_back({rule.name, rule.line, RuleOutcome::NotReached, {}, {}});
  }
  if (!policy.knowsOperation(request.operation)) {
    return deny({}, "unknown operation '" + shown(request.operation) + "'");  // every mode
  }
  for (std::size_t i = 0; i < rules.size(); ++i) {
    const Rule& rule = rules[i];
    RuleTrace* step = trace != nullptr ? &(*trace)[i] : nullptr;
    auto matched = matchSubject(rule, subject);
    if (!matched) {
      if (step != nullptr) {
        step->outcome = RuleOutcome::SubjectMismatch;
        step->detail = "no users/groups entry matches " + describe(subject);
      }
      continue;
    }
    if (rule.operations.find(request.operation) == rule.operations.end()) {
      if (step != nullptr) {
        step->outcome = RuleOutcome::OperationNotAllowed;
        step->detail = *matched + ", but allow does not cover " + request.operation;
      }
      continue;
    }

    auto checked = checkConstraints(rule, subject, request);
    Mode mode = rule.mode.value_or(policy.settings().mode);
    if (step != nullptr) {
      step->outcome = RuleOutcome::Decided;
      step->detail = *matched + "; mode " + std::string(toString(mode));
      for (const auto& v : checked.violations)
        step->violations.push_back(v.detail.empty() ? v.reason : v.reason + " (" + v.detail + ")");
    }
    Decision d;
    d.rule = rule.name;
    d.visibility = rule.visibility.value_or(policy.settings().defaultVisibility);
    if (checked.violations.empty()) {
      d.effect = Effect::Allow;
      d.reason = "allowed by rule " + rule.name;
    } else if (mode == Mode::Audit) {
      d.effect = Effect::Allow;
      d.wouldDeny = true;
      d.reason = joinReasons(checked.violations, false);
      d.detail = joinReasons(checked.violations, true);
    } else {
      d.visibility = Visibility::Own;
      d.reason = joinReasons(checked.violations, false);
      d.detail = joinReasons(checked.violations, true);
      return d;
    }
    d.injectMemory = checked.injectMemory;
    d.injectNanoCpus = checked.injectNanoCpus;
    d.privileged = rule.privileged;
    d.rootUser = rule.rootUser;
    return d;
  }

  Decision d = deny({}, "no rule allows " + request.operation);
  if (policy.settings().mode == Mode::Audit) {
    d.effect = Effect::Allow;
    d.wouldDeny = true;
  }
  return d;
}

}  // namespace

Decision evaluate(const Policy& policy, const Subject& subject, const Request& request) {
  try {
    return decide(policy, subject, request, nullptr);
  } catch (const std::exception&) {
    return deny({}, "internal error in policy evaluation");  // fail closed, never allow
  } catch (...) {
    return deny({}, "internal error in policy evaluation");
  }
}

Explanation explain(const Policy& policy, const Subject& subject, const Request& request) {
  Explanation out;
  try {
    out.decision = decide(policy, subject, request, &out.trace);
  } catch (const std::exception& e) {
    out.decision = deny({}, "internal error in policy evaluation");
    out.decision.detail = e.what();
  } catch (...) {
    out.decision = deny({}, "internal error in policy evaluation");
  }
  return out;
}

bool canSee(Visibility visibility, const Subject& subject, const Owner& owner) {
  switch (visibility) {
    case Visibility::All:
      return true;
    case Visibility::Group:
      if (owner.gid == subject.gid) return true;
      if (std::find(subject.groups.begin(), subject.groups.end(), owner.gid) !=
          subject.groups.end())
        return true;
      return owner.uid == subject.uid;
    case Visibility::Own:
      return owner.uid == subject.uid;
  }
  return false;  // an out-of-range enum value sees nothing
}

bool canSee(const Decision& decision, const Subject& subject, const Owner& owner) {
  return decision.allowed() && canSee(decision.visibility, subject, owner);
}

std::string denialMessage(const Decision& decision) {
  if (decision.rule.empty()) return "denied by policy: " + decision.reason;
  return "denied by policy rule " + decision.rule + ": " + decision.reason;
}

std::string_view toString(RuleOutcome outcome) {
  switch (outcome) {
    case RuleOutcome::SubjectMismatch:
      return "subject does not match";
    case RuleOutcome::OperationNotAllowed:
      return "operation not allowed";
    case RuleOutcome::Decided:
      return "decides";
    case RuleOutcome::NotReached:
      return "not reached";
  }
  return "unknown";
}

std::string Explanation::toString() const {
  std::string out = std::string(decision.allowed() ? "ALLOW" : "DENY");
  if (decision.wouldDeny) out += " (audit: would deny)";
  out += decision.rule.empty() ? std::string(" (no rule)") : " by rule " + decision.rule;
  out += ": " + decision.reason + "\n";
  if (!decision.detail.empty()) out += "  detail: " + decision.detail + "\n";
  if (decision.allowed())
    out += "  visibility: " + std::string(policy::toString(decision.visibility)) + "\n";
  if (decision.injectMemory)
    out += "  inject Memory: " + std::to_string(*decision.injectMemory) + "\n";
  if (decision.injectNanoCpus)
    out += "  inject NanoCpus: " + std::to_string(*decision.injectNanoCpus) + "\n";
  for (const auto& step : trace) {
    out += "  rule " + step.rule + " (line " + std::to_string(step.line) +
           "): " + std::string(policy::toString(step.outcome));
    if (!step.detail.empty()) out += ": " + step.detail;
    out += "\n";
    for (const auto& v : step.violations) out += "    violation: " + v + "\n";
  }
  return out;
}

}  // namespace dockerbox::policy
