// libFuzzer target: the policy parser on arbitrary text, then the evaluator on whatever
// policy came out of it. The policy file is trusted, but it is hand-edited and `check-policy`
// runs on files an administrator has not yet vetted: no input may crash, hang or allow
// something the invariants below forbid.
#include <array>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "policy/evaluator.hpp"
#include "policy/policy.hpp"

namespace {

using namespace dockerbox::policy;

constexpr std::array<std::string_view, 34> kOperations = {
    "system.version",    "system.info",        "system.events",     "containers.list",
    "containers.create", "containers.inspect", "containers.start",  "containers.stop",
    "containers.kill",   "containers.restart", "containers.pause",  "containers.unpause",
    "containers.wait",   "containers.remove",  "containers.rename", "containers.logs",
    "containers.attach", "containers.resize",  "exec.create",       "exec.start",
    "exec.inspect",      "exec.resize",        "images.list",       "images.pull",
    "images.inspect",    "images.remove",      "images.tag",        "volumes.list",
    "volumes.create",    "volumes.inspect",    "volumes.remove",    "volumes.prune",
    "networks.list",     "networks.inspect",
};

void check(bool condition) {
  if (!condition) std::abort();
}

Request hostileCreate() {
  Request r;
  r.operation = "containers.create";
  ContainerSpec spec;
  spec.image = "docker.io/library/alpine:latest";
  spec.privileged = true;
  spec.user = "0";
  spec.networkMode = "host";
  spec.binds = {Bind{BindKind::Bind, "/", "/", MountAccess::ReadWrite, true},
                Bind{BindKind::Bind, "/home/alice/x", std::nullopt, MountAccess::ReadWrite, true}};
  r.container = spec;
  return r;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto parsed = parsePolicy(text, kOperations, "fuzz.toml");
  if (!parsed) {
    check(!parsed.error().diagnostics.empty());
    (void)parsed.error().toString();
    return 0;
  }
  const Policy& policy = *parsed;
  const Subject subjects[] = {
      Subject{0, 0, {}, "root", {"root"}, "/root"},
      Subject{1000, 1000, {2000}, "alice", {"alice", "dockerbox-users"}, "/home/alice"},
      Subject{1001, 1001, {}, "", {}, "/"},  // nameless, home "/"
  };
  for (const auto& who : subjects) {
    for (auto name : kOperations) {
      Request request;
      request.operation = std::string(name);
      auto d = evaluate(policy, who, request);
      check(!d.wouldDeny || d.allowed());           // wouldDeny only ever accompanies an allow
      check(!d.injectMemory && !d.injectNanoCpus);  // nothing to inject without a container
      auto e = explain(policy, who, request);
      check(e.decision.effect == d.effect && e.decision.rule == d.rule);
      check(e.trace.size() == policy.rules().size());
    }
    // Binding "/" for the nameless caller with home "/" is only possible with a "/**"-like
    // pattern, never through {home}; an unresolved bind is never clean.
    auto d = evaluate(policy, who, hostileCreate());
    check(!d.allowed() || d.wouldDeny || !d.rule.empty());
    Request unknown;
    unknown.operation = "containers.explode";
    check(!evaluate(policy, who, unknown).allowed());
  }
  return 0;
}
