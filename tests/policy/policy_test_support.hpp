// Shared fixtures for the policy tests: the broker's operation list, callers, requests.
#pragma once

#include <gtest/gtest.h>

#include <array>
#include <string>
#include <string_view>

#include "policy/evaluator.hpp"
#include "policy/policy.hpp"
#include "policy/request.hpp"

namespace dockerbox::policy::test {

// The broker's dispatch table as of this writing; the parser takes it as a parameter.
inline constexpr std::array<std::string_view, 34> kOperations = {
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

inline ParseResult parse(std::string_view text) {
  return parsePolicy(text, kOperations, "test.toml");
}

/// Parses text that must be valid; a failure is reported with every diagnostic.
inline Policy parseOk(std::string_view text) {
  auto result = parse(text);
  if (!result) {
    ADD_FAILURE() << "policy did not parse:\n" << result.error().toString();
    return Policy{};
  }
  return *result;
}

inline constexpr gid_t kUsersGid = 2000;  // dockerbox-users
inline constexpr gid_t kTeamGid = 3000;   // team

inline Subject alice() {
  return Subject{
      1000,         1000, {kUsersGid, kTeamGid}, "alice", {"alice", "dockerbox-users", "team"},
      "/home/alice"};
}
inline Subject bob() {
  return Subject{1001, 1001, {kUsersGid}, "bob", {"bob", "dockerbox-users"}, "/home/bob"};
}
inline Subject carol() {
  return Subject{1002, 1002, {}, "carol", {"carol"}, "/home/carol"};
}  // not a member
inline Subject root() { return Subject{0, 0, {}, "root", {"root"}, "/root"}; }

inline Request op(std::string name) {
  Request r;
  r.operation = std::move(name);
  return r;
}

inline Request create(ContainerSpec spec) {
  Request r = op("containers.create");
  if (spec.image.empty()) spec.image = "docker.io/library/alpine:latest";
  r.container = std::move(spec);
  return r;
}

/// A bind the broker resolved to `resolved` and found accessible to the caller.
inline Bind bindOf(std::string resolved, MountAccess access = MountAccess::ReadWrite) {
  return Bind{BindKind::Bind, resolved, resolved, access, true};
}

inline Request createWithBind(Bind bind) {
  ContainerSpec spec;
  spec.binds.push_back(std::move(bind));
  return create(std::move(spec));
}

}  // namespace dockerbox::policy::test
