// Captured container output in json-file format. Runs in the engine (dockerbox-engine,
// unprivileged). Input: container output bytes (arbitrary), and the broker's own log files
// when reading back, which a crash may have torn: a bad line is skipped and counted, never
// trusted.
#include "engine/state/log_store.hpp"

#include "broker/state/names.hpp"
#include "engine/state/private_fs.hpp"
#include "engine/state/rfc3339.hpp"
#include "common/syscall.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <string>

namespace dockerbox::broker::state {
namespace {

// Paths are built from the id, so anything but 64 lowercase hex (say "../x") is refused
// before it gets near the file system.
Error badId(std::string_view dockerId) {
  return fail(ErrorKind::Internal, "invalid container id",
              "log store got a non-id of " + std::to_string(dockerId.size()) + " bytes");
}

std::filesystem::path rotatedPath(std::filesystem::path file) {
  file += ".1";
  return file;
}

// json-file's records: one per line with its '\n', the trailing piece on its own, and
// anything longer than kMaxLogRecordBytes in pieces.
std::string encodeRecords(LogStream stream, std::string_view bytes, std::int64_t timeNanos) {
  std::string out;
  while (!bytes.empty()) {
    const std::size_t newline = bytes.find('\n');
    const std::size_t lineLength = newline == std::string_view::npos ? bytes.size() : newline + 1;
    const std::size_t take = std::min(lineLength, kMaxLogRecordBytes);
    out += encodeLogLine(stream, bytes.substr(0, take), timeNanos);
    bytes.remove_prefix(take);
  }
  return out;
}

Result<std::uint64_t> fileSize(const UniqueFd& fd, const std::filesystem::path& file) {
  struct stat info {};
  auto statted = DOCKERBOX_SYSCALL(::fstat(fd.get(), &info), "fstat " + file.string());
  if (!statted) return statted.error();
  return static_cast<std::uint64_t>(info.st_size);
}

Result<void> writeAll(const UniqueFd& fd, std::string_view data,
                      const std::filesystem::path& file) {
  while (!data.empty()) {
    auto written =
        DOCKERBOX_SYSCALL(::write(fd.get(), data.data(), data.size()), "write " + file.string());
    if (!written) return written.error();
    data.remove_prefix(static_cast<std::size_t>(*written));
  }
  return {};
}

// The last `cap` bytes of `file` (all of it if smaller); `clipped` says whether the start
// was cut, in which case the first line is a fragment.
Result<std::string> readTail(const std::filesystem::path& file, std::uint64_t cap, bool& clipped) {
  clipped = false;
  auto opened = openIfExists(file);
  if (!opened) return opened.error();
  if (!opened->valid()) return std::string();
  auto size = fileSize(*opened, file);
  if (!size) return size.error();
  const std::uint64_t offset = *size > cap ? *size - cap : 0;
  clipped = offset > 0;
  std::string content(static_cast<std::size_t>(*size - offset), '\0');
  std::size_t done = 0;
  while (done < content.size()) {
    auto got = DOCKERBOX_SYSCALL(::pread(opened->get(), content.data() + done,
                                         content.size() - done, static_cast<off_t>(offset + done)),
                                 "pread " + file.string());
    if (!got) return got.error();
    if (*got == 0) break;  // shrank under us (an operator truncated it)
    done += static_cast<std::size_t>(*got);
  }
  content.resize(done);
  return content;
}

bool selected(const LogEntry& entry, const LogReadOptions& options) {
  if (entry.stream == LogStream::Stdout && !options.stdoutStream) return false;
  if (entry.stream == LogStream::Stderr && !options.stderrStream) return false;
  if (options.sinceNanos != 0 && entry.timeNanos < options.sinceNanos) return false;
  if (options.untilNanos != 0 && entry.timeNanos > options.untilNanos) return false;
  return true;
}

void collect(std::string_view content, bool clipped, const LogReadOptions& options,
             LogReadResult& out) {
  if (clipped) {  // the first line is the tail end of one we did not read: not malformed
    const std::size_t newline = content.find('\n');
    content = newline == std::string_view::npos ? std::string_view() : content.substr(newline + 1);
  }
  while (!content.empty()) {
    const std::size_t newline = content.find('\n');
    const std::string_view line = content.substr(0, newline);
    content.remove_prefix(newline == std::string_view::npos ? content.size() : newline + 1);
    if (line.empty()) continue;
    if (line.size() > kMaxLogLineBytes) {
      ++out.malformedLines;
      continue;
    }
    auto entry = decodeLogLine(line);
    if (!entry) {
      ++out.malformedLines;
      continue;
    }
    if (selected(*entry, options)) out.entries.push_back(std::move(*entry));
  }
}

}  // namespace

LogStore::LogStore(std::filesystem::path containersDir, LogStoreOptions options)
    : containersDir_(std::move(containersDir)), options_(options) {}

Result<std::unique_ptr<LogStore>> LogStore::open(const std::filesystem::path& stateDir,
                                                 LogStoreOptions options) {
  if (options.maxFileBytes == 0) {
    return fail(ErrorKind::Internal, "log store misconfigured", "maxFileBytes is 0");
  }
  auto containersDir = stateDir / "containers";
  auto made = ensurePrivateDir(containersDir);
  if (!made) return made.error();
  return std::unique_ptr<LogStore>(new LogStore(std::move(containersDir), options));
}

std::filesystem::path LogStore::logPath(std::string_view dockerId) const {
  std::string name(dockerId);
  name += "-json.log";
  return containersDir_ / std::string(dockerId) / name;
}

Result<void> LogStore::append(std::string_view dockerId, LogStream stream, std::string_view bytes,
                              std::int64_t timeNanos) {
  if (!isFullId(dockerId)) return badId(dockerId);
  if (bytes.empty()) return {};
  std::string payload = encodeRecords(stream, bytes, timeNanos);

  std::lock_guard lock(mutex_);
  auto dir = ensurePrivateDir(containersDir_ / std::string(dockerId));
  if (!dir) return dir;
  const auto file = logPath(dockerId);
  auto fd = openPrivateAppend(file);
  if (!fd) return fd.error();
  auto size = fileSize(*fd, file);
  if (!size) return size.error();
  if (*size > 0 && *size + payload.size() > options_.maxFileBytes) {
    // rename() replaces the old .1 atomically; a crash on either side of it leaves a
    // readable pair of files.
    const auto rotated = rotatedPath(file);
    auto renamed =
        DOCKERBOX_SYSCALL(::rename(file.c_str(), rotated.c_str()), "rename " + file.string());
    if (!renamed) return renamed.error();
    fd = openPrivateAppend(file);
    if (!fd) return fd.error();
  } else if (*size > 0) {
    // A crash (or a full disk) can leave the last record without its '\n'. Start ours on a
    // fresh line so the torn one stays a single malformed line instead of swallowing ours.
    char last = '\n';
    auto got = DOCKERBOX_SYSCALL(::pread(fd->get(), &last, 1, static_cast<off_t>(*size - 1)),
                                 "pread " + file.string());
    if (!got) return got.error();
    if (*got == 1 && last != '\n') payload.insert(payload.begin(), '\n');
  }
  return writeAll(*fd, payload, file);
}

Result<LogReadResult> LogStore::read(std::string_view dockerId, const LogReadOptions& options) {
  if (!isFullId(dockerId)) return badId(dockerId);
  LogReadResult result;
  if (options.tail == 0) return result;
  // Each file is at most maxFileBytes plus one append; reading twice that bounds memory
  // even if a file was grown by hand.
  const std::uint64_t cap = options_.maxFileBytes * 2;
  std::lock_guard lock(mutex_);
  const auto file = logPath(dockerId);
  for (const auto& path : {rotatedPath(file), file}) {
    bool clipped = false;
    auto content = readTail(path, cap, clipped);
    if (!content) return content.error();
    collect(*content, clipped, options, result);
  }
  if (options.tail > 0 && result.entries.size() > static_cast<std::uint64_t>(options.tail)) {
    result.entries.erase(result.entries.begin(),
                         result.entries.end() - static_cast<std::ptrdiff_t>(options.tail));
  }
  if (options.timestamps) {
    for (LogEntry& entry : result.entries) {
      entry.bytes.insert(0, formatRfc3339Nano(entry.timeNanos) + " ");
    }
  }
  return result;
}

Result<void> LogStore::remove(std::string_view dockerId) {
  if (!isFullId(dockerId)) return badId(dockerId);
  std::lock_guard lock(mutex_);
  const auto file = logPath(dockerId);
  auto rotated = removeIfExists(rotatedPath(file));
  if (!rotated) return rotated;
  auto current = removeIfExists(file);
  if (!current) return current;
  const auto dir = containersDir_ / std::string(dockerId);
  if (::rmdir(dir.c_str()) != 0) {
    const int err = errno;
    if (err != ENOENT) {
      return fail(ErrorKind::Internal, "state directory error",
                  "rmdir " + dir.string() + ": " + errnoText(err));
    }
  }
  return {};
}

}  // namespace dockerbox::broker::state
