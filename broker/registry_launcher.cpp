// Runs as root. Input: see registry_launcher.hpp.
#include "broker/registry_launcher.hpp"

#include "broker/helper_process.hpp"
#include "common/syscall.hpp"
#include "common/unique_fd.hpp"
#include "ipc/framing.hpp"
#include "ipc/registry.capnp.h"

#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <capnp/message.h>
#include <capnp/serialize.h>

#include <signal.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <memory>

namespace dockerbox::broker {

namespace asio = boost::asio;
namespace wire = ipc::registry;

namespace {

constexpr std::size_t kMaxMessageText = 1024;

/// The helper's process, killed (through its pidfd: its pid may be reaped and reused) when
/// the resolution ends however it ends; the SIGCHLD reaper collects it.
struct Child {
  UniqueFd pidfd;
  ~Child() {
    if (pidfd) (void)::syscall(SYS_pidfd_send_signal, pidfd.get(), SIGKILL, nullptr, 0);
  }
};

Error unavailable(std::string message, std::string context = {}) {
  return fail(ErrorKind::Unavailable, std::move(message), std::move(context));
}

}  // namespace

Result<containers::ResolvedImage> parseRegistryReply(kj::ArrayPtr<const capnp::word> frame) {
  try {
    capnp::FlatArrayMessageReader reader(frame, ipc::readerOptions(kMaxRegistryReplyBytes / 8 * 2));
    auto reply = reader.getRoot<wire::RegistryReply>();
    if (reply.isError()) {
      auto e = reply.getError();
      const unsigned kind = e.getKind();
      std::string message(e.getMessage().cStr());
      if (message.size() > kMaxMessageText) message.resize(kMaxMessageText);
      if (kind > static_cast<unsigned>(ErrorKind::NotModified) || message.empty()) {
        return unavailable("the registry client failed", "malformed error reply");
      }
      // What a registry can mean; anything else it claims (a 304, a 409) is a failure.
      auto claimed = static_cast<ErrorKind>(kind);
      if (claimed != ErrorKind::BadRequest && claimed != ErrorKind::NotFound && claimed != ErrorKind::Forbidden &&
          claimed != ErrorKind::NotImplemented) {
        claimed = ErrorKind::Unavailable;
      }
      return fail(claimed, std::move(message));
    }
    if (!reply.isImage()) return unavailable("the registry client failed", "unknown reply");
    auto image = reply.getImage();
    auto bytes = [](capnp::Data::Reader d) { return std::string(d.asChars().begin(), d.asChars().end()); };
    containers::ResolvedImage out;
    out.reference = image.getReference();
    out.repoDigest = image.getRepoDigest();
    out.manifestDigest = image.getManifestDigest();
    out.manifest = bytes(image.getManifest());
    out.index = bytes(image.getIndex());
    out.configDigest = image.getConfigDigest();
    out.config = bytes(image.getConfig());
    return out;
  } catch (const kj::Exception& e) {
    return unavailable("the registry client failed", std::string("malformed reply: ") + e.getDescription().cStr());
  }
}

asio::awaitable<Result<containers::ResolvedImage>> RegistryLauncher::resolve(
    std::string reference, std::string platform, containers::RegistryCredentials credentials, bool loginOnly) {
  if (!configured()) co_return containers::ResolvedImage{};  // empty: no registry client
  if (inFlight_ >= kMaxInFlight) co_return unavailable("too many image pulls in flight; try again");
  ++inFlight_;
  struct Count {
    std::size_t& n;
    ~Count() { --n; }
  } count{inFlight_};

  Child child;
  auto socket = std::make_shared<asio::local::stream_protocol::socket>(executor_);
  // One deadline for everything below, the connect included: it closes the channel, the
  // pending connect, write or read fails, and Child kills.
  asio::steady_timer deadline(executor_, kDeadline);
  deadline.async_wait([socket](const boost::system::error_code& ec) {
    if (!ec) socket->close();
  });
  struct CancelTimer {
    asio::steady_timer& t;
    ~CancelTimer() { t.cancel(); }
  } cancelTimer{deadline};
  if (!spec_.socket.empty()) {
    // systemd's instance, one per connection (Accept=yes).
    boost::system::error_code ec;
    co_await socket->async_connect(asio::local::stream_protocol::endpoint(spec_.socket),
                                   asio::redirect_error(asio::use_awaitable, ec));
    if (ec) co_return unavailable("dockerbox's registry client is not reachable", spec_.socket + ": " + ec.message());
  } else {
    int ends[2];
    if (auto rc = DOCKERBOX_SYSCALL(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, ends), "socketpair(registry)");
        !rc) co_return rc.error();
    UniqueFd ours(ends[0]);
    UniqueFd theirs(ends[1]);
    const int fds[] = {theirs.get()};
    // fd 3: the request and the reply (a contract with registry/main.cpp).
    auto pid = spawnHelper({spec_.path, "serve", "--uid", std::to_string(spec_.uid), "--gid", std::to_string(spec_.gid),
                            "--log-level", spec_.logLevel, "--log-format", spec_.journal ? "journal" : "text"},
                           fds);
    if (!pid) co_return pid.error();
    theirs.reset();
    // No yield since the fork: the SIGCHLD reaper (same thread) cannot have reaped it yet.
    if (auto pidfd = DOCKERBOX_SYSCALL(::syscall(SYS_pidfd_open, *pid, 0), "pidfd_open(registry)"); pidfd) {
      child.pidfd = UniqueFd(static_cast<int>(*pidfd));
    } else {
      ::kill(*pid, SIGKILL);
      co_return pidfd.error();
    }
    socket->assign(asio::local::stream_protocol(), ours.release());
  }

  capnp::MallocMessageBuilder message;
  auto request = message.initRoot<wire::RegistryRequest>();
  request.setReference(reference);
  request.setPlatform(platform);
  request.setUsername(credentials.username);
  request.setPassword(credentials.password);
  request.setLogin(loginOnly);
  auto insecure = request.initInsecureRegistries(static_cast<unsigned>(spec_.insecureRegistries.size()));
  for (unsigned i = 0; i < spec_.insecureRegistries.size(); ++i) insecure.set(i, spec_.insecureRegistries[i]);
  const auto frame = ipc::encodeFrame(message);

  boost::system::error_code ec;
  auto token = asio::redirect_error(asio::use_awaitable, ec);
  co_await asio::async_write(*socket, asio::buffer(frame), token);
  if (ec) co_return unavailable("the registry client failed", "write: " + ec.message());
  ipc::FrameDecoder decoder(kMaxRegistryReplyBytes);
  std::vector<std::byte> buffer(64 * 1024);
  while (true) {
    const std::size_t n = co_await socket->async_read_some(asio::buffer(buffer), token);
    if (ec) {
      const bool late = !socket->is_open();
      co_return unavailable(late ? "the registry did not answer within " + std::to_string(kDeadline.count()) + " s"
                                 : "the registry client failed (its log says why)",
                            "read: " + ec.message());
    }
    if (auto fed = decoder.feed({buffer.data(), n}); !fed) co_return unavailable("the registry client failed", fed.error().message);
    auto next = decoder.next();
    if (!next) co_return unavailable("the registry client failed", next.error().message);
    if (!*next) continue;
    co_return parseRegistryReply(**next);
  }
}

}  // namespace dockerbox::broker
