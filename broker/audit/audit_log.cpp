// Runs as root (broker). Input: typed records (see the header); the existing log's tail at
// start-up, read through tail.cpp.
#include "broker/audit/audit_log.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>

#include "broker/audit/record_line.hpp"
#include "broker/audit/sha256.hpp"
#include "broker/audit/tail.hpp"
#include "common/syscall.hpp"

namespace dockerbox::broker::audit {

namespace {

std::string rotatedName(const std::string& path, unsigned n) {
  return path + "." + std::to_string(n);
}

std::string parentDir(const std::string& path) {
  auto dir = std::filesystem::path(path).parent_path();
  return dir.empty() ? std::string(".") : dir.string();
}

/// What the client sees when its request is refused because the log cannot be written; the
/// cause (path, errno) stays in the context for the broker's own log.
Error unavailable(const Error& cause) {
  return fail(ErrorKind::Internal, "audit log unavailable: request refused",
              cause.message + (cause.context.empty() ? "" : ": " + cause.context));
}

/// mkdir -p with mode 0700 for every directory it creates; existing ones are left alone.
Result<void> makeParentDirs(const std::string& path) {
  std::filesystem::path partial;
  for (const auto& part : std::filesystem::path(path).parent_path()) {
    partial /= part;
    // EEXIST is fine; a non-directory in the way makes the open() that follows fail.
    auto r = DOCKERBOX_SYSCALL((::mkdir(partial.c_str(), 0700) == 0 || errno == EEXIST) ? 0 : -1,
                               "mkdir " + partial.string());
    if (!r) return r.error();
  }
  return {};
}

Result<void> syncDir(const std::string& dir) {
  auto fd =
      DOCKERBOX_SYSCALL(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC), "open " + dir);
  if (!fd) return fd.error();
  UniqueFd owned(*fd);
  if (auto r = DOCKERBOX_SYSCALL(::fsync(owned.get()), "fsync " + dir); !r) return r.error();
  return {};
}

/// Opens `path` for appending: created 0600, never through a symlink (O_NOFOLLOW), only a
/// regular file owned by us (anyone else could rewrite it); looser permission bits are
/// tightened to 0600.
Result<UniqueFd> openForAppend(const std::string& path, std::uint64_t& size) {
  auto fd = DOCKERBOX_SYSCALL(
      ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOFOLLOW, 0600),
      "open " + path);
  if (!fd) return fd.error();
  UniqueFd file(*fd);
  struct stat st {};
  if (auto r = DOCKERBOX_SYSCALL(::fstat(file.get(), &st), "fstat " + path); !r) return r.error();
  if (!S_ISREG(st.st_mode)) {
    return fail(ErrorKind::Internal, "audit log is not a regular file", path);
  }
  if (st.st_uid != ::geteuid()) {
    return fail(ErrorKind::Internal, "audit log is owned by someone else",
                path + " uid " + std::to_string(st.st_uid));
  }
  if ((st.st_mode & 0077) != 0) {
    auto r = DOCKERBOX_SYSCALL(::fchmod(file.get(), 0600), "fchmod 0600 " + path);
    if (!r) return r.error();
  }
  size = static_cast<std::uint64_t>(st.st_size);
  return file;
}

/// Whether `path` is a non-empty regular file; a missing file is `false`, any other failure
/// an error (an unreadable rotated file must not silently start a new chain).
Result<bool> hasRecords(const std::string& path) {
  struct stat st {};
  auto r = DOCKERBOX_SYSCALL((::lstat(path.c_str(), &st) == 0 || errno == ENOENT) ? 0 : -1,
                             "lstat " + path);
  if (!r) return r.error();
  return S_ISREG(st.st_mode) && st.st_size > 0;  // st stays zeroed when the file is missing
}

/// rename(from, to), where a missing `from` is not an error.
Result<void> renameIfExists(const std::string& from, const std::string& to) {
  auto r = DOCKERBOX_SYSCALL((::rename(from.c_str(), to.c_str()) == 0 || errno == ENOENT) ? 0 : -1,
                             "rename " + from + " " + to);
  if (!r) return r.error();
  return {};
}

}  // namespace

