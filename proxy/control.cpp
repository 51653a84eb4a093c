// Runs in: dockerbox-proxy. Input: the monitor's command packets on fd 3 (see
// control.hpp); opened under reader limits, checked field by field; a refused command is
// logged at error level (the monitor has a bug) and its descriptors are closed.
#include "proxy/control.hpp"

#include "ipc/framing.hpp"
#include "ipc/proxy.capnp.h"
#include "proxy/socket_io.hpp"
#include "common/task.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <capnp/message.h>
#include <capnp/serialize.h>
#include <kj/exception.h>
#include <spdlog/spdlog.h>

#include <cstring>
#include <deque>
#include <map>

namespace dockerbox::proxy {
namespace {

namespace asio = boost::asio;
namespace wire = ipc::proxy;
using ErrorCode = boost::system::error_code;


Result<std::string> checkRun(capnp::Text::Reader untrustedRun) {
  const std::string_view run(untrustedRun.cStr(), untrustedRun.size());
  const bool hex = run.find_first_not_of("0123456789abcdef") == std::string_view::npos;
  if (run.size() != kRunIdBytes || !hex) return fail(ErrorKind::BadRequest, "the run is not a 64-hex container id");
  return std::string(run);
}

/// The host address is only logged: any character outside an address's alphabet (an IPv6
/// zone included) is refused so that it cannot forge log fields.
Result<std::string> checkHostIp(capnp::Text::Reader untrustedIp) {
  const std::string_view ip(untrustedIp.cStr(), untrustedIp.size());
  constexpr std::string_view kAlphabet =
      "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ.:%-_";
  if (ip.size() > kMaxHostIpBytes || ip.find_first_not_of(kAlphabet) != std::string_view::npos) {
    return fail(ErrorKind::BadRequest, "a host address is not an address");
  }
  return std::string(ip);
}

Result<Command> decodePublish(wire::Publish::Reader publish, std::vector<UniqueFd> fds) {
  PublishCommand out;
  DOCKERBOX_TRY_ASSIGN(out.run, checkRun(publish.getRun()));
  auto ports = publish.getPorts();
  if (ports.size() > kMaxPortsPerPublish) return fail(ErrorKind::BadRequest, "too many ports in one publish");
  if (fds.size() != 1 + static_cast<std::size_t>(ports.size())) {
    return fail(ErrorKind::BadRequest, "the descriptors do not match the ports",
                std::to_string(fds.size()) + " descriptors, expected " + std::to_string(1 + ports.size()));
  }
  for (auto port : ports) {
    PortEntry entry;
    const std::string_view protocol(port.getProtocol().cStr(), port.getProtocol().size());
    if (protocol == "tcp") {
      entry.protocol = Protocol::Tcp;
    } else if (protocol == "udp") {
      entry.protocol = Protocol::Udp;
    } else {
      return fail(ErrorKind::BadRequest, "a port's protocol is neither tcp nor udp");
    }
    entry.containerPort = port.getContainerPort();
    if (entry.containerPort == 0) return fail(ErrorKind::BadRequest, "a container port is 0");
    DOCKERBOX_TRY_ASSIGN(entry.hostIp, checkHostIp(port.getHostIp()));
    entry.hostPort = port.getHostPort();
    out.ports.push_back(std::move(entry));
  }
  out.channelListener = std::move(fds.front());
  for (std::size_t i = 1; i < fds.size(); ++i) out.sockets.push_back(std::move(fds[i]));
  return Command(std::move(out));
}

}  // namespace

Result<Command> decodeCommand(std::span<const std::byte> packet, std::vector<UniqueFd> fds) {
  if (packet.empty() || packet.size() % sizeof(capnp::word) != 0 || packet.size() > kMaxCommandBytes) {
    return fail(ErrorKind::BadRequest, "a command is not a whole message");
  }
  // Copied into words: FlatArrayMessageReader needs aligned memory.
  auto words = kj::heapArray<capnp::word>(packet.size() / sizeof(capnp::word));
  std::memcpy(words.begin(), packet.data(), packet.size());
  try {
    capnp::FlatArrayMessageReader reader(words, ipc::readerOptions(kMaxCommandBytes / sizeof(capnp::word) * 2));
    if (reader.getEnd() != words.end()) return fail(ErrorKind::BadRequest, "bytes after the message");
    auto command = reader.getRoot<wire::ProxyCommand>();
    switch (command.which()) {
      case wire::ProxyCommand::PUBLISH:
        return decodePublish(command.getPublish(), std::move(fds));
      case wire::ProxyCommand::UNPUBLISH: {
        if (!fds.empty()) return fail(ErrorKind::BadRequest, "descriptors with an unpublish");
        UnpublishCommand out;
        DOCKERBOX_TRY_ASSIGN(out.run, checkRun(command.getUnpublish()));
        return Command(std::move(out));
      }
      default:
        return fail(ErrorKind::BadRequest, "an unknown command");
    }
  } catch (const kj::Exception& e) {
    return fail(ErrorKind::BadRequest, "a malformed command", e.getDescription().cStr());
  }
}

/// The runs of one channel. Shared with its coroutines and with every publication's
/// onGone, which may come after the Control is gone (then it does nothing).
struct Control::Shared : std::enable_shared_from_this<Control::Shared> {
  struct Run {
    std::unique_ptr<Publication> current;
    int live = 0;      // publications of the run whose sockets are not all closed, `current` included
    int acksOwed = 0;  // unpublish commands answered when only `current` (if any) is left
  };

