// Runs as the administrator's audit-verify. Input: untrusted lines of audit log files.
#include "broker/audit/chain_checker.hpp"

#include "broker/audit/limits.hpp"
#include "broker/audit/sha256.hpp"

namespace dockerbox::broker::audit {

namespace {
// Invalid lines listed in a report before an accepted chain_break; more are only counted.
constexpr std::size_t kMaxListedSkipped = 100;
}  // namespace

void ChainChecker::beginFile(std::string name) {
  files_.push_back(std::move(name));
  ++report_.files;
}

void ChainChecker::feedLine(std::uint64_t lineNo, std::string_view untrustedLine) {
  if (failure_) return;
  Position at{files_.size() - 1, lineNo};
  auto parsed = parseLine(untrustedLine);
  if (!parsed) return invalid(at, parsed.error().message);
  if (auto why = checkChain(*parsed)) return invalid(at, std::move(*why));
  if (held_) {
    // A valid line after invalid ones: only a chain_break that continues the last valid
    // record excuses them (that is what the writer writes after a torn tail). Anything
    // else means lines were damaged or inserted in the middle of the chain.
    if (parsed->kind != RecordKind::ChainBreak) {
      failure_ = std::move(held_);
      return;
    }
    for (auto& line : heldLines_) report_.skippedLines.push_back(std::move(line));
    heldLines_.clear();
    held_.reset();
  }
  if (auto why = checkAndCount(*parsed)) {
    failure_ = Failure{at, std::move(*why)};
    return;
  }
  last_ = Last{ChainHead{parsed->seq, parsed->lineHash}, at};
}

void ChainChecker::feedInvalidLine(std::uint64_t lineNo, std::string why) {
  if (failure_) return;
  invalid(Position{files_.size() - 1, lineNo}, std::move(why));
}

void ChainChecker::invalid(Position at, std::string what) {
  // With nothing valid before it, no chain_break could continue anything: fail at once.
  if (options_.chainBreaks == ChainBreaks::Reject || !last_) {
    failure_ = Failure{at, std::move(what)};
    return;
  }
  if (heldLines_.size() < kMaxListedSkipped) heldLines_.push_back(where(at) + ": " + what);
  if (!held_) held_ = Failure{at, std::move(what)};
}

std::optional<std::string> ChainChecker::checkChain(const ParsedLine& line) const {
  std::string seq = std::to_string(line.seq);
  if (!last_) {
    if (line.prev == kZeroHash) {
      if (line.seq != 1) {
        return "first record has prev of 64 zeros (start of the log) but seq " + seq + ", not 1";
      }
      return std::nullopt;
    }
    if (line.kind != RecordKind::Rotation && line.kind != RecordKind::ChainBreak) {
      return "chain does not start here: prev is not 64 zeros and the record is not a rotation or "
             "chain_break (leading lines deleted, or older files missing?)";
    }
    return std::nullopt;  // continues files not given
  }
  std::uint64_t expected = last_->head.seq + 1;
  if (line.seq != expected) {
    return "seq " + seq + " does not follow seq " + std::to_string(last_->head.seq) + " of " +
           relative(last_->at) + " (expected " + std::to_string(expected) +
           ": line deleted, duplicated or reordered)";
  }
  if (line.prev != last_->head.hash) {
    return "prev hash does not match " + relative(last_->at) +
           " (line deleted, edited or reordered)";
  }
  return std::nullopt;
}

std::optional<std::string> ChainChecker::checkAndCount(const ParsedLine& line) {
  if (report_.records == 0) {
    report_.firstSeq = line.seq;
    report_.startsMidChain = line.prev != kZeroHash;
  }
  switch (line.kind) {
    case RecordKind::Request:
      open_.insert(line.seq);
      ++report_.requests;
      break;
    case RecordKind::Outcome: {
      std::string ref = std::to_string(line.ref);
      if (line.ref >= line.seq) return "outcome refers to seq " + ref + ", which is not earlier";
      // A ref before the first verified record points into a file that was not given.
      if (open_.erase(line.ref) == 0 && line.ref >= report_.firstSeq) {
        return "outcome refers to seq " + ref +
               ", which is not a request waiting for its outcome (no such request, or a second "
               "outcome)";
      }
      ++report_.outcomes;
      break;
    }
    case RecordKind::PolicyReload:
      ++report_.policyReloads;
      break;
    case RecordKind::Rotation:
      ++report_.rotations;
      break;
    case RecordKind::ChainBreak:
      ++report_.chainBreaks;
      break;
  }
  ++report_.records;
  return std::nullopt;
}

std::string ChainChecker::where(Position at) const {
  return files_.at(at.file) + ":" + std::to_string(at.line);
}

std::string ChainChecker::relative(Position at) const {
  return at.file + 1 == files_.size() ? "line " + std::to_string(at.line) : where(at);
}

Result<VerifyReport> ChainChecker::finish() {
  if (!failure_ && held_) failure_ = std::move(held_);  // invalid lines no chain_break excused
  if (failure_) return fail(ErrorKind::BadRequest, where(failure_->at) + ": " + failure_->what);
  if (last_) report_.head = last_->head;
  report_.openRequestCount = open_.size();
  for (auto seq : open_) {
    if (report_.openRequests.size() == kMaxListedOpenRequests) break;
    report_.openRequests.push_back(seq);
  }
  return report_;
}

}  // namespace dockerbox::broker::audit
