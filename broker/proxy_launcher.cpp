// Runs as root; see proxy_launcher.hpp. Input: the proxy's acknowledgements.
#include "broker/proxy_launcher.hpp"

#include "common/syscall.hpp"
#include "ipc/fd_passing.hpp"
#include "ipc/proxy.capnp.h"

#include <capnp/serialize.h>
#include <spdlog/spdlog.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include <csignal>
#include <cstring>

namespace dockerbox::broker {
namespace {

namespace wire = ipc::proxy;

std::vector<std::byte> flat(capnp::MessageBuilder& message) {
  auto words = capnp::messageToFlatArray(message);
  auto bytes = words.asBytes();
  std::vector<std::byte> out(bytes.size());
  std::memcpy(out.data(), bytes.begin(), bytes.size());
  return out;
}

}  // namespace

Result<std::string> parseProxyEvent(std::span<const std::byte> packet) {
  auto bad = [](std::string why) { return fail(ErrorKind::Internal, "internal error", "proxy event: " + why); };
  if (packet.empty() || packet.size() > kMaxProxyEventBytes || packet.size() % sizeof(capnp::word) != 0) {
    return bad("not a message of whole words");
  }
  try {
    kj::Array<capnp::word> words = kj::heapArray<capnp::word>(packet.size() / sizeof(capnp::word));
    std::memcpy(words.begin(), packet.data(), packet.size());
    capnp::ReaderOptions limits;
    limits.traversalLimitInWords = kMaxProxyEventBytes / sizeof(capnp::word);
    limits.nestingLimit = 8;
    capnp::FlatArrayMessageReader reader(words, limits);
    auto event = reader.getRoot<wire::ProxyEvent>();
    if (!event.hasUnpublished()) return bad("no run");
    auto run = event.getUnpublished();
    return std::string(run.cStr(), run.size());
  } catch (const std::exception& e) {
    return bad(e.what());
  }
}

ProxyLauncher::ProxyLauncher(boost::asio::io_context& io, ProxySpec spec)
    : io_(io), spec_(std::move(spec)), restarts_(io) {}

ProxyLauncher::~ProxyLauncher() {
  if (pid_ > 0) ::kill(pid_, SIGKILL);
}

Result<void> ProxyLauncher::start() {
  if (spec_.path.empty() || spec_.path == "none") return {};
  return spawn();
}

Result<void> ProxyLauncher::spawn() {
  int ends[2];
  auto rc = DOCKERBOX_SYSCALL(::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, ends), "socketpair(proxy)");
  if (!rc) return rc.error();
  UniqueFd mine(ends[0]);
  UniqueFd theirs(ends[1]);
  // fd 3: the control channel (a contract with proxy/main.cpp).
  const int fds[] = {theirs.get()};
  auto pid = spawnHelper({spec_.path, "--uid", std::to_string(spec_.uid), "--gid", std::to_string(spec_.gid),
                          "--log-level", spec_.logLevel, "--log-format", spec_.journal ? "journal" : "text"},
                         fds);
  if (!pid) return pid.error();
  pid_ = *pid;
  restarts_.started();
  channel_.emplace(io_, mine.release());
  channel_->non_blocking(true);
  spdlog::info("event=proxy_started pid={} path={} uid={} gid={}", pid_, spec_.path, spec_.uid, spec_.gid);
  readEvents();
  return {};
}

void ProxyLauncher::readEvents() {
  if (!channel_) return;
  channel_->async_wait(boost::asio::posix::descriptor_base::wait_read, [this](const boost::system::error_code& ec) {
    if (ec || !channel_) return;
    std::array<std::byte, kMaxProxyEventBytes> buffer{};
    for (;;) {
      long n = ::recv(channel_->native_handle(), buffer.data(), buffer.size(), MSG_DONTWAIT | MSG_TRUNC);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
      if (n <= 0) {  // EOF or an error: the proxy is gone
        lost();
        return;
      }
      if (static_cast<std::size_t>(n) > buffer.size()) {
        spdlog::error("event=proxy_bad_event error=\"{} bytes: too long\"", n);
        continue;
      }
      onEvent(std::span<const std::byte>(buffer.data(), static_cast<std::size_t>(n)));
    }
    readEvents();
  });
}