AuditLog::AuditLog(AuditLogOptions options) : options_(std::move(options)) {}

AuditLog::~AuditLog() = default;

Result<std::unique_ptr<AuditLog>> AuditLog::open(AuditLogOptions options) {
  if (options.path.empty()) return fail(ErrorKind::BadRequest, "audit log path is empty");
  if (options.keep < 1 || options.keep > kMaxSiblings) {
    return fail(ErrorKind::BadRequest,
                "audit log keep count must be 1.." + std::to_string(kMaxSiblings));
  }
  std::unique_ptr<AuditLog> log(new AuditLog(std::move(options)));
  std::lock_guard lock(log->mutex_);
  if (auto r = log->start(); !r) return r.error();
  return log;
}

std::chrono::system_clock::time_point AuditLog::now() const {
  return options_.clock ? options_.clock() : std::chrono::system_clock::now();
}

ChainHead AuditLog::head() const {
  std::lock_guard lock(mutex_);
  return head_;
}

OpenStatus AuditLog::openStatus() const {
  std::lock_guard lock(mutex_);
  return status_;
}

Result<void> AuditLog::start() {
  broken_ = true;
  fd_.reset();
  const std::string& path = options_.path;
  if (auto r = makeParentDirs(path); !r) return r.error();
  auto file = openForAppend(path, size_);
  if (!file) return file.error();
  fd_ = std::move(*file);
  // The file's directory entry must survive a crash too.
  if (auto r = syncDir(parentDir(path)); !r) return r.error();

  if (size_ > 0) return resumeFrom(path, TailSource::ThisFile);
  // An empty file after a rotated one: the last run died between renaming and writing the
  // new file's first record. Continue from path.1 so the chain spans both.
  std::string previous = rotatedName(path, 1);
  auto previousHasRecords = hasRecords(previous);
  if (!previousHasRecords) return previousHasRecords.error();
  if (*previousHasRecords) return resumeFrom(previous, TailSource::RotatedFile);

  head_ = ChainHead{0, std::string(kZeroHash)};
  status_ = OpenStatus{StartKind::NewChain, head_, {}};
  broken_ = false;
  return {};
}

Result<void> AuditLog::resumeFrom(const std::string& tailPath, TailSource source) {
  auto tail = readTail(tailPath);
  if (!tail) return tail.error();
  if (!tail->lastGood) {
    return fail(ErrorKind::Internal, "audit log unusable",
                tailPath + ": no valid record in its last " + std::to_string(kRecoveryWindowBytes) +
                    " bytes; move it aside to start a new log");
  }
  head_ = *tail->lastGood;
  broken_ = false;
  if (tail->lastLineGood) {
    if (source == TailSource::ThisFile) {
      status_ = OpenStatus{StartKind::Continued, head_, {}};
      return {};
    }
    auto r = writeLine(
        formatRotation(LineHeader{head_.seq + 1, now(), head_.hash}, RotationReason::Recovered),
        head_.seq + 1);
    if (!r) return r.error();
    status_ = OpenStatus{StartKind::ContinuedFromRotated, head_, {}};
    return {};
  }
  // Corrupt tail: never continue silently. The torn or edited line stays where it is (it
  // is evidence); a new segment continues seq and prev from the last valid line.
  if (source == TailSource::ThisFile && !tail->endsWithNewline) {
    if (auto r = writeBytes("\n"); !r) return r.error();  // keep our record off the torn line
  }
  std::string reason = std::filesystem::path(tailPath).filename().string() + ": " + tail->problem;
  auto r = writeLine(formatChainBreak(LineHeader{head_.seq + 1, now(), head_.hash}, reason),
                     head_.seq + 1);
  if (!r) return r.error();
  status_ = OpenStatus{StartKind::ChainBreak, head_, reason};
  return {};
}

