// Starts dockerbox-engine, the unprivileged process that serves Docker's semantics, hands
// the monitor its ends of the two channels, and restarts the engine when it dies (as the
// frontend's zygote is restarted): the state is the engine's on disk, so nothing is lost.
// Runs as root.
#pragma once

#include "broker/helper_process.hpp"
#include "common/result.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/local/stream_protocol.hpp>

#include <sys/types.h>

#include <functional>
#include <string>

namespace dockerbox::broker {

struct EngineSpec {
  std::string path;  // the dockerbox-engine binary
  uid_t uid = 0;     // DOCKERBOX_ENGINE_USER: owns <stateDir>/engine
  gid_t gid = 0;
  std::string stateDir;       // the engine binds <stateDir>/engine; the rest stays root's
  std::string miniboxSocket;  // only reported by docker info: the engine cannot reach it
  std::string logLevel = "info";
  bool journal = false;
};

class EngineLauncher {
 public:
  using Socket = boost::asio::local::stream_protocol::socket;
  /// Receives the monitor's ends of a new engine's acts and engine channels.
  using Attach = std::function<void(Socket acts, Socket engine)>;

  EngineLauncher(boost::asio::io_context& io, EngineSpec spec, Attach attach);
  ~EngineLauncher();
  EngineLauncher(const EngineLauncher&) = delete;
  EngineLauncher& operator=(const EngineLauncher&) = delete;

  /// Starts the engine and waits (bounded) until it reports that its state is open: a
  /// state directory it cannot use is a start-up error, not a crash loop.
  [[nodiscard]] Result<void> start();

  /// Called for every reaped child. Restarts the engine when `pid` was it.
  void childExited(pid_t pid, int status);

  [[nodiscard]] pid_t enginePid() const { return pid_; }

 private:
  Result<void> spawn(bool waitReady);

  boost::asio::io_context& io_;
  EngineSpec spec_;
  Attach attach_;
  pid_t pid_ = -1;
  RestartSchedule restarts_;
};

}  // namespace dockerbox::broker
