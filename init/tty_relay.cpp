// Runs as pid 1 of a container with a terminal, after the reaper's privilege drop (uid 0,
// CAP_KILL only, seccomp). Input: the terminal's output and the program's signals
// (untrusted), the broker's stdin and control FIFOs (trusted). See tty_relay.hpp.
#include "init/tty_relay.hpp"

#include "init/limits.hpp"
#include "init/reaper.hpp"

#include <poll.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstddef>
#include <span>

namespace dockerbox::init {
namespace {

bool wouldBlock(long n) { return n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK); }

/// Writes all of `data` to `fd`, waiting while it is full: a slow reader of the
/// container's output slows the program down (as Docker's relay does) but loses nothing.
/// False when `fd` fails for good (its reader is gone).
bool writeAll(int fd, std::span<const char> data) {
  while (!data.empty()) {
    long n = ::write(fd, data.data(), data.size());
    if (n > 0) {
      data = data.subspan(static_cast<std::size_t>(n));
    } else if (wouldBlock(n)) {
      pollfd writable{fd, POLLOUT, 0};
      (void)::poll(&writable, 1, -1);  // an error here shows in the next write
    } else if (n == 0 || errno != EINTR) {
      return false;
    }
  }
  return true;
}

/// The relay's state. It lives on pid 1's stack (relayUntilExit): its buffers are the
/// only memory it uses, and the seccomp filter leaves no way to get more.
class Relay {
 public:
  Relay(pid_t child, int signalFd, ContainerIo& io, PortChannel& ports, pid_t self)
      : child_(child), self_(self), signals_(signalFd), master_(io.ptyMaster.get()), io_(io),
        ports_(ports) {}

  /// One poll and what it reported. False when poll itself failed (not for EINTR).
  bool step();
  [[nodiscard]] int childStatus() const { return status_; }
  /// After the child's exit: what the terminal still holds, until it has nothing more.
  void drainOutput();

 private:
  enum Slot : std::size_t { kSignals, kMaster, kStdin, kControl, kSlots };

  [[nodiscard]] bool inputPending() const { return inputStart_ < inputEnd_; }
  void takeSignals();
  void copyOutput();
  void readInput();
  void writeInput();
  void stopInput();
  void emit(std::span<const char> data);

