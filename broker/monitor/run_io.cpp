// Runs as root. Input: see run_io.hpp. Nothing here reads what passes through.
#include "broker/monitor/run_io.hpp"

#include "common/task.hpp"
#include "init/config.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/write.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/redirect_error.hpp>

#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <vector>

namespace dockerbox::broker::monitor {

namespace asio = boost::asio;

namespace {

constexpr const char* kStdinName = "stdin";
constexpr const char* kPortsName = "ports";
constexpr const char* kControlName = "control";
constexpr std::array<const char*, 2> kOutputNames = {"stdout", "stderr"};
constexpr std::array<minibox::OutputStream, 2> kOutputStreams = {minibox::OutputStream::Stdout,
                                                                 minibox::OutputStream::Stderr};
constexpr std::size_t kOutputReadBytes = 16 * 1024;

Result<void> checkIoDir(const std::string& ioDir) {
  if (::mkdir(ioDir.c_str(), 0700) != 0 && errno != EEXIST) {
    return fail(ErrorKind::Internal, "internal error", "mkdir " + ioDir + ": " + std::strerror(errno));
  }
  struct stat st {};
  if (::lstat(ioDir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode) || st.st_uid != 0 || (st.st_mode & 022) != 0) {
    return fail(ErrorKind::Internal, "internal error", ioDir + " is not a root-owned directory only root can write");
  }
  return {};
}

/// A new FIFO in `dir`, opened for writing without blocking (read-write: see run_io.hpp).
Result<UniqueFd> makeFifo(int dir, const char* name) {
  if (::mkfifoat(dir, name, 0600) != 0) {
    return fail(ErrorKind::Internal, "internal error", std::string("mkfifo ") + name + ": " + std::strerror(errno));
  }
  UniqueFd fd(::openat(dir, name, O_RDWR | O_NONBLOCK | O_CLOEXEC | O_NOFOLLOW));
  if (!fd) return fail(ErrorKind::Internal, "internal error", std::string("open ") + name + ": " + std::strerror(errno));
  return fd;
}

/// The input FIFO: a read end that is never read (it keeps the FIFO, and what was written
/// into it, alive until the init has opened its own read end, however late that is) and a
/// write end. Closing the write end alone is the program's EOF, after whatever was written.
Result<std::pair<UniqueFd, UniqueFd>> makeInputFifo(int dir, const char* name) {
  if (::mkfifoat(dir, name, 0600) != 0) {
    return fail(ErrorKind::Internal, "internal error", std::string("mkfifo ") + name + ": " + std::strerror(errno));
  }
  // The read end first: a nonblocking write-only open needs a reader.
  UniqueFd keeper(::openat(dir, name, O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOFOLLOW));
  UniqueFd writer;
  if (keeper) writer.reset(::openat(dir, name, O_WRONLY | O_NONBLOCK | O_CLOEXEC | O_NOFOLLOW));
  if (!keeper || !writer) {
    return fail(ErrorKind::Internal, "internal error", std::string("open ") + name + ": " + std::strerror(errno));
  }
  return std::make_pair(std::move(keeper), std::move(writer));
}

void removeDir(const std::string& dir) {
  std::error_code ignored;  // nothing sensible to do: the next start-up clears what is left
  std::filesystem::remove_all(dir, ignored);
}

}  // namespace

Result<std::unique_ptr<RunIo>> RunIo::create(asio::any_io_executor executor, const std::string& ioDir,
                                             const std::string& dockerId, bool withStdin, bool withTerminal,
                                             bool withOutput) {
  if (auto ok = checkIoDir(ioDir); !ok) return ok.error();
  const std::string dir = ioDir + "/" + dockerId;
  removeDir(dir);
  if (::mkdir(dir.c_str(), 0700) != 0) {
    return fail(ErrorKind::Internal, "internal error", "mkdir " + dir + ": " + std::strerror(errno));
  }
  std::unique_ptr<RunIo> made(new RunIo(executor, dir));  // removes `dir` on failure
  UniqueFd dirFd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  if (!dirFd) return fail(ErrorKind::Internal, "internal error", "open " + dir + ": " + std::strerror(errno));
  if (withStdin) {
    auto ends = makeInputFifo(dirFd.get(), kStdinName);
    if (!ends) return ends.error();
    made->stdinKeeper_ = std::move(ends->first);
    made->stdin_.emplace(executor, ends->second.release());
  }
  if (withTerminal) {
    auto fd = makeFifo(dirFd.get(), kControlName);
    if (!fd) return fd.error();
    made->control_ = std::move(*fd);
  }
  for (std::size_t i = 0; withOutput && i < kOutputNames.size(); ++i) {
    auto fd = makeFifo(dirFd.get(), kOutputNames[i]);
    if (!fd) return fd.error();
    made->output_[i].emplace(executor, fd->release());
  }
  return made;
}

Result<UniqueFd> RunIo::makePortChannel() {
  UniqueFd listener(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!listener) return fail(ErrorKind::Internal, "internal error", std::string("port channel socket: ") + std::strerror(errno));
  UniqueFd dirFd(::open(dir_.c_str(), O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  if (!dirFd) return fail(ErrorKind::Internal, "internal error", "open " + dir_ + ": " + std::strerror(errno));
  // Through the directory's descriptor: the socket's path stays short whatever the io dir is.
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  const std::string path = "/proc/self/fd/" + std::to_string(dirFd.get()) + "/" + kPortsName;
  std::memcpy(address.sun_path, path.c_str(), path.size() + 1);
  if (::bind(listener.get(), reinterpret_cast<const sockaddr*>(&address), sizeof address) != 0 ||
      ::listen(listener.get(), 1) != 0) {
    return fail(ErrorKind::Internal, "internal error", "port channel " + dir_ + ": " + std::strerror(errno));
  }
  return listener;
}

RunIo::~RunIo() {
  stdin_.reset();
  stdinKeeper_.reset();
  control_.reset();
  for (auto& out : output_) out.reset();
  removeDir(dir_);
}

asio::awaitable<Result<void>> RunIo::write(std::span<const std::uint8_t> data) {
  if (!stdin_ || !stdin_->is_open()) co_return fail(ErrorKind::Conflict, "the container's stdin is closed");
  if (writing_) co_return fail(ErrorKind::Conflict, "stdin is already being written");
  writing_ = true;
  boost::system::error_code ec;
  co_await asio::async_write(*stdin_, asio::buffer(data.data(), data.size()),
                             asio::redirect_error(asio::use_awaitable, ec));
  writing_ = false;
  if (ec) co_return fail(ErrorKind::Unavailable, "the container is no longer reading its stdin", ec.message());
  co_return Result<void>();
}

void RunIo::closeStdin() {
  if (!stdin_) return;
  boost::system::error_code ignored;
  stdin_->close(ignored);  // a write in progress ends with operation_aborted
}

Result<void> RunIo::resize(std::uint16_t rows, std::uint16_t cols) {
  if (!control_) return fail(ErrorKind::Conflict, "the container has no terminal");
  if (rows == 0 || cols == 0) return {};
  std::array<std::uint16_t, 2> record{rows, cols};
  static_assert(sizeof record == init::kWindowSizeRecordSize);
  long n = ::write(control_.get(), record.data(), sizeof record);  // < PIPE_BUF: all or nothing
  if (n < 0 && errno != EAGAIN) {
    return fail(ErrorKind::Unavailable, "the container's terminal is gone", std::strerror(errno));
  }
  return {};
}

void RunIo::startOutputPumps(minibox::OutputHandler onOutput) {
  if (pumping_ > 0 || ending_) return;
  for (std::size_t i = 0; i < output_.size(); ++i) {
    if (!output_[i]) continue;
    ++pumping_;  // from now: endOutput() waits for this pump, even before it first runs
    asio::co_spawn(executor_, pump(i, onOutput), [self = shared_from_this()](const std::exception_ptr& thrown) {
      if (!thrown) return;
      reportTaskException("output pump", thrown);
      --self->pumping_;
      self->pumped_.notifyAll();
    });
  }
}

asio::awaitable<void> RunIo::pump(std::size_t stream, minibox::OutputHandler onOutput) {
  auto& fifo = *output_[stream];
  std::vector<std::uint8_t> buffer(kOutputReadBytes);
  for (;;) {
    std::size_t got = 0;
    if (ending_) {
      // The run is over: its writes are all in the FIFO; take them without waiting.
      long n = ::read(fifo.native_handle(), buffer.data(), buffer.size());
      if (n <= 0) break;
      got = static_cast<std::size_t>(n);
    } else {
      boost::system::error_code ec;
      got = co_await fifo.async_read_some(asio::buffer(buffer), asio::redirect_error(asio::use_awaitable, ec));
      if (ec == asio::error::operation_aborted) continue;  // endOutput(): drain
      if (ec) break;
    }
    std::vector<std::uint8_t> chunk(buffer.begin(), buffer.begin() + static_cast<std::ptrdiff_t>(got));
    co_await onOutput(kOutputStreams[stream], std::move(chunk));
  }
  --pumping_;
  pumped_.notifyAll();
}

asio::awaitable<void> RunIo::endOutput() {
  ending_ = true;
  for (auto& out : output_) {
    boost::system::error_code ignored;
    if (out) out->cancel(ignored);
  }
  while (pumping_ > 0) {
    if (co_await pumped_.wait() == containers::WakeReason::Cancelled) co_return;
  }
}

void clearRunIo(const std::string& ioDir) {
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(ioDir, ec)) removeDir(entry.path());
}

}  // namespace dockerbox::broker::monitor
