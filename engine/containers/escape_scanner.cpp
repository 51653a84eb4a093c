// Runs in the engine. Input: the client's stdin bytes (untrusted, only compared).
#include "engine/containers/escape_scanner.hpp"

namespace dockerbox::broker::containers {

bool EscapeScanner::feed(std::string_view in, std::string& out) {
  for (char c : in) {
    if (matched_ > 0 && c != keys_[matched_]) {
      // Not the sequence after all: what was held passes on, and this byte may start it.
      out.append(keys_, 0, matched_);
      matched_ = 0;
    }
    if (c == keys_[matched_]) {
      if (++matched_ == keys_.size()) return true;
      continue;
    }
    out.push_back(c);
  }
  return false;
}

void EscapeScanner::flush(std::string& out) {
  out.append(keys_, 0, matched_);
  matched_ = 0;
}

}  // namespace dockerbox::broker::containers