void ProxyLauncher::onEvent(std::span<const std::byte> packet) {
  auto run = parseProxyEvent(packet);
  if (!run) {
    spdlog::error("event=proxy_bad_event error=\"{}\"", run.error().context);
    return;
  }
  if (auto it = unpublishing_.find(*run); it != unpublishing_.end()) it->second->notifyAll();
}

void ProxyLauncher::lost() {
  if (channel_) {
    boost::system::error_code ignored;
    channel_->close(ignored);
    channel_.reset();
  }
  // Its sockets are closed with it: whoever waits for an unpublish has it.
  for (auto& [run, waiting] : unpublishing_) waiting->notifyAll();
}

void ProxyLauncher::childExited(pid_t pid, int status) {
  if (pid != pid_ || pid <= 0) return;
  spdlog::error("event=proxy_died pid={} status={} signal={} detail=\"published ports of running containers are "
                "closed until they start again\"",
                pid, WIFEXITED(status) ? WEXITSTATUS(status) : -1, WIFSIGNALED(status) ? WTERMSIG(status) : 0);
  pid_ = -1;
  lost();
  restarts_.died([this] { return spawn(); }, "proxy");
}

Result<void> ProxyLauncher::publish(const std::string& run, std::vector<monitor::HostSocket> sockets,
                                    UniqueFd channel) {
  if (!channel_) {
    return fail(ErrorKind::Unavailable, "publish ports: dockerbox-proxy is not running (its log says why)");
  }
  capnp::MallocMessageBuilder message;
  auto publish = message.initRoot<wire::ProxyCommand>().initPublish();
  publish.setRun(run);
  auto ports = publish.initPorts(static_cast<unsigned>(sockets.size()));
  std::vector<int> fds{channel.get()};
  for (unsigned i = 0; i < sockets.size(); ++i) {
    const auto& p = sockets[i].port;
    ports[i].setProtocol(p.protocol);
    ports[i].setContainerPort(p.containerPort);
    ports[i].setHostIp(p.hostIp);
    ports[i].setHostPort(p.hostPort);
    fds.push_back(sockets[i].fd.get());
  }
  auto bytes = flat(message);
  // Our copies close on return: the proxy's are then the only ones.
  if (auto sent = ipc::sendWithFds(channel_->native_handle(), bytes, fds); !sent) {
    return fail(ErrorKind::Unavailable, "publish ports: dockerbox-proxy does not take them", sent.error().context);
  }
  for (const auto& s : sockets) {
    spdlog::info("event=port_published id={} port={}/{} host={}:{}", run, s.port.containerPort, s.port.protocol,
                 s.port.hostIp, s.port.hostPort);
  }
  return {};
}

boost::asio::awaitable<void> ProxyLauncher::unpublish(std::string run) {
  if (!channel_) co_return;  // a proxy that died took the sockets with it
  capnp::MallocMessageBuilder message;
  message.initRoot<wire::ProxyCommand>().setUnpublish(run);
  auto bytes = flat(message);
  auto waiting = std::make_shared<containers::Notifier>(io_.get_executor());
  unpublishing_[run] = waiting;
  if (auto sent = ipc::sendWithFds(channel_->native_handle(), bytes, {}); !sent) {
    spdlog::error("event=port_unpublish_failed id={} error=\"{}\"", run, sent.error().context);
  } else if (co_await waiting->wait(std::chrono::steady_clock::now() + kUnpublishLimit) == containers::WakeReason::TimedOut) {
    spdlog::error("event=port_unpublish_timeout id={} detail=\"the proxy did not close the ports in time\"", run);
  }
  if (auto it = unpublishing_.find(run); it != unpublishing_.end() && it->second == waiting) unpublishing_.erase(it);
}

}  // namespace dockerbox::broker
