// The window sizes of a container's terminal: records from the broker's control FIFO
// (config.hpp, kWindowSizeRecordSize), applied to the pty with TIOCSWINSZ. Runs in pid 1,
// before its drop (the size already sent when the container starts) and in the tty relay
// after it, under the reaper's seccomp filter: nothing here allocates.
// Input: the broker's records (trusted, but decoded defensively: a partial or zero-sized
// record changes nothing).
#pragma once

#include "init/config.hpp"

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>

namespace dockerbox::init {

struct WindowSize {
  std::uint16_t rows = 0;
  std::uint16_t cols = 0;
};

/// Splits the control FIFO's bytes into records. The broker writes each record whole, so
/// a read never ends inside one; a record split anyway is completed by the next call.
class WindowSizeDecoder {
 public:
  /// The last record with non-zero rows and columns completed by `bytes`, if any (earlier
  /// ones in the same batch are already out of date).
  [[nodiscard]] std::optional<WindowSize> feed(std::span<const char> bytes);

 private:
  std::array<char, kWindowSizeRecordSize> partial_{};
  std::size_t used_ = 0;
};

enum class ControlFifo { Open, Ended };

/// Reads the records waiting in `controlFd` (O_NONBLOCK) and sets the last valid one on
/// the pty master `masterFd`. Ended at EOF (the broker closed its end) or on a read error:
/// the caller stops watching it. A failed TIOCSWINSZ keeps the old size.
[[nodiscard]] ControlFifo applyWindowSizes(int controlFd, int masterFd,
                                           WindowSizeDecoder& decoder);

}  // namespace dockerbox::init
