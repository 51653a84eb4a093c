// Input: frames from the other side of the acts channel (see act_wire.hpp).
#include "broker/containers/act_wire.hpp"
#include "broker/containers/config_blob.hpp"
#include "common/task.hpp"

#include "ipc/framing.hpp"
#include "ipc/limits.hpp"

#include <boost/asio/buffer.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/experimental/channel.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <spdlog/spdlog.h>

#include <array>
#include <deque>

namespace dockerbox::broker::containers {

namespace asio = boost::asio;
namespace wire = ipc::acts;

namespace {

using Frame = std::vector<std::byte>;
/// Bytes read per read call; frames may span several reads.
constexpr std::size_t kReadChunk = 64 * 1024;

}  // namespace

struct ActLink::State {
  explicit State(asio::local::stream_protocol::socket s)
      : socket(std::move(s)), wake(socket.get_executor(), 1), decoder(kMaxActFrameBytes) {}
  asio::local::stream_protocol::socket socket;
  // The writer sleeps on `wake` while `queue` is empty; send() never blocks (the acts
  // protocol bounds what each side queues: one reply per call, kActWindow interims per act).
  std::deque<Frame> queue;
  asio::experimental::channel<void(boost::system::error_code)> wake;
  ipc::FrameDecoder decoder;
  OnFrame onFrame;
  std::function<void()> onClosed;
  bool closed = false;