  Shared(asio::any_io_executor e, UniqueFd channel, Limits l, std::function<void()> whenClosed)
      : executor(std::move(e)), socket(executor), limits(l), onClosed(std::move(whenClosed)) {
    ErrorCode ec;
    socket.assign(channel.get(), ec);
    if (ec) {
      spdlog::error("event=control_unusable error=\"{}\"", ec.message());
      return;  // `channel` closes here; start() ends at once
    }
    (void)channel.release();
  }

  void handle(Command command) {
    if (auto* publish = std::get_if<PublishCommand>(&command)) {
      handlePublish(std::move(*publish));
    } else {
      handleUnpublish(std::get<UnpublishCommand>(command).run);
    }
  }

  void handlePublish(PublishCommand command) {
    const std::string run = command.run;
    Run& entry = runs[run];
    if (entry.current) {
      spdlog::info("event=republish run={} detail=\"the previous publication is closed first\"", run.substr(0, 12));
      entry.current->close();
      entry.current.reset();
    }
    ++entry.live;  // Publication::start posts onGone exactly once, even when it refuses
    auto started = Publication::start(executor, std::move(command), limits, [weak = weak_from_this(), run] {
      if (auto self = weak.lock()) self->gone(run);
    });
    if (!started) {
      spdlog::error("event=command_refused command=publish run={} error=\"{}\" context=\"{}\"", run.substr(0, 12),
                    started.error().message, started.error().context);
      return;
    }
    entry.current = std::move(*started);
  }

  void handleUnpublish(const std::string& run) {
    auto found = runs.find(run);
    if (found == runs.end()) {
      sendUnpublished(run);  // nothing of it is open
      return;
    }
    Run& entry = found->second;
    if (entry.current) {
      entry.current->close();
      entry.current.reset();
    }
    ++entry.acksOwed;  // live > 0 here: an entry without live publications is erased
  }

  /// Every socket of one publication of `run` is closed.
  void gone(const std::string& run) {
    auto found = runs.find(run);
    if (found == runs.end()) return;
    Run& entry = found->second;
    --entry.live;
    if (entry.live - (entry.current ? 1 : 0) == 0) {
      for (; entry.acksOwed > 0; --entry.acksOwed) sendUnpublished(run);
    }
    if (entry.live == 0 && !entry.current) runs.erase(found);
  }

  void sendUnpublished(const std::string& run) {
    if (closed) return;
    capnp::MallocMessageBuilder message;
    message.initRoot<wire::ProxyEvent>().setUnpublished(run);
    auto words = capnp::messageToFlatArray(message);
    auto bytes = words.asBytes();
    outbox.emplace_back(reinterpret_cast<const std::byte*>(bytes.begin()),
                        reinterpret_cast<const std::byte*>(bytes.end()));
    spdlog::info("event=unpublished run={}", run.substr(0, 12));
    flush();
  }

