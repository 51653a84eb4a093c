// Starts the sandboxed frontend zygote, hands it admitted connections, and restarts it
// when it dies (P8: a crashed zygote never takes the broker down). Runs as root.
#pragma once

#include "broker/helper_process.hpp"
#include "common/result.hpp"
#include "common/unique_fd.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include <sys/types.h>

#include <chrono>
#include <string>

namespace dockerbox::broker {

struct FrontendSpec {
  std::string path;  // the dockerbox-frontend binary
  uid_t uid = 65534;
  gid_t gid = 65534;
  std::string logLevel = "info";
  bool journal = false;  // stderr is the journal: lines carry syslog priorities
};

class FrontendLauncher {
 public:
  FrontendLauncher(boost::asio::io_context& io, FrontendSpec spec);
  ~FrontendLauncher();
  FrontendLauncher(const FrontendLauncher&) = delete;
  FrontendLauncher& operator=(const FrontendLauncher&) = delete;

  /// Spawns the zygote. It enters its sandbox by itself (it starts as root for that).
  [[nodiscard]] Result<void> start();

  /// Sends a client connection and the worker end of its IPC channel to the zygote. If the
  /// zygote is gone, starts a new one and tries once more.
  [[nodiscard]] Result<void> handOver(int clientFd, int workerChannelFd);

  /// Called for every reaped child. Restarts the zygote when `pid` was it.
  void childExited(pid_t pid, int status);

  [[nodiscard]] pid_t zygotePid() const { return zygotePid_; }

 private:
  Result<void> spawn();

  FrontendSpec spec_;
  UniqueFd control_;  // SOCK_SEQPACKET; the zygote holds the other end as fd 3
  pid_t zygotePid_ = -1;
  RestartSchedule restarts_;
};

}  // namespace dockerbox::broker
