// Runs as root. Input: validated requests, kernel-attested identities, the account database
// and the root-owned policy file.
#include "broker/authz.hpp"

#include "broker/child_probe.hpp"

#include "broker/dispatch.hpp"
#include "broker/ids.hpp"

#include <capnp/message.h>
#include <capnp/serialize.h>
#include <grp.h>
#include <kj/exception.h>
#include <pwd.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <ctime>
#include <fstream>
#include <sstream>
#include <cerrno>
#include <cstring>
#include <exception>
#include <system_error>

namespace dockerbox::broker {

namespace {

// getpw*_r/getgr*_r buffers start here and double on ERANGE up to the cap (a group with
// thousands of members needs more than sysconf's hint; the cap bounds a hostile NSS).
constexpr std::size_t kLookupBufferStart = 4096;
constexpr std::size_t kLookupBufferMax = 1024 * 1024;

std::string errorText(int err) { return std::error_code(err, std::generic_category()).message(); }

// The return codes getpwuid_r(3) and getgrgid_r(3) use for "no such entry".
bool meansNotFound(int rc) { return rc == 0 || rc == ENOENT || rc == ESRCH || rc == EBADF || rc == EPERM; }

struct Account {
  std::string name;
  std::string home;
};

/// Calls a getXXid_r function with a growing buffer; `take` copies the fields out.
template <class Entry, class Lookup, class Take>
auto lookup(Lookup call, Take take, const std::string& what) -> Result<std::optional<decltype(take(Entry{}))>> {
  std::vector<char> buffer(kLookupBufferStart);
  for (;;) {
    Entry entry{};
    Entry* found = nullptr;
    int rc = call(&entry, buffer.data(), buffer.size(), &found);
    if (rc == EINTR) continue;
    if (rc == ERANGE && buffer.size() < kLookupBufferMax) {
      buffer.resize(buffer.size() * 2);
      continue;
    }
    if (found != nullptr) return std::optional(take(entry));
    if (meansNotFound(rc)) return std::nullopt;
    return fail(ErrorKind::Internal, "the caller's account could not be looked up", what + ": " + errorText(rc));
  }
}

Result<std::optional<Account>> lookupUser(uid_t uid) {
  return lookup<passwd>(
      [uid](passwd* e, char* buf, std::size_t size, passwd** out) { return ::getpwuid_r(uid, e, buf, size, out); },
      [](const passwd& e) { return Account{e.pw_name ? e.pw_name : "", e.pw_dir ? e.pw_dir : ""}; },
      "getpwuid_r " + std::to_string(uid));
}

Result<std::optional<std::string>> lookupGroup(gid_t gid) {
  return lookup<group>(
      [gid](group* e, char* buf, std::size_t size, group** out) { return ::getgrgid_r(gid, e, buf, size, out); },
      [](const group& e) { return std::string(e.gr_name ? e.gr_name : ""); }, "getgrgid_r " + std::to_string(gid));
}

Authorization denied(std::string reason, std::string detail) {
  Authorization out;
  out.gate = GateDecision{false, false, "", std::move(reason)};
  out.detail = std::move(detail);
  return out;
}

}  // namespace

std::vector<std::string_view> policyOperationNames() {
  std::vector<std::string_view> names;
  for (const auto& info : kOperations) names.push_back(info.auditName);
  for (auto name : kReservedOperationNames) names.push_back(name);
  return names;
}

PolicyHolder::PolicyHolder(std::string path, policy::FileTrust trust)
    : path_(std::move(path)), trust_(trust), policy_(std::make_shared<const policy::Policy>()) {
  startup_ = load();
  if (startup_) {
    spdlog::info("event=policy_loaded file={} rules={}", path_, current()->rules().size());
  } else {
    // Loud on purpose: the broker serves, but every request will be refused.
    spdlog::critical("event=policy_load_failed file={} effect=\"no valid policy: every request is DENIED until a "
                     "valid file is loaded (fix it, check with `dockerboxctl check-policy`, then SIGHUP)\"",
                     path_);
    spdlog::critical("event=policy_diagnostics file={} diagnostics=\"{}\"", path_, startup_.error().message);
  }
}

Result<void> PolicyHolder::load() {
  const auto names = policyOperationNames();
  auto loaded = policy::loadPolicyFile(path_, names, trust_);
  if (!loaded) {
    std::string text = loaded.error().toString();
    while (!text.empty() && text.back() == '\n') text.pop_back();
    std::lock_guard lock(mutex_);
    record_.lastError = text;
    return fail(ErrorKind::Internal, std::move(text), "policy file " + path_);
  }
  auto fresh = std::make_shared<const policy::Policy>(std::move(*loaded));
  // For the status report only: the bytes are read again (a policy file is small).
  std::string digest;
  if (std::ifstream in(path_, std::ios::binary); in) {
    std::ostringstream bytes;
    bytes << in.rdbuf();
    digest = sha256Hex(bytes.str());
  }
  std::lock_guard lock(mutex_);
  policy_ = std::move(fresh);  // requests in flight keep the snapshot they took
  valid_ = true;
  record_ = LoadRecord{static_cast<std::int64_t>(std::time(nullptr)), std::move(digest), {}};
  return {};
}

PolicyHolder::LoadRecord PolicyHolder::loadRecord() const {
  std::lock_guard lock(mutex_);
  return record_;
}

Result<void> PolicyHolder::reload() {
  auto result = load();
  if (result) {
    spdlog::info("event=policy_reloaded file={} rules={}", path_, current()->rules().size());
  } else {
    spdlog::error("event=policy_reload_failed file={} kept={} diagnostics=\"{}\"", path_,
                  hasValidPolicy() ? "previous policy" : "no policy: every request is denied",
                  result.error().message);
  }
  return result;
}

std::shared_ptr<const policy::Policy> PolicyHolder::current() const {
  std::lock_guard lock(mutex_);
  return policy_;
}

bool PolicyHolder::hasValidPolicy() const {
  std::lock_guard lock(mutex_);
  return valid_;
}

audit::PolicyReloadEvent reloadEvent(const PolicyHolder& holder, const Result<void>& result) {
  audit::PolicyReloadEvent event;
  event.result = result ? audit::ReloadResult::Ok : audit::ReloadResult::Failed;
  event.file = holder.path();
  if (!result) event.error = result.error().message;
  return event;
}

Result<policy::Subject> subjectFor(const Identity& who) {
  policy::Subject subject;
  subject.uid = who.uid;
  subject.gid = who.gid;
  subject.groups = who.groups;
  auto account = lookupUser(who.uid);
  if (!account) return account.error();
  if (*account) {
    subject.userName = (*account)->name;
    subject.home = (*account)->home;
  }
  std::vector<gid_t> ids{who.gid};
  for (gid_t g : who.groups) {
    if (std::find(ids.begin(), ids.end(), g) == ids.end()) ids.push_back(g);
  }
  for (gid_t g : ids) {
    auto name = lookupGroup(g);
    if (!name) return name.error();
    if (*name && !(*name)->empty()) subject.groupNames.push_back(**name);
  }
  return subject;
}

Authorization authorize(const PolicyHolder& holder, const Identity& who, const Operation& op,
                        const std::string& miniboxSocket) {
  std::optional<UniqueFd> view;  // looked up for the first bind only
  return authorize(holder, who, op, [&](std::string_view source, MountAccess access) {
    if (!view) {
      auto miniboxd = miniboxProcess(miniboxSocket);
      view.emplace(miniboxd ? std::move(*miniboxd) : UniqueFd());
    }
    return checkBindSource(source, who, access, kBindCheckDeadline, *view ? view->get() : -1);
  });
}

Authorization authorize(const PolicyHolder& holder, const Identity& who, const Operation& op,
                        const BindProbe& probe) {
  try {
    // One snapshot for the whole decision: a SIGHUP meanwhile affects the next request.
    auto policy = holder.current();
    if (!holder.hasValidPolicy()) {
      return denied("no valid policy is loaded, so every request is refused",
                    "policy file " + holder.path() + " did not load; see the broker's log");
    }
    auto subject = subjectFor(who);
    if (!subject) return denied(subject.error().message, subject.error().context);
    auto input = toPolicyRequest(op, probe);
    if (!input) return denied(input.error().message, input.error().context);

    policy::Decision decision = policy::evaluate(*policy, *subject, input->request);
    Authorization out;
    out.gate = GateDecision{decision.allowed(), decision.wouldDeny, decision.rule, decision.reason};
    out.visibility = decision.visibility;
    out.injectMemory = decision.injectMemory;
    out.injectNanoCpus = decision.injectNanoCpus;
    out.detail = decision.detail;
    if (decision.allowed()) {
      out.resolvedBinds = std::move(input->resolvedBinds);
      out.privileged = decision.privileged;
      out.rootUser = decision.rootUser;
    }
    return out;
  } catch (const std::exception& e) {
    // Fail closed (style.md §4.5): an error while deciding is a denial, never an allow.
    return denied("internal error in policy evaluation", e.what());
  }
}

bool canSee(const Authorization& authz, const Identity& who, const policy::Owner& owner) {
  if (!authz.gate.allowed) return false;
  policy::Subject subject;
  subject.uid = who.uid;
  subject.gid = who.gid;
  subject.groups = who.groups;
  return policy::canSee(authz.visibility, subject, owner);
}

void applyAuthorization(const Authorization& authz, ContainerSpec& spec) {
  auto& mounts = spec.host.mounts;
  for (const auto& r : authz.resolvedBinds) {
    if (r.mount >= mounts.size()) continue;  // not this spec's binds (cannot happen for the same op)
    MountSpec& m = mounts[r.mount];
    if (r.field == ResolvedField::MountSource) {
      m.source = r.path;
    } else if (r.option < m.volumeOptions.size()) {
      m.volumeOptions[r.option].second = r.path;
    }
  }
  if (spec.host.memory == 0 && authz.injectMemory) spec.host.memory = static_cast<std::int64_t>(*authz.injectMemory);
  if (spec.host.nanoCpus == 0 && authz.injectNanoCpus) {
    spec.host.nanoCpus = static_cast<std::int64_t>(*authz.injectNanoCpus);
  }
}

namespace {

// The canonical config was written by our own decoder from a frame it bounded; these limits
// only keep a mismatch from turning into unbounded work.
constexpr std::uint64_t kConfigTraversalFactor = 8;
constexpr int kConfigNestingLimit = 16;

Result<std::vector<std::uint64_t>> rewriteConfig(const std::vector<std::uint64_t>& words, const Authorization& authz) {
  kj::ArrayPtr<const capnp::word> in(reinterpret_cast<const capnp::word*>(words.data()), words.size());
  capnp::ReaderOptions options;
  options.traversalLimitInWords = words.size() * kConfigTraversalFactor + 64;
  options.nestingLimit = kConfigNestingLimit;
  capnp::FlatArrayMessageReader reader(in, options);
  capnp::MallocMessageBuilder message;
  message.setRoot(reader.getRoot<ipc::wire::ContainerConfig>());
  auto host = message.getRoot<ipc::wire::ContainerConfig>().getHost();
  auto mounts = host.getMounts();
  for (const auto& r : authz.resolvedBinds) {
    if (r.mount >= mounts.size()) return fail(ErrorKind::Internal, "internal error", "resolved bind beyond the mounts");
    auto m = mounts[static_cast<unsigned>(r.mount)];
    if (r.field == ResolvedField::MountSource) {
      m.setSource(r.path);
      continue;
    }
    auto driverOptions = m.getVolumeOptions();
    if (r.option >= driverOptions.size()) {
      return fail(ErrorKind::Internal, "internal error", "resolved device beyond the volume options");
    }
    driverOptions[static_cast<unsigned>(r.option)].setValue(r.path);
  }
  if (host.getMemory() == 0 && authz.injectMemory) host.setMemory(static_cast<std::int64_t>(*authz.injectMemory));
  if (host.getNanoCpus() == 0 && authz.injectNanoCpus) {
    host.setNanoCpus(static_cast<std::int64_t>(*authz.injectNanoCpus));
  }
  auto flat = capnp::messageToFlatArray(message);
  std::vector<std::uint64_t> out(flat.size());
  std::memcpy(out.data(), flat.begin(), flat.asBytes().size());
  return out;
}

}  // namespace

Result<void> applyAuthorization(const Authorization& authz, CreateContainerOp& op) {
  try {
    auto words = rewriteConfig(op.canonicalConfig, authz);
    if (!words) return words.error();
    op.canonicalConfig = std::move(*words);
  } catch (const kj::Exception& e) {
    return fail(ErrorKind::Internal, "internal error", std::string("canonical config: ") + e.getDescription().cStr());
  }
  applyAuthorization(authz, op.spec);
  return {};
}

std::vector<gid_t> loginGroups(const char* name, gid_t gid) {
  constexpr int kMaxGroups = 65536;  // NGROUPS_MAX
  int count = 64;
  std::vector<gid_t> groups(static_cast<std::size_t>(count));
  // -1 with `count` set to the number needed; a few rounds cover groups added meanwhile.
  for (int round = 0; round < 4 && ::getgrouplist(name, gid, groups.data(), &count) < 0; ++round) {
    if (count <= static_cast<int>(groups.size()) || count > kMaxGroups) break;
    groups.resize(static_cast<std::size_t>(count));
  }
  groups.resize(static_cast<std::size_t>(std::clamp(count, 0, static_cast<int>(groups.size()))));
  return groups;
}

Result<Identity> loginIdentity(uid_t uid, gid_t gid) {
  auto account = lookupUser(uid);
  if (!account) return account.error();
  Identity who;
  who.uid = uid;
  who.gid = gid;
  if (*account) who.groups = loginGroups((*account)->name.c_str(), gid);
  return who;
}

}  // namespace dockerbox::broker
