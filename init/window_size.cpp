// Runs in pid 1 (root before its drop, the reaper after it). Input: the broker's control
// FIFO. See window_size.hpp.
#include "init/window_size.hpp"

#include "init/limits.hpp"

#include <sys/ioctl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace dockerbox::init {

std::optional<WindowSize> WindowSizeDecoder::feed(std::span<const char> bytes) {
  std::optional<WindowSize> last;
  while (!bytes.empty()) {
    std::size_t take = std::min(bytes.size(), partial_.size() - used_);
    std::memcpy(partial_.data() + used_, bytes.data(), take);
    used_ += take;
    bytes = bytes.subspan(take);
    if (used_ < partial_.size()) break;
    used_ = 0;
    WindowSize size;
    std::memcpy(&size.rows, partial_.data(), sizeof(size.rows));
    std::memcpy(&size.cols, partial_.data() + sizeof(size.rows), sizeof(size.cols));
    if (size.rows != 0 && size.cols != 0) last = size;
  }
  return last;
}

ControlFifo applyWindowSizes(int controlFd, int masterFd, WindowSizeDecoder& decoder) {
  std::array<char, kWindowSizeRecordSize * kWindowSizeRecordsPerRead> buffer{};
  std::optional<WindowSize> last;
  for (;;) {
    long n = ::read(controlFd, buffer.data(), buffer.size());
    if (n < 0 && errno == EINTR) continue;
    if (n > 0) {
      if (auto size = decoder.feed(std::span(buffer.data(), static_cast<std::size_t>(n)))) {
        last = size;
      }
      continue;
    }
    ControlFifo state = n < 0 && errno == EAGAIN ? ControlFifo::Open : ControlFifo::Ended;
    if (last) {
      winsize ws{};
      ws.ws_row = last->rows;
      ws.ws_col = last->cols;
      (void)::ioctl(masterFd, TIOCSWINSZ, &ws);  // the kernel signals SIGWINCH to the program
    }
    // EAGAIN: nothing more for now. 0: EOF. Anything else: no more sizes will arrive.
    return state;
  }
}

}  // namespace dockerbox::init