  void flush() {
    while (!writing && !outbox.empty()) {
      auto sent = sendNonBlocking(socket.native_handle(), outbox.front());
      if (!sent) {
        // The monitor is gone; reading sees the end of the channel.
        spdlog::warn("event=event_not_sent error=\"{}\"", sent.error().context);
        outbox.clear();
        return;
      }
      if (*sent == 0) {
        writing = true;
        asio::co_spawn(executor, writeWhenReady(shared_from_this()), logFailure("control"));
        return;
      }
      outbox.pop_front();  // a packet goes whole or not at all
    }
  }

  static asio::awaitable<void> writeWhenReady(std::shared_ptr<Shared> self) {
    ErrorCode ec;
    co_await self->socket.async_wait(asio::posix::stream_descriptor::wait_write,
                                     asio::redirect_error(asio::use_awaitable, ec));
    self->writing = false;
    if (self->closed || ec) co_return;
    self->flush();
  }

  static asio::awaitable<void> readCommands(std::shared_ptr<Shared> self) {
    std::vector<std::byte> buffer(kMaxCommandBytes);
    while (!self->closed) {
      ErrorCode ec;
      co_await self->socket.async_wait(asio::posix::stream_descriptor::wait_read,
                                       asio::redirect_error(asio::use_awaitable, ec));
      if (self->closed) co_return;
      if (ec) {
        self->end(ec.message().c_str());
        co_return;
      }
      for (;;) {
        auto got = receiveNonBlocking(self->socket.native_handle(), buffer, kMaxPortsPerPublish + 1);
        if (got.status == ReceiveStatus::WouldBlock) break;
        if (got.status == ReceiveStatus::Closed) {
          self->end("the monitor closed the channel");
          co_return;
        }
        if (got.status == ReceiveStatus::Failed) {
          self->end(std::strerror(got.error));
          co_return;
        }
        if (got.truncated) {
          spdlog::error("event=command_refused error=\"a command larger than {} bytes or with more than {} descriptors\"",
                        kMaxCommandBytes, kMaxPortsPerPublish + 1);
          continue;
        }
        auto command = decodeCommand({buffer.data(), got.bytes}, std::move(got.fds));
        if (!command) {
          spdlog::error("event=command_refused error=\"{}\" context=\"{}\"", command.error().message,
                        command.error().context);
          continue;
        }
        self->handle(std::move(*command));
      }
    }
  }

  /// Closes every run (no acknowledgement: nobody is there to read it).
  void shutdown() {
    if (closed) return;
    closed = true;
    ErrorCode ignored;
    socket.close(ignored);
    outbox.clear();
    auto all = std::exchange(runs, {});
    for (auto& [run, entry] : all) {
      if (entry.current) entry.current->close();
    }
  }

  void end(const char* why) {
    if (closed) return;
    spdlog::info("event=control_closed reason=\"{}\" detail=\"closing every run\"", why);
    shutdown();
    if (auto done = std::exchange(onClosed, nullptr)) done();
  }

  asio::any_io_executor executor;
  asio::posix::stream_descriptor socket;
  Limits limits;
  std::function<void()> onClosed;
  std::map<std::string, Run> runs;
  std::deque<std::vector<std::byte>> outbox;  // events not sent yet, in order
  bool writing = false;                       // writeWhenReady is waiting for room
  bool closed = false;
};

Control::Control(asio::any_io_executor executor, UniqueFd channel, Limits limits, std::function<void()> onClosed)
    : shared_(std::make_shared<Shared>(std::move(executor), std::move(channel), limits, std::move(onClosed))) {}

Control::~Control() { shared_->shutdown(); }

void Control::start() {
  if (!shared_->socket.is_open()) {
    shared_->end("the channel cannot be used");
    return;
  }
  asio::co_spawn(shared_->executor, Shared::readCommands(shared_), logFailure("control"));
}

}  // namespace dockerbox::proxy