  void close() {
    if (closed) return;
    closed = true;
    boost::system::error_code ignored;
    socket.shutdown(asio::socket_base::shutdown_both, ignored);
    socket.close(ignored);
    wake.close();
    queue.clear();
    if (onClosed) {
      auto notify = std::move(onClosed);
      onClosed = nullptr;
      notify();
    }
  }
};

namespace {

asio::awaitable<void> readLoop(std::shared_ptr<ActLink::State> state) {
  std::array<std::byte, kReadChunk> buffer{};
  while (!state->closed) {
    boost::system::error_code ec;
    std::size_t n =
        co_await state->socket.async_read_some(asio::buffer(buffer), asio::redirect_error(asio::use_awaitable, ec));
    if (ec || n == 0) break;
    if (auto fed = state->decoder.feed(std::span(buffer.data(), n)); !fed) {
      spdlog::error("event=acts_frame_refused error=\"{}\"", fed.error().context);
      break;
    }
    for (;;) {
      auto frame = state->decoder.next();
      if (!frame) {
        spdlog::error("event=acts_frame_refused error=\"{}\"", frame.error().context);
        state->close();
        co_return;
      }
      if (!*frame) break;
      if (state->closed) co_return;
      state->onFrame(std::move(**frame));
    }
  }
  state->close();
}

asio::awaitable<void> writeLoop(std::shared_ptr<ActLink::State> state) {
  while (!state->closed) {
    if (state->queue.empty()) {
      boost::system::error_code ec;
      co_await state->wake.async_receive(asio::redirect_error(asio::use_awaitable, ec));
      if (ec) break;
      continue;
    }
    Frame frame = std::move(state->queue.front());
    state->queue.pop_front();
    boost::system::error_code ec;
    co_await asio::async_write(state->socket, asio::buffer(frame), asio::redirect_error(asio::use_awaitable, ec));
    if (ec) break;
  }
  state->close();
}

}  // namespace

std::shared_ptr<ActLink> ActLink::start(asio::local::stream_protocol::socket socket, OnFrame onFrame,
                                        std::function<void()> onClosed) {
  auto state = std::make_shared<State>(std::move(socket));
  state->onFrame = std::move(onFrame);
  state->onClosed = std::move(onClosed);
  auto executor = state->socket.get_executor();
  asio::co_spawn(executor, readLoop(state), logFailure("acts reader"));
  asio::co_spawn(executor, writeLoop(state), logFailure("acts writer"));
  return std::shared_ptr<ActLink>(new ActLink(std::move(state)));
}

ActLink::~ActLink() { close(); }

bool ActLink::send(capnp::MessageBuilder& message) {
  if (state_->closed) return false;
  state_->queue.push_back(ipc::encodeFrame(message));
  (void)state_->wake.try_send(boost::system::error_code{});
  return true;
}

void ActLink::close() {
  closed_ = true;
  state_->onFrame = [](kj::Array<capnp::word>) {};
  state_->onClosed = nullptr;
  state_->close();
}

namespace {

template <class Init>
void texts(Init init, const std::vector<std::string>& values) {
  auto list = init(static_cast<unsigned>(values.size()));
  for (unsigned i = 0; i < values.size(); ++i) list.set(i, values[i]);
}

std::vector<std::string> textsOf(capnp::List<capnp::Text>::Reader list) {
  std::vector<std::string> out;
  out.reserve(list.size());
  for (auto t : list) out.emplace_back(t.cStr(), t.size());
  return out;
}

}  // namespace

void toWire(const ImageDefaults& image, ipc::acts::ImageDefaults::Builder out) {
  if (image.entrypoint) {
    out.setHasEntrypoint(true);
    texts([&](unsigned n) { return out.initEntrypoint(n); }, *image.entrypoint);
  }
  if (image.cmd) {
    out.setHasCmd(true);
    texts([&](unsigned n) { return out.initCmd(n); }, *image.cmd);
  }
  texts([&](unsigned n) { return out.initEnv(n); }, image.env);
  out.setWorkingDir(image.workingDir);
  out.setUser(image.user);
  out.setStopSignal(image.stopSignal);
  auto keys = out.initLabelKeys(static_cast<unsigned>(image.labels.size()));
  auto values = out.initLabelValues(static_cast<unsigned>(image.labels.size()));
  for (unsigned i = 0; i < image.labels.size(); ++i) {
    keys.set(i, image.labels[i].first);
    values.set(i, image.labels[i].second);
  }
  texts([&](unsigned n) { return out.initExposedPorts(n); }, image.exposedPorts);
  texts([&](unsigned n) { return out.initVolumes(n); }, image.volumes);
  if (image.healthcheck) {
    out.setHasHealthcheck(true);
    writeHealthcheck(*image.healthcheck, out.initHealthcheck());
  }
}

Result<ImageDefaults> imageDefaultsOf(ipc::acts::ImageDefaults::Reader in) {
  ImageDefaults out;
  if (in.getHasEntrypoint()) out.entrypoint = textsOf(in.getEntrypoint());
  if (in.getHasCmd()) out.cmd = textsOf(in.getCmd());
  out.env = textsOf(in.getEnv());
  out.workingDir = in.getWorkingDir();
  out.user = in.getUser();
  out.stopSignal = in.getStopSignal();
  auto keys = in.getLabelKeys();
  auto values = in.getLabelValues();
  if (keys.size() != values.size()) return fail(ErrorKind::BadRequest, "malformed act", "image label lists differ");
  for (unsigned i = 0; i < keys.size(); ++i) out.labels.emplace_back(keys[i].cStr(), values[i].cStr());
  out.exposedPorts = textsOf(in.getExposedPorts());
  out.volumes = textsOf(in.getVolumes());
  if (in.getHasHealthcheck()) out.healthcheck = readHealthcheck(in.getHealthcheck());
  return out;
}

capnp::ReaderOptions actReaderOptions() { return ipc::readerOptions(kMaxActFrameBytes / 8 * 2); }

void toWire(const BoundPort& port, ipc::wire::BoundPort::Builder out) {
  out.setProtocol(port.protocol);
  out.setContainerPort(port.containerPort);
  out.setHostIp(port.hostIp);
  out.setHostPort(port.hostPort);
}

BoundPort boundPortOf(ipc::wire::BoundPort::Reader in) {
  return BoundPort{std::string(in.getProtocol().cStr(), in.getProtocol().size()), in.getContainerPort(),
                   std::string(in.getHostIp().cStr(), in.getHostIp().size()), in.getHostPort()};
}

void toWire(const SealedRecord& r, wire::SealedRecord::Builder out) {
  out.setId(r.id);
  out.setParent(r.parent);
  auto owner = out.initOwner();
  owner.setUid(r.ownerUid);
  owner.setGid(r.ownerGid);
  out.setConfig(kj::arrayPtr(r.config.data(), r.config.size()));
  out.setSeal(r.seal);
}

SealedRecord sealedRecordOf(wire::SealedRecord::Reader in) {
  auto config = in.getConfig();
  return SealedRecord{in.getId(),
                      in.getParent(),
                      in.getOwner().getUid(),
                      in.getOwner().getGid(),
                      state::Blob(config.begin(), config.end()),
                      in.getSeal()};
}

void toWire(const Error& error, wire::ActError::Builder out) {
  out.setKind(static_cast<wire::ErrorKind>(error.kind));
  out.setMessage(error.message);
  out.setContext(error.context);
}

Error errorOf(wire::ActError::Reader in) {
  const auto kind = static_cast<unsigned>(in.getKind());
  if (kind > static_cast<unsigned>(ErrorKind::NotModified)) {
    return fail(ErrorKind::Internal, "internal error", "acts: unknown error kind");
  }
  return fail(static_cast<ErrorKind>(kind), in.getMessage(), in.getContext());
}

void toWire(const minibox::ContainerInfo& info, wire::ContainerInfo::Builder out) {
  out.setId(info.id);
  out.setHasName(info.name.has_value());
  out.setName(info.name.value_or(""));
  out.setImage(info.image);
  out.setCommand(info.command);
  out.setState(static_cast<wire::ContainerState>(info.state));
  out.setCreatedAtUnixNanos(info.createdAtUnixNanos);
  out.setHasPid(info.pid.has_value());
  out.setPid(info.pid.value_or(0));
}

Result<minibox::ContainerInfo> containerInfoOf(wire::ContainerInfo::Reader in) {
  const auto state = static_cast<unsigned>(in.getState());
  if (state > static_cast<unsigned>(minibox::ContainerState::Orphaned)) {
    return fail(ErrorKind::Internal, "internal error", "acts: unknown container state");
  }
  minibox::ContainerInfo info;
  info.id = in.getId();
  if (in.getHasName()) info.name = std::string(in.getName());
  info.image = in.getImage();
  info.command = in.getCommand();
  info.state = static_cast<minibox::ContainerState>(state);
  info.createdAtUnixNanos = in.getCreatedAtUnixNanos();
  if (in.getHasPid()) info.pid = in.getPid();
  return info;
}

void toWire(const minibox::ContainerEvent& event, wire::ContainerEvent::Builder out) {
  out.setKind(static_cast<wire::EventKind>(event.kind));
  out.setId(event.id);
  out.setImage(event.image);
  out.setHasExitCode(event.exitCode.has_value());
  out.setExitCode(event.exitCode.value_or(0));
}

Result<minibox::ContainerEvent> containerEventOf(wire::ContainerEvent::Reader in) {
  const auto kind = static_cast<unsigned>(in.getKind());
  if (kind > static_cast<unsigned>(minibox::EventKind::ImagePruned)) {
    return fail(ErrorKind::Internal, "internal error", "acts: unknown event kind");
  }
  minibox::ContainerEvent event;
  event.kind = static_cast<minibox::EventKind>(kind);
  event.id = in.getId();
  event.image = in.getImage();
  if (in.getHasExitCode()) event.exitCode = in.getExitCode();
  return event;
}

wire::Protocol toWire(minibox::Protocol protocol) {
  return protocol == minibox::Protocol::V019 ? wire::Protocol::V019 : wire::Protocol::HEAD;
}

Result<minibox::Protocol> protocolOf(wire::Protocol protocol) {
  switch (protocol) {
    case wire::Protocol::V019: return minibox::Protocol::V019;
    case wire::Protocol::HEAD: return minibox::Protocol::Head;
  }
  return fail(ErrorKind::Internal, "internal error", "acts: unknown protocol");
}

}  // namespace dockerbox::broker::containers
