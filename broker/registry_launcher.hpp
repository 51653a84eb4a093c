// Reaches dockerbox-registry, the sandboxed registry client, once per image resolution:
// one request out, one reply back, then it exits (or is killed at the deadline). Either
// dockerboxd starts it (it then confines itself as its own user), or, under systemd, where
// dockerboxd has no network namespace to give it, systemd starts one per connection to
// DOCKERBOX_REGISTRY_SOCKET (deploy/dockerbox-registry.socket) in a sandbox of its own.
// Network traffic never touches root; the reply's bytes are copied to the engine unread
// (the engine verifies the digests). Runs as root. Input: the client's Cap'n Proto reply,
// read with the framing's caps.
#pragma once

#include "broker/containers/monitor_port.hpp"
#include "common/result.hpp"

#include <boost/asio/awaitable.hpp>
#include <boost/asio/any_io_executor.hpp>
#include <capnp/common.h>
#include <kj/array.h>

#include <sys/types.h>

#include <chrono>
#include <string>
#include <vector>

namespace dockerbox::broker {

struct RegistrySpec {
  std::string path;  // the dockerbox-registry binary; "none": pulls through miniboxd only
  std::string socket;  // DOCKERBOX_REGISTRY_SOCKET: connect there instead of starting one
  uid_t uid = 0;     // DOCKERBOX_REGISTRY_USER
  gid_t gid = 0;
  std::vector<std::string> insecureRegistries;  // DOCKERBOX_INSECURE_REGISTRIES
  std::string logLevel = "info";
  bool journal = false;
};

/// Index (4 MiB), manifest (4 MiB), config (4 MiB) and the rest: less than an act frame.
inline constexpr std::size_t kMaxRegistryReplyBytes = 13 * 1024 * 1024;

/// Opens the client's reply frame under reader limits: its error (kind range-checked,
/// message capped) or its answer's fields, copied unread. Never throws.
[[nodiscard]] Result<containers::ResolvedImage> parseRegistryReply(kj::ArrayPtr<const capnp::word> frame);

class RegistryLauncher {
 public:
  /// How long one resolution may take, all round trips included.
  static constexpr std::chrono::seconds kDeadline{120};
  /// Registry clients running at once; more resolutions wait for none, they are refused.
  static constexpr std::size_t kMaxInFlight = 8;

  RegistryLauncher(boost::asio::any_io_executor executor, RegistrySpec spec)
      : executor_(std::move(executor)), spec_(std::move(spec)) {}

  [[nodiscard]] bool configured() const {
    return !spec_.socket.empty() || (!spec_.path.empty() && spec_.path != "none");
  }

  /// The registry client's answer, or an empty one (no digest) when it is not enabled.
  /// `loginOnly`: a credentials check of the registry at address `reference`.
  boost::asio::awaitable<Result<containers::ResolvedImage>> resolve(std::string reference, std::string platform,
                                                                    containers::RegistryCredentials credentials,
                                                                    bool loginOnly);

 private:
  boost::asio::any_io_executor executor_;
  RegistrySpec spec_;
  std::size_t inFlight_ = 0;
};

}  // namespace dockerbox::broker
