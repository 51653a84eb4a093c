// Runs as the administrator's check-policy / explain. Input: arguments and the policy file.
#include "broker/policy_cli.hpp"

#include "broker/authz.hpp"
#include "broker/bind_check.hpp"
#include "broker/dispatch.hpp"
#include "broker/policy_request.hpp"
#include "policy/evaluator.hpp"
#include "policy/policy.hpp"
#include "policy/values.hpp"

#include <CLI/CLI.hpp>
#include <grp.h>
#include <pwd.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <functional>
#include <iostream>
#include <optional>
#include <ostream>
#include <utility>
#include <variant>

namespace dockerbox::broker {

namespace {

constexpr int kExitOk = 0;
constexpr int kExitFailed = 1;  // invalid file (check-policy), denied (explain)
constexpr int kExitUsage = 2;

std::string defaultPolicyPath() {
  const char* env = std::getenv("DOCKERBOX_POLICY");  // NOLINT(concurrency-mt-unsafe): single-threaded CLI
  return env != nullptr && *env != '\0' ? env : "/etc/dockerbox/policy.toml";
}

/// What the broker itself would say about the file's owner and mode, or empty.
std::string brokerTrustProblem(const std::string& path) {
  auto strict = policy::loadPolicyFile(path, policyOperationNames(), policy::FileTrust::RequireRootOwned);
  if (strict || strict.error().diagnostics.empty()) return {};
  return strict.error().diagnostics.front().message;
}

int checkPolicy(const std::string& path, std::ostream& out) {
  auto loaded = policy::loadPolicyFile(path, policyOperationNames(), policy::FileTrust::AnyOwner);
  if (!loaded) {
    for (const auto& d : loaded.error().diagnostics) out << d.toString() << '\n';
    return kExitFailed;
  }
  out << "OK: " << path << ": " << loaded->rules().size() << " rule(s), mode "
      << policy::toString(loaded->settings().mode) << '\n';
  if (auto problem = brokerTrustProblem(path); !problem.empty()) {
    out << "warning: " << path << ": the broker would refuse to load it as it is: " << problem << '\n';
  }
  return kExitOk;
}

/// The caller explain pretends to be: ids from the account database, groups as a login
/// would give them (the broker uses the connecting process's own groups instead).
Result<Identity> identityOf(const std::string& user) {
  const bool numeric = !user.empty() && std::all_of(user.begin(), user.end(), [](char c) { return c >= '0' && c <= '9'; });
  std::vector<char> buffer(1 << 16);
  passwd entry{};
  passwd* found = nullptr;
  int rc = 0;
  if (numeric) {
    unsigned long uid = 0;
    try {
      uid = std::stoul(user);
    } catch (const std::exception&) {
      return fail(ErrorKind::BadRequest, "uid " + user + " is out of range");
    }
    if (uid >= static_cast<uid_t>(-1)) return fail(ErrorKind::BadRequest, "uid " + user + " is out of range");
    rc = ::getpwuid_r(static_cast<uid_t>(uid), &entry, buffer.data(), buffer.size(), &found);
  } else {
    rc = ::getpwnam_r(user.c_str(), &entry, buffer.data(), buffer.size(), &found);
  }
  if (found == nullptr) {
    // Never guessed: without an account there is no primary group to judge with.
    return fail(ErrorKind::NotFound, "no account " + user + (rc != 0 ? " (lookup failed)" : ""));
  }
  Identity who;
  who.uid = entry.pw_uid;
  who.gid = entry.pw_gid;
  who.groups = loginGroups(entry.pw_name, entry.pw_gid);
  return who;
}

template <std::size_t... I>
std::optional<Operation> operationAt(std::size_t index, std::index_sequence<I...>) {
  std::optional<Operation> op;
  (void)((index == I ? (op.emplace(std::in_place_index<I>), true) : false) || ...);
  return op;
}

struct ExplainArgs {
  std::string policyPath = defaultPolicyPath();
  std::string user, operation, image, network, memory, containerUser;
  std::vector<std::string> binds;
  bool privileged = false;
};

Result<MountSpec> parseBind(const std::string& text) {
  std::vector<std::string> parts;
  std::size_t start = 0;
  for (;;) {
    auto colon = text.find(':', start);
    parts.push_back(text.substr(start, colon - start));
    if (colon == std::string::npos) break;
    start = colon + 1;
  }
  if (parts.size() < 2 || parts.size() > 3 || parts[0].empty() || parts[1].empty() ||
      (parts.size() == 3 && parts[2] != "ro" && parts[2] != "rw")) {
    return fail(ErrorKind::BadRequest, "--bind " + text + ": expected SRC:DST[:ro|:rw]");
  }
  MountSpec m;
  m.type = MountType::Bind;
  m.source = parts[0];
  m.target = parts[1];
  m.access = parts.size() == 3 && parts[2] == "ro" ? MountAccess::ReadOnly : MountAccess::ReadWrite;
  m.fromBinds = true;  // as `docker run -v` sends it: a relative source names a volume
  return m;
}

/// The operation explain judges, with the flags that apply to it.
Result<Operation> buildOperation(const ExplainArgs& a) {
  std::size_t index = 0;
  while (index < kOperations.size() && kOperations[index].auditName != a.operation) ++index;
  if (index == kOperations.size()) {
    std::string known;
    for (const auto& info : kOperations) known += " " + std::string(info.auditName);
    return fail(ErrorKind::BadRequest, "unknown operation '" + a.operation + "'; known:" + known);
  }
  auto op = operationAt(index, std::make_index_sequence<std::variant_size_v<Operation>>{});
  if (!op) return fail(ErrorKind::Internal, "no operation at index " + std::to_string(index));
  const bool containerFlags = !a.binds.empty() || !a.network.empty() || !a.memory.empty();
  auto refuse = [&](const char* flags) {
    return fail(ErrorKind::BadRequest, std::string(flags) + " do not apply to " + a.operation);
  };
  if (auto* create = std::get_if<CreateContainerOp>(&*op)) {
    if (a.image.empty()) return fail(ErrorKind::BadRequest, "containers.create needs --image");
    ContainerSpec& s = create->spec;
    s.image = a.image;
    s.user = a.containerUser;
    s.host.privileged = a.privileged;
    s.host.networkMode = a.network;
    if (!a.memory.empty()) {
      auto bytes = policy::parseSize(a.memory);
      if (!bytes) return fail(ErrorKind::BadRequest, "--memory " + a.memory + ": " + bytes.error().message);
      s.host.memory = static_cast<std::int64_t>(*bytes);
    }
    for (const auto& b : a.binds) {
      auto mount = parseBind(b);
      if (!mount) return mount.error();
      s.host.mounts.push_back(std::move(*mount));
    }
  } else if (auto* exec = std::get_if<CreateExecOp>(&*op)) {
    if (containerFlags || !a.image.empty()) return refuse("--image, --bind, --network and --memory");
    exec->container.text = "(explain)";
    exec->privileged = a.privileged;
    exec->user = a.containerUser;
  } else if (containerFlags || a.privileged || !a.containerUser.empty()) {
    return refuse("--privileged, --bind, --network, --memory and --user-in-container");
  } else if (auto* pull = std::get_if<PullImageOp>(&*op)) {
    pull->ref = a.image;
  } else if (auto* inspect = std::get_if<InspectImageOp>(&*op)) {
    inspect->ref = a.image;
  } else if (auto* remove = std::get_if<RemoveImageOp>(&*op)) {
    remove->ref = a.image;
  } else if (!a.image.empty()) {
    return refuse("--image");
  }
  if ((std::holds_alternative<PullImageOp>(*op) || std::holds_alternative<InspectImageOp>(*op) ||
       std::holds_alternative<RemoveImageOp>(*op)) &&
      a.image.empty()) {
    return fail(ErrorKind::BadRequest, a.operation + " needs --image");
  }
  return std::move(*op);
}

void printRequest(const policy::Subject& s, const policy::Request& r, std::ostream& out) {
  out << "caller: user " << (s.userName.empty() ? "(no name)" : s.userName) << " (uid " << s.uid << ", gid "
      << s.gid << ", groups";
  for (gid_t g : s.groups) out << ' ' << g;
  out << "), home " << (s.home.empty() ? "(none)" : s.home)
      << "\n  (groups as a login gives them; the broker uses the connecting process's groups)\n";
  out << "request: " << r.operation << '\n';
  for (const auto& image : r.images) out << "  image " << image << '\n';
  if (r.container) {
    out << "  image " << r.container->image << '\n';
    for (const auto& b : r.container->binds) {
      out << "  mount " << b.requestedSource << ": ";
      if (b.kind == policy::BindKind::Volume) {
        out << "named volume\n";
        continue;
      }
      if (!b.resolvedSource) {
        out << "does not resolve (missing, relative or unreadable)\n";
        continue;
      }
      out << "resolves to " << *b.resolvedSource << ", caller "
          << (b.userCanAccess ? "can" : "cannot") << " access it "
          << (b.access == policy::MountAccess::ReadOnly ? "read-only" : "read-write") << '\n';
    }
  }
}

int explainCommand(const ExplainArgs& args, std::ostream& out, std::ostream& err) {
  auto op = buildOperation(args);
  if (!op) {
    err << "explain: " << op.error().message << '\n';
    return kExitUsage;
  }
  auto who = identityOf(args.user);
  if (!who) {
    err << "explain: " << who.error().message << '\n';
    return kExitUsage;
  }
  auto loaded = policy::loadPolicyFile(args.policyPath, policyOperationNames(), policy::FileTrust::AnyOwner);
  if (!loaded) {
    err << "explain: the policy does not load, so the broker would deny everything:\n"
        << loaded.error().toString();
    return kExitUsage;
  }
  if (auto problem = brokerTrustProblem(args.policyPath); !problem.empty()) {
    out << "warning: the broker would refuse this file as it is (" << problem << ") and deny everything\n";
  }
  auto subject = subjectFor(*who);
  if (!subject) {
    err << "explain: " << subject.error().message << " (" << subject.error().context << ")\n";
    return kExitUsage;
  }
  if (::geteuid() != 0) {
    out << "note: not running as root: bind sources cannot be checked as the user and count as inaccessible\n";
  }
  const Identity& caller = *who;
  auto input = toPolicyRequest(*op, [&caller](std::string_view source, MountAccess access) {
    return checkBindSource(source, caller, access);
  });
  out << "policy: " << args.policyPath << " (" << loaded->rules().size() << " rules)\n";
  if (!input) {
    out << "DENY (no rule): " << input.error().message << "\nclient sees: denied by policy: "
        << input.error().message << '\n';
    return kExitFailed;
  }
  printRequest(*subject, input->request, out);
  auto explanation = policy::explain(*loaded, *subject, input->request);
  out << explanation.toString();
  if (!explanation.decision.allowed()) {
    out << "client sees: " << policy::denialMessage(explanation.decision) << '\n';
    return kExitFailed;
  }
  return kExitOk;
}

/// CLI11 wants argc/argv; args[0] is the command name.
int parseAndRun(CLI::App& app, const std::vector<std::string>& args, std::ostream& out, std::ostream& err,
                const std::function<int()>& run) {
  std::vector<char*> argv;
  std::vector<std::string> copy = args;
  for (auto& a : copy) argv.push_back(a.data());
  try {
    app.parse(static_cast<int>(argv.size()), argv.data());
  } catch (const CLI::ParseError& e) {
    int code = app.exit(e, out, err);
    return code == 0 ? kExitOk : kExitUsage;
  }
  return run();
}

}  // namespace

bool isAdminCommand(std::string_view name) { return name == "check-policy" || name == "explain"; }

int runAdminCommand(const std::vector<std::string>& args, std::ostream& out, std::ostream& err) {
  if (args.empty() || !isAdminCommand(args[0])) {
    err << "usage: dockerboxctl check-policy FILE | dockerboxctl explain --help\n";
    return kExitUsage;
  }
  if (args[0] == "check-policy") {
    CLI::App app{"Validates a policy file; prints OK or file:line:column: message per problem.",
                 "dockerboxctl check-policy"};
    std::string file;
    app.add_option("FILE", file, "the policy file")->required();
    return parseAndRun(app, args, out, err, [&] { return checkPolicy(file, out); });
  }
  CLI::App app{"Shows which policy rule decides a user's request, and why (for administrators).",
               "dockerboxctl explain"};
  ExplainArgs a;
  app.add_option("--policy", a.policyPath, "policy file (default: $DOCKERBOX_POLICY or /etc/dockerbox/policy.toml)");
  app.add_option("--user", a.user, "the caller: user name or uid")->required();
  app.add_option("OPERATION", a.operation, "operation name, e.g. containers.create")->required();
  app.add_option("--image", a.image, "image reference (create, pull, inspect, remove)");
  app.add_flag("--privileged", a.privileged, "privileged container or exec");
  app.add_option("--bind", a.binds, "bind mount SRC:DST[:ro], repeatable")->allow_extra_args(false);
  app.add_option("--network", a.network, "NetworkMode");
  app.add_option("--memory", a.memory, "memory limit: bytes or a size such as 512m");
  app.add_option("--user-in-container", a.containerUser, "Config.User (or the exec's User)");
  return parseAndRun(app, args, out, err, [&] { return explainCommand(a, out, err); });
}

int runAdminCommand(int argc, char** argv) {
  std::vector<std::string> args;
  for (int i = 1; i < argc; ++i) args.emplace_back(argv[i]);
  return runAdminCommand(args, std::cout, std::cerr);
}

}  // namespace dockerbox::broker
