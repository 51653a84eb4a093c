// Docker's detach keys in an attached client's stdin (dockerd's escape proxy): the bytes
// before the sequence pass on to the container, the sequence itself never does, and a
// partial match is held until the next bytes say whether it was one. Input: the client's
// stdin bytes (untrusted, only compared).
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace dockerbox::broker::containers {

class EscapeScanner {
 public:
  /// `keys`: the sequence (decode::detachKeySequence), at least one byte.
  explicit EscapeScanner(std::string keys) : keys_(std::move(keys)) {}

  /// Appends to `out` what of `in` passes on; true once the whole sequence has been seen
  /// (what follows it in `in` is dropped: the client has detached).
  bool feed(std::string_view in, std::string& out);
  /// At the end of the client's input: the held partial match, which was not one.
  void flush(std::string& out);

 private:
  std::string keys_;
  std::size_t matched_ = 0;
};

}  // namespace dockerbox::broker::containers