Result<void> AuditLog::writeBytes(std::string_view bytes) {
  broken_ = true;  // until every byte is written
  while (!bytes.empty()) {
    auto n =
        DOCKERBOX_SYSCALL(::write(fd_.get(), bytes.data(), bytes.size()), "write " + options_.path);
    if (!n) return n.error();
    if (*n == 0) {
      return fail(ErrorKind::Internal, "system call failed",
                  "write " + options_.path + ": wrote nothing");
    }
    auto written = static_cast<std::size_t>(*n);
    size_ += written;
    bytes.remove_prefix(written);
  }
  broken_ = false;
  return {};
}

Result<void> AuditLog::writeLine(std::string line, std::uint64_t seq) {
  std::string hash = sha256Hex(line);
  line.push_back('\n');
  // One write() per line: with O_APPEND the line lands whole at the end of the file.
  if (auto r = writeBytes(line); !r) return r.error();
  // The record must be on disk before the action it describes is carried out.
  if (auto r = DOCKERBOX_SYSCALL(::fdatasync(fd_.get()), "fdatasync " + options_.path); !r) {
    broken_ = true;  // after a failed fdatasync the page cache may have dropped the line
    return r.error();
  }
  head_ = ChainHead{seq, std::move(hash)};
  return {};
}

Result<std::uint64_t> AuditLog::append(const Formatter& format) {
  std::lock_guard lock(mutex_);
  if (broken_) {
    if (auto r = start(); !r) return unavailable(r.error());
  }
  std::string line = format(LineHeader{head_.seq + 1, now(), head_.hash});
  if (options_.maxBytes > 0 && size_ > 0 && size_ + line.size() + 1 > options_.maxBytes) {
    if (auto r = rotateLocked(RotationReason::Size); !r) return unavailable(r.error());
    line = format(LineHeader{head_.seq + 1, now(), head_.hash});
  }
  std::uint64_t seq = head_.seq + 1;
  if (auto r = writeLine(std::move(line), seq); !r) return unavailable(r.error());
  return seq;
}

Result<std::uint64_t> AuditLog::writeRequest(const RequestRecord& record) {
  return append([&](const LineHeader& h) { return formatRequest(h, record); });
}

Result<void> AuditLog::writeOutcome(std::uint64_t ref, const OutcomeRecord& record) {
  auto r = append([&](const LineHeader& h) { return formatOutcome(h, ref, record); });
  if (!r) return r.error();
  return {};
}

Result<void> AuditLog::writeEvent(const PolicyReloadEvent& event) {
  auto r = append([&](const LineHeader& h) { return formatPolicyReload(h, event); });
  if (!r) return r.error();
  return {};
}

Result<void> AuditLog::rotate() {
  std::lock_guard lock(mutex_);
  if (broken_) {
    if (auto r = start(); !r) return unavailable(r.error());
  }
  if (auto r = rotateLocked(RotationReason::Requested); !r) return unavailable(r.error());
  return {};
}

Result<void> AuditLog::rotateLocked(RotationReason reason) {
  const std::string& path = options_.path;
  broken_ = true;  // until the new file holds its rotation record
  for (unsigned n = options_.keep - 1; n >= 1; --n) {
    auto r = renameIfExists(rotatedName(path, n), rotatedName(path, n + 1));
    if (!r) return r.error();
  }
  if (auto r = renameIfExists(path, rotatedName(path, 1)); !r) return r.error();
  fd_.reset();
  auto file = openForAppend(path, size_);
  if (!file) return file.error();
  fd_ = std::move(*file);
  if (auto r = syncDir(parentDir(path)); !r) return r.error();  // the renames and the new entry
  broken_ = false;
  // The first record of the new file carries the previous file's last hash as prev.
  return writeLine(formatRotation(LineHeader{head_.seq + 1, now(), head_.hash}, reason),
                   head_.seq + 1);
}

}  // namespace dockerbox::broker::audit
