// Runs as root (broker). Input: values the broker built from kernel-attested identity,
// validated requests and policy decisions; nothing here comes straight from a worker.
//
// The typed contents of audit records. There is deliberately no field for environment
// values, registry credentials, request bodies or any other secret: a caller cannot put
// one into the audit log by accident because there is nowhere to put it.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/result.hpp"

namespace dockerbox::broker::audit {

enum class Decision { Allow, Deny };

/// One object a request names. Any field may be empty (e.g. `create` has a name, no id yet).
struct ObjectRef {
  std::string type;  // "container", "image", "volume", "network", "exec"
  std::string id;    // Docker id (64 hex) or image reference
  std::string name;  // name as the client gave it
};

/// Written BEFORE the action is carried out (P6): one per request that reaches the broker.
struct RequestRecord {
  uid_t uid = static_cast<uid_t>(-1);  // SO_PEERCRED
  gid_t gid = static_cast<gid_t>(-1);  // SO_PEERCRED
  std::vector<gid_t> groups;           // SO_PEERGROUPS
  pid_t pid = 0;                       // SO_PEERCRED at connect time
  std::optional<uid_t> loginuid;       // /proc/<pid>/loginuid if set (see readLoginUid)
  std::string operation;               // audit name from the dispatch table, "containers.create"
  std::vector<ObjectRef> objects;      // at most kMaxObjects are recorded
  Decision decision = Decision::Deny;
  bool wouldDeny = false;  // audit-mode rule set: allowed, but enforce would deny
  std::string rule;        // deciding rule; empty when nothing matched (default deny)
  std::string reason;      // human-readable, as shown to the client on a denial
};

enum class Outcome { Ok, Error };

/// Written after the action, referring to its request by seq.
struct OutcomeRecord {
  Outcome outcome = Outcome::Error;
  ErrorKind errorKind = ErrorKind::Internal;  // recorded only when outcome == Error
  std::string message;                        // client-safe message; Error::context is not logged
  /// What the request's references resolved to (e.g. the 64-hex id behind "web", the id a
  /// create made), so the log names objects that later renames or re-creates cannot blur.
  /// Written only when not empty; at most kMaxObjects.
  std::vector<ObjectRef> objects;

  static OutcomeRecord ok() { return {Outcome::Ok, ErrorKind::Internal, {}, {}}; }
  static OutcomeRecord fromError(const Error& e) { return {Outcome::Error, e.kind, e.message, {}}; }
};

enum class ReloadResult { Ok, Failed };

/// A policy (re)load attempt, SIGHUP or start-up. A failed one keeps the previous policy.
struct PolicyReloadEvent {
  ReloadResult result = ReloadResult::Failed;
  std::string file;
  std::string error;  // parser message with line:column; empty when result == Ok
};

/// Why a new file was started. Recovered: the previous run renamed the file but died
/// before the new file got its first record.
enum class RotationReason { Requested, Size, Recovered };

/// The end of the chain: the last record's seq and the SHA-256 of its line. Comparing it with
/// a copy kept elsewhere (journal, remote host) is what detects a truncated tail.
struct ChainHead {
  std::uint64_t seq = 0;  // 0: nothing written yet
  std::string hash;       // 64 lowercase hex digits; 64 zeros before the first record
};

}  // namespace dockerbox::broker::audit
