// Starting dockerbox-proxy, the sandboxed port proxy (proxy/), and handing it the host
// sockets of published ports (monitor/published_ports.hpp). Runs as root. Input: the
// proxy's `unpublished` acknowledgements (ipc/proxy.capnp), read with the framing's caps;
// a proxy that lies can only make a start wait (bounded) or fail with a port conflict.
//
// One proxy for the daemon, restarted when it dies. Its sockets die with it: the ports of
// runs that were published then stay closed until their containers start again (the
// container side of each is a connection to its init, which cannot be made twice).
#pragma once

#include "broker/containers/notifier.hpp"
#include "broker/helper_process.hpp"
#include "broker/monitor/published_ports.hpp"
#include "common/result.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>

#include <sys/types.h>

#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>

namespace dockerbox::broker {

/// A proxy event is a run id: far less than this.
inline constexpr std::size_t kMaxProxyEventBytes = 4096;

/// The run a proxy event acknowledges, from one packet of the proxy's (untrusted: any bytes
/// give a run id or an error, never a throw).
[[nodiscard]] Result<std::string> parseProxyEvent(std::span<const std::byte> packet);

struct ProxySpec {
  std::string path;  // the dockerbox-proxy binary; "none": no published ports
  uid_t uid = 0;     // DOCKERBOX_PROXY_USER
  gid_t gid = 0;
  std::string logLevel = "info";
  bool journal = false;
};

class ProxyLauncher final : public monitor::PortPublisher {
 public:
  /// How long a run's end waits for the proxy to close its sockets.
  static constexpr std::chrono::seconds kUnpublishLimit{5};

  ProxyLauncher(boost::asio::io_context& io, ProxySpec spec);
  ~ProxyLauncher() override;
  ProxyLauncher(const ProxyLauncher&) = delete;
  ProxyLauncher& operator=(const ProxyLauncher&) = delete;

  /// Starts the proxy (a no-op when it is not configured).
  [[nodiscard]] Result<void> start();
  /// Called for every reaped child. Restarts the proxy when `pid` was it.
  void childExited(pid_t pid, int status);

  [[nodiscard]] Result<void> publish(const std::string& run, std::vector<monitor::HostSocket> sockets,
                                     UniqueFd channel) override;
  boost::asio::awaitable<void> unpublish(std::string run) override;

 private:
  Result<void> spawn();
  void readEvents();
  void onEvent(std::span<const std::byte> packet);
  void lost();  // the proxy is gone: every publication with it

  boost::asio::io_context& io_;
  ProxySpec spec_;
  pid_t pid_ = -1;
  std::optional<boost::asio::posix::stream_descriptor> channel_;  // SOCK_SEQPACKET, non-blocking
  std::map<std::string, std::shared_ptr<containers::Notifier>> unpublishing_;  // by run
  RestartSchedule restarts_;
};

}  // namespace dockerbox::broker