  pid_t child_;
  pid_t self_;  // the sender of the SIGPIPE the kernel raises when the relay writes to a closed stdout
  int signals_;
  int master_;
  ContainerIo& io_;
  PortChannel& ports_;
  int status_ = -1;
  bool slaveOpen_ = true;    // false once the master reads EIO: no one holds the slave
  bool outputLost_ = false;  // fd 1 failed: the output is read and dropped from then on
  std::array<char, kRelayChunkSize> output_{};
  std::array<char, kRelayChunkSize> input_{};
  std::size_t inputStart_ = 0;
  std::size_t inputEnd_ = 0;
};

bool Relay::step() {
  // As the plain reaper: one turn of the port channel per step, and while it may hold
  // more the poll only looks (timeout 0), since no new SIGIO comes for what is there.
  if (ports_.pending()) ports_.serve();
  std::array<pollfd, kSlots> fds{};
  auto masterEvents =
      static_cast<short>((slaveOpen_ ? POLLIN : 0) | (inputPending() ? POLLOUT : 0));
  fds[kSignals] = {signals_, POLLIN, 0};
  fds[kMaster] = {masterEvents != 0 ? master_ : -1, masterEvents, 0};
  // Input waits while the master has not taken the last read: the FIFO holds the rest.
  fds[kStdin] = {io_.stdinFifo && !inputPending() ? io_.stdinFifo.get() : -1, POLLIN, 0};
  fds[kControl] = {io_.controlFifo ? io_.controlFifo.get() : -1, POLLIN, 0};
  if (::poll(fds.data(), fds.size(), ports_.pending() ? 0 : -1) < 0) return errno == EINTR;
  constexpr short kReady = POLLIN | POLLHUP | POLLERR | POLLNVAL;
  if ((fds[kMaster].revents & kReady) != 0 && slaveOpen_) copyOutput();
  // Window sizes before input: a size the client sent before a keystroke is in place when
  // the program reads that keystroke (both FIFOs are ready in the same poll by then).
  if ((fds[kControl].revents & kReady) != 0 &&
      applyWindowSizes(io_.controlFifo.get(), master_, io_.windowSizes) == ControlFifo::Ended) {
    io_.controlFifo.reset();
  }
  if ((fds[kMaster].revents & (kReady | POLLOUT)) != 0 && inputPending()) writeInput();
  if ((fds[kStdin].revents & kReady) != 0) readInput();
  if ((fds[kSignals].revents & kReady) != 0) takeSignals();
  return true;
}

void Relay::takeSignals() {
  std::array<signalfd_siginfo, 16> infos{};
  long n = ::read(signals_, infos.data(), sizeof(infos));
  if (n < 0 && errno == EINTR) return;  // poll reports the rest again
  for (long i = 0; n > 0 && i < n / static_cast<long>(sizeof(signalfd_siginfo)); ++i) {
    const auto& info = infos[static_cast<std::size_t>(i)];
    // The relay's own write to a closed stdout: not a signal for the program (emit() copes).
    if (info.ssi_signo == SIGPIPE && static_cast<pid_t>(info.ssi_pid) == self_) continue;
    const TakenSignal taken{static_cast<int>(info.ssi_signo), info.ssi_code};
    if (int status = takeSignal(child_, taken, ports_); status >= 0) {
      status_ = status;
    }
  }
}

void Relay::emit(std::span<const char> data) {
  if (!outputLost_ && !writeAll(STDOUT_FILENO, data)) outputLost_ = true;
}

void Relay::copyOutput() {
  long n = ::read(master_, output_.data(), output_.size());
  if (n > 0) {
    emit(std::span(output_.data(), static_cast<std::size_t>(n)));
  } else if (!wouldBlock(n) && !(n < 0 && errno == EINTR)) {
    // EIO: every fd of the slave is closed, by the program and whatever it started. The
    // master is kept (input may still be written if the slave is opened again).
    slaveOpen_ = false;
  }
}

void Relay::readInput() {
  long n = ::read(io_.stdinFifo.get(), input_.data(), input_.size());
  if (n > 0) {
    inputStart_ = 0;
    inputEnd_ = static_cast<std::size_t>(n);
    writeInput();
  } else if (!wouldBlock(n) && !(n < 0 && errno == EINTR)) {
    // EOF: the client's stdin has ended. The master stays open, as Docker leaves it:
    // closing it would hang up the program's terminal.
    io_.stdinFifo.reset();
  }
}

void Relay::writeInput() {
  while (inputPending()) {
    long n = ::write(master_, input_.data() + inputStart_, inputEnd_ - inputStart_);
    if (n > 0) {
      inputStart_ += static_cast<std::size_t>(n);
    } else if (wouldBlock(n)) {
      return;  // the program is not reading: poll says when the terminal takes more
    } else if (n == 0 || errno != EINTR) {
      stopInput();  // EIO: no one holds the slave to read it
      return;
    }
  }
}

void Relay::stopInput() {
  inputStart_ = inputEnd_ = 0;
  io_.stdinFifo.reset();
}

void Relay::drainOutput() {
  // A nonblocking read of the master first waits for the kernel's queued copy of what
  // the slave was given, so data the program wrote before it exited is never missed;
  // EAGAIN then means there is nothing more, EIO that the slave is closed as well.
  for (;;) {
    long n = ::read(master_, output_.data(), output_.size());
    if (n > 0) {
      emit(std::span(output_.data(), static_cast<std::size_t>(n)));
    } else if (!(n < 0 && errno == EINTR)) {
      return;
    }
  }
}

}  // namespace

int relayUntilExit(pid_t child, int signalFd, const sigset_t& signals, ContainerIo& io,
                   PortChannel& ports, RelayOwner owner) {
  Relay relay(child, signalFd, io, ports, owner.self);
  while (relay.childStatus() < 0) {
    // poll cannot fail on these fds but for want of kernel memory; the relay then ends
    // and pid 1 goes on as the plain reaper, which takes the same pending signals.
    if (!relay.step()) return reapUntilExit(child, signals, ports);
  }
  // The program has exited: pid 1 kills what it left behind, as its own exit is about
  // to, so that no background process can keep the terminal busy. kill(-1) from pid 1
  // reaches every process of its namespace but itself, and no other. An exec's relay
  // leaves them: the drain ends at the first empty read either way.
  if (owner.end == RelayEnd::KillNamespace) (void)::kill(-1, SIGKILL);
  relay.drainOutput();
  return relay.childStatus();
}

}  // namespace dockerbox::init
