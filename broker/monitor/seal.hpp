// Runs as root, in the monitor. Input: records the container service holds (ids, owners and
// stored configs, which the service could have changed) and the key file, which only root
// can read.
//
// Seals bind a record's id, owner and stored config together under a key the service never
// sees (issue 9): an HMAC-SHA256 over a length-prefixed encoding of
//   "dockerbox-seal-v1", kind, id, parent, owner uid, owner gid, config.
// The key is 32 bytes from getrandom, created once per state directory (so records survive
// restarts) in a file of mode 0600 that the monitor opens without following symlinks.
#pragma once

#include "broker/containers/monitor_port.hpp"
#include "common/result.hpp"

#include <array>
#include <cstdint>
#include <string>

namespace dockerbox::broker::monitor {

enum class SealKind : std::uint8_t { Container = 1, Exec = 2 };

class Sealer {
 public:
  using Key = std::array<std::uint8_t, 32>;
  explicit Sealer(const Key& key) : key_(key) {}

  /// Opens `path`, creating it with a fresh key if it does not exist. Refuses a key file that
  /// is not a regular root-owned file of mode 0600 with exactly 32 bytes.
  [[nodiscard]] static Result<Sealer> open(const std::string& path);

  /// 64 lowercase hex.
  [[nodiscard]] std::string seal(SealKind kind, const containers::SealedRecord& record) const;
  /// Constant-time comparison of the record's seal with the one it should have.
  [[nodiscard]] bool verify(SealKind kind, const containers::SealedRecord& record) const;

 private:
  Key key_;
};

}  // namespace dockerbox::broker::monitor
