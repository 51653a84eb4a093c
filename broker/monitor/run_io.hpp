// Runs as root. Input: the client's stdin bytes (written, never read), terminal sizes, and
// what a container's program writes to stdout and stderr (read and passed on as output,
// never parsed).
//
// miniboxd cannot deliver input to a container, give it a terminal (protocol 7.10) or keep
// its stderr apart from its stdout (8.5), so dockerbox-init does it inside the container:
// for every confined Run the monitor makes a directory only root can reach,
// `<io dir>/<docker id>/`, holding the FIFOs the run needs: `stdin` (OpenStdin: the
// program's input), `control` (Tty: 4-byte records, uint16 rows then uint16 cols, host
// order), `stdout` and `stderr` (no Tty: the program's fds 1 and 2, read the same way so
// that their order survives; with a Tty both go to the terminal, which the init relays
// to miniboxd).
// miniboxd binds that directory read-only into the container at
// containers::kIoPathInContainer; the init opens the FIFOs there, as root, and detaches the
// mount before anything of the user's runs, so the program only ever holds the ends it was
// given. Pid 1 keeps the directory open (init::kHeldIoDirFd): an exec of the container gets
// the same kind of FIFOs in `<io dir>/<docker id>/<exec id>/`, which its init, root with
// every capability, opens through /proc/1/fd; the container's programs cannot (pid 1 is
// not dumpable).
//
// The monitor opens every FIFO before the Run, the output and control FIFOs read-write,
// stdin as a write end and a read end it never reads: the init's opens never block, input
// written (and even closed) before the init opens its end is still there for it, the
// program sees EOF on stdin only when the monitor closes its write end (closeStdin(), or
// the run ending), and nothing in the container can open another end (the directory is
// gone from its view). Output is read as it comes; the container's writes wait while the engine is
// behind (the acts window), as they would on miniboxd's pipe.
#pragma once

#include "broker/containers/notifier.hpp"
#include "broker/minibox/client.hpp"
#include "common/result.hpp"
#include "common/unique_fd.hpp"

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>

#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace dockerbox::broker::monitor {

class RunIo : public std::enable_shared_from_this<RunIo> {
 public:
  /// Makes `<ioDir>/<dockerId>/` (replacing what an earlier broker left there) with the
  /// FIFOs the run needs, and opens them. `ioDir` is created 0700 if missing and must be a
  /// root-owned directory that is not group- or other-writable.
  [[nodiscard]] static Result<std::unique_ptr<RunIo>> create(boost::asio::any_io_executor executor,
                                                             const std::string& ioDir, const std::string& dockerId,
                                                             bool withStdin, bool withTerminal, bool withOutput);
  ~RunIo();  // closes the write ends and removes the directory
  RunIo(const RunIo&) = delete;
  RunIo& operator=(const RunIo&) = delete;

  [[nodiscard]] const std::string& hostDir() const { return dir_; }
  [[nodiscard]] bool hasStdin() const { return stdin_.has_value(); }
  [[nodiscard]] bool hasTerminal() const { return control_.valid(); }
  [[nodiscard]] bool hasOutput() const { return output_[0].has_value(); }

  /// Writes all of `data` to the program's stdin; Conflict when stdin is closed or a write
  /// is already in progress, Unavailable when the program is gone.
  boost::asio::awaitable<Result<void>> write(std::span<const std::uint8_t> data);
  /// Closes stdin: the program reads EOF once it has read what was written.
  void closeStdin();
  /// Passes a terminal size to the init; dropped when the init is not reading (its FIFO is
  /// full), as a size that is soon replaced by the next one.
  [[nodiscard]] Result<void> resize(std::uint16_t rows, std::uint16_t cols);

  /// Published ports (monitor/published_ports.hpp): a Unix stream socket `ports` in the
  /// directory, listening, that the init connects to once before its mount is detached
  /// (init record `ports=`). The listener goes to the port proxy, which accepts that one
  /// connection; nothing in the container can reach the path afterwards.
  [[nodiscard]] Result<UniqueFd> makePortChannel();

  /// Starts passing what the program writes to stdout and stderr to `onOutput`, one read at
  /// a time per stream, until endOutput(); then what is left in the FIFOs. Once per RunIo,
  /// which must be owned by a shared_ptr (the pumps hold it).
  void startOutputPumps(minibox::OutputHandler onOutput);
  /// After the run ended (its processes are gone): lets the pumps pass on the rest and
  /// returns once they have.
  boost::asio::awaitable<void> endOutput();

 private:
  RunIo(boost::asio::any_io_executor executor, std::string dir)
      : executor_(executor), dir_(std::move(dir)), pumped_(std::move(executor)) {}
  boost::asio::awaitable<void> pump(std::size_t stream, minibox::OutputHandler onOutput);

  boost::asio::any_io_executor executor_;

  std::string dir_;
  std::optional<boost::asio::posix::stream_descriptor> stdin_;  // the write end
  UniqueFd stdinKeeper_;  // a read end never read: input written before the init opens stays
  UniqueFd control_;
  std::array<std::optional<boost::asio::posix::stream_descriptor>, 2> output_;  // stdout, stderr
  bool writing_ = false;
  int pumping_ = 0;  // output pumps still running
  bool ending_ = false;
  containers::Notifier pumped_;  // a pump ended
};

/// At start-up: removes every run's directory an earlier broker left in `ioDir` (their
/// runs lost their input with that broker).
void clearRunIo(const std::string& ioDir);

}  // namespace dockerbox::broker::monitor
