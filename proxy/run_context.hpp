// What every socket of one published run shares. Runs in: dockerbox-proxy (unprivileged,
// sandboxed). Input: none of its own (it holds the run's limits and its way into the
// container, init_channel.hpp).
//
// Closing a run must close every socket it holds, at once: the monitor binds the same host
// port again as soon as the proxy says so. So each holder of sockets (a listener, a TCP
// connection, a UDP port) registers how to close itself here, and close() runs them all.
// The monitor is told only when the last holder is gone: the RunContext is shared by every
// coroutine of the run, and its destructor is what reports the run gone, so no descriptor
// a coroutine still owns (an answer of the init in flight, say) can outlive the report.
#pragma once

#include "proxy/init_channel.hpp"
#include "proxy/limits.hpp"

#include <boost/asio/any_io_executor.hpp>

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>

namespace dockerbox::proxy {

class RunContext {
 public:
  /// `onGone` is posted to `executor` when the context is destroyed, that is when nothing
  /// of the run is left open.
  RunContext(boost::asio::any_io_executor executor, std::string run, Limits limits, std::function<void()> onGone);
  ~RunContext();
  RunContext(const RunContext&) = delete;
  RunContext& operator=(const RunContext&) = delete;

  [[nodiscard]] const boost::asio::any_io_executor& executor() const { return executor_; }
  /// The run's id, shortened as Docker shows it, for the log.
  [[nodiscard]] const std::string& name() const { return name_; }
  [[nodiscard]] const Limits& limits() const { return limits_; }
  [[nodiscard]] InitChannel& init() { return *init_; }
  [[nodiscard]] const std::shared_ptr<InitChannel>& initChannel() const { return init_; }
  [[nodiscard]] bool closed() const { return closed_; }

  /// Registers how to close one holder of sockets; nullopt when the run is already closed
  /// (the caller then closes its sockets itself, at once). `close` must not throw.
  [[nodiscard]] std::optional<std::uint64_t> track(std::function<void()> close);
  /// The holder closed by itself.
  void untrack(std::uint64_t id);

  /// Closes every socket of the run and the channel; requests to the init fail. Idempotent.
  void close();

  /// TCP connections open now (limits().maxConnectionsPerRun).
  std::size_t tcpConnections = 0;

 private:
  boost::asio::any_io_executor executor_;
  std::string name_;
  Limits limits_;
  std::function<void()> onGone_;
  std::shared_ptr<InitChannel> init_;
  std::map<std::uint64_t, std::function<void()>> holders_;
  std::uint64_t nextId_ = 0;
  bool closed_ = false;
};

}  // namespace dockerbox::proxy
