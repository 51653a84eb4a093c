// Runs as the administrator's audit-verify. Input: arguments and the files they name.
#include "broker/audit/verify_cli.hpp"

#include <sys/stat.h>

#include <cerrno>
#include <iostream>
#include <ostream>

#include "broker/audit/limits.hpp"
#include "broker/audit/verify.hpp"
#include "common/syscall.hpp"

namespace dockerbox::broker::audit {

namespace {

constexpr const char* kUsage =
    "usage: dockerboxctl audit-verify [--accept-breaks] FILE...\n"
    "  Verifies audit log FILEs as one hash chain, oldest first. With a single FILE, its\n"
    "  rotated siblings FILE.1, FILE.2, ... are verified before it.\n"
    "  --accept-breaks  let a chain_break record excuse the torn lines just before it\n"
    "  exit status: 0 verified, 1 verification failed or unreadable, 2 usage error\n";

void printReport(const VerifyReport& r, const std::vector<std::string>& files, std::ostream& out) {
  out << "OK: " << r.records << " records in " << r.files << " file(s)";
  if (r.records > 0) out << ", seq " << r.firstSeq << ".." << r.head.seq;
  out << "\n  files:";
  for (const auto& f : files) out << ' ' << f;
  out << "\n  requests " << r.requests << ", outcomes " << r.outcomes << ", policy reloads "
      << r.policyReloads << ", rotations " << r.rotations << ", chain breaks " << r.chainBreaks
      << '\n';
  if (r.records > 0) {
    out << "  head: seq " << r.head.seq << " sha256 " << r.head.hash
        << "\n  (the chain cannot show lines removed from the end: compare the head with a copy "
           "kept elsewhere)\n";
  }
  if (r.startsMidChain) {
    out << "  note: the first record continues a chain from files not given (older rotated "
           "files)\n";
  }
  if (r.openRequestCount > 0) {
    out << "  note: " << r.openRequestCount
        << " request(s) without an outcome (in flight, or the broker stopped):";
    for (auto seq : r.openRequests) out << ' ' << seq;
    if (r.openRequestCount > r.openRequests.size()) out << " ...";
    out << '\n';
  }
  for (const auto& skipped : r.skippedLines)
    out << "  skipped at a chain break: " << skipped << '\n';
}

}  // namespace

std::vector<std::string> withRotatedSiblings(const std::string& path) {
  std::vector<std::string> files;
  for (unsigned n = 1; n <= kMaxSiblings; ++n) {
    std::string sibling = path + "." + std::to_string(n);
    // The first missing number ends the set. Any other stat failure keeps the file in the
    // set, so verifyFiles reports it instead of silently verifying fewer files.
    struct stat st {};
    auto r = DOCKERBOX_SYSCALL(::stat(sibling.c_str(), &st) == 0 || errno != ENOENT ? 0 : -1,
                               "stat " + sibling);
    if (!r) break;
    files.insert(files.begin(), sibling);
  }
  files.push_back(path);
  return files;
}

int runAuditVerify(const std::vector<std::string>& args, std::ostream& out, std::ostream& err) {
  VerifyOptions options;
  std::vector<std::string> files;
  bool optionsDone = false;
  for (const auto& arg : args) {
    if (!optionsDone && arg == "--") {
      optionsDone = true;
    } else if (!optionsDone && (arg == "-h" || arg == "--help")) {
      out << kUsage;
      return 0;
    } else if (!optionsDone && arg == "--accept-breaks") {
      options.chainBreaks = ChainBreaks::Accept;
    } else if (!optionsDone && arg.size() > 1 && arg[0] == '-') {
      err << "audit-verify: unknown option " << arg << '\n' << kUsage;
      return 2;
    } else {
      files.push_back(arg);
    }
  }
  if (files.empty()) {
    err << kUsage;
    return 2;
  }
  if (files.size() == 1) files = withRotatedSiblings(files.front());

  auto report = verifyFiles(files, options);
  if (!report) {
    const auto& e = report.error();
    out << "FAIL: " << e.message << (e.context.empty() ? "" : " (" + e.context + ")") << '\n';
    return 1;
  }
  printReport(*report, files, out);
  return 0;
}

int runAuditVerify(int argc, char** argv) {
  std::vector<std::string> args;
  for (int i = 1; i < argc; ++i) args.emplace_back(argv[i]);
  return runAuditVerify(args, std::cout, std::cerr);
}

}  // namespace dockerbox::broker::audit
