// Runs as root. Input: the engine's replies (see engine_link.hpp).
#include "broker/engine_link.hpp"

#include "ipc/engine.capnp.h"
#include "ipc/limits.hpp"
#include "common/task.hpp"

#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/this_coro.hpp>
#include <capnp/serialize.h>
#include <spdlog/spdlog.h>

namespace dockerbox::broker {

namespace asio = boost::asio;
namespace wire = ipc::wire;
namespace eng = ipc::engine;

namespace {

// Replies the engine may have outstanding for one request: the interim window, one
// wantInput (it waits for the answer) and the final `done`.
constexpr std::size_t kMaxQueuedReplies = containers::kActWindow + 2;

Error engineGone() { return fail(ErrorKind::Unavailable, "dockerbox's engine is not reachable"); }

ErrorKind kindOf(wire::ErrorKind kind) {
  switch (kind) {
    case wire::ErrorKind::BAD_REQUEST: return ErrorKind::BadRequest;
    case wire::ErrorKind::NOT_FOUND: return ErrorKind::NotFound;
    case wire::ErrorKind::CONFLICT: return ErrorKind::Conflict;
    case wire::ErrorKind::FORBIDDEN: return ErrorKind::Forbidden;
    case wire::ErrorKind::UNAVAILABLE: return ErrorKind::Unavailable;
    case wire::ErrorKind::NOT_IMPLEMENTED: return ErrorKind::NotImplemented;
    case wire::ErrorKind::NOT_MODIFIED: return ErrorKind::NotModified;
    default: return ErrorKind::Internal;
  }
}

eng::Principal::Visibility toWire(policy::Visibility v) {
  switch (v) {
    case policy::Visibility::Own: return eng::Principal::Visibility::OWN;
    case policy::Visibility::Group: return eng::Principal::Visibility::GROUP;
    case policy::Visibility::All: return eng::Principal::Visibility::ALL;
  }
  return eng::Principal::Visibility::OWN;
}

kj::ArrayPtr<const kj::byte> bytesOf(std::span<const capnp::word> words) {
  return kj::arrayPtr(reinterpret_cast<const kj::byte*>(words.data()), words.size() * sizeof(capnp::word));
}

}  // namespace

/// The engine's one outstanding `wantInput` of a request, answered by a task of its own:
/// the client's next stdin chunk may take as long as a person takes to type, and the
/// engine's output must keep flowing meanwhile.
struct RemoteEngine::InputWait {
  explicit InputWait(asio::any_io_executor executor) : finished(std::move(executor)) {}
  bool active = false;
  asio::cancellation_signal cancel;
  containers::Notifier finished;

  void done() {
    active = false;
    finished.notifyAll();
  }
};

namespace {

/// Answers a `wantInput` of request `id` with the client's next chunk (or noInput). `sink`
/// outlives it: run() cancels it and waits for it before returning.
asio::awaitable<void> answerInput(std::shared_ptr<RemoteEngine::InputWait> wait, StreamSink& sink,
                                  std::shared_ptr<containers::ActLink> link, std::uint64_t id) {
  std::optional<StreamInput> input = co_await sink.input();
  capnp::MallocMessageBuilder m;
  auto call = m.initRoot<eng::EngineCall>();
  call.setId(id);
  if (input) {
    auto chunk = call.initInput();
    chunk.setData(kj::arrayPtr(reinterpret_cast<const kj::byte*>(input->data.data()), input->data.size()));
    chunk.setEnd(input->end);
  } else {
    call.setNoInput();
  }
  (void)link->send(m);
  wait->done();
}

}  // namespace

RemoteEngine::RemoteEngine(asio::any_io_executor executor, asio::local::stream_protocol::socket socket)
    : executor_(std::move(executor)) {
  link_ = containers::ActLink::start(
      std::move(socket), [this](Frame frame) { onFrame(std::move(frame)); }, [this] { onClosed(); });
}

RemoteEngine::~RemoteEngine() { link_->close(); }

void RemoteEngine::onFrame(Frame frame) {
  std::uint64_t id = 0;
  try {
    capnp::FlatArrayMessageReader reader(frame, containers::actReaderOptions());
    id = reader.getRoot<eng::EngineReply>().getId();
  } catch (const kj::Exception& e) {
    spdlog::error("event=engine_reply_refused error=\"{}\"", e.getDescription().cStr());
    closeLink();
    return;
  }
  auto found = pending_->find(id);
  if (found == pending_->end()) return;  // a request that already ended
  if (found->second->replies.size() >= kMaxQueuedReplies) {
    spdlog::error("event=engine_reply_refused error=\"request {} exceeded its window\"", id);
    closeLink();
    return;
  }
  found->second->replies.push_back(std::move(frame));
  found->second->changed.notifyAll();
}

void RemoteEngine::closeLink() {
  link_->close();  // silences the link's own onClosed: every request learns it here
  onClosed();
}

void RemoteEngine::onClosed() {
  for (auto& [id, pending] : *pending_) {
    pending->closed = true;
    pending->changed.notifyAll();
  }
}

asio::awaitable<RemoteEngine::Outcome> RemoteEngine::run(const Caller& who, std::span<const capnp::word> frame,
                                                const std::optional<std::vector<std::uint8_t>>& judgedConfig,
                                                StreamSink& sink, wire::BrokerMessage::Builder message) {
  auto input = std::make_shared<InputWait>(executor_);
  Outcome outcome = co_await serve(who, frame, judgedConfig, sink, message, input);
  // The input task holds `sink`: it ends before this does, whatever ended the request.
  if (input->active) {
    co_await asio::this_coro::reset_cancellation_state();
    input->cancel.emit(asio::cancellation_type::terminal);
    while (input->active) co_await input->finished.wait();
  }
  co_return outcome;
}

asio::awaitable<RemoteEngine::Outcome> RemoteEngine::serve(const Caller& who, std::span<const capnp::word> frame,
                                                  const std::optional<std::vector<std::uint8_t>>& judgedConfig,
                                                  StreamSink& sink, wire::BrokerMessage::Builder message,
                                                  std::shared_ptr<InputWait> input) {
  const std::uint64_t id = who.requestId;
  auto pending = std::make_shared<Pending>(executor_);
  (*pending_)[id] = pending;
  struct Forget {
    std::shared_ptr<PendingMap> map;
    std::uint64_t id;
    ~Forget() { map->erase(id); }
  } forget{pending_, id};
  auto post = [this, id](auto fill) {
    capnp::MallocMessageBuilder m;
    auto call = m.initRoot<eng::EngineCall>();
    call.setId(id);
    fill(call);
    (void)link_->send(m);
  };
  post([&](eng::EngineCall::Builder call) {
    auto request = call.initRequest();
    auto principal = request.initCaller();
    principal.setUid(who.uid);
    principal.setGid(who.gid);
    auto groups = principal.initGroups(static_cast<unsigned>(who.groups.size()));
    for (unsigned i = 0; i < who.groups.size(); ++i) groups.set(i, who.groups[i]);
    principal.setVisibility(toWire(who.visibility));
    principal.setPrivileged(who.grants.privileged == policy::Privileged::Allowed);
    principal.setRootUserAllowed(who.grants.rootUser == policy::RootUser::Allowed);
    request.setFrame(bytesOf(frame));
    if (judgedConfig) request.setJudgedConfig(kj::arrayPtr(judgedConfig->data(), judgedConfig->size()));
  });
  if (!link_->open()) co_return Outcome{engineGone(), false};

  // After the client left (or a drain ended the stream) the engine is told once, and its
  // remaining replies are only acknowledged until `done`.
  bool relaying = true;
  bool cancelled = false;
  auto cancel = [&] {
    relaying = false;
    if (cancelled) return;
    cancelled = true;
    post([](eng::EngineCall::Builder call) { call.setCancel(); });
  };
  for (;;) {
    while (!pending->replies.empty()) {
      Frame reply = std::move(pending->replies.front());
      pending->replies.pop_front();
      try {
        capnp::FlatArrayMessageReader reader(reply, containers::actReaderOptions());
        auto root = reader.getRoot<eng::EngineReply>();
        bool interim = true;
        switch (root.which()) {
          case eng::EngineReply::ACCEPTED:
            if (relaying && !co_await sink.accepted()) cancel();
            break;
          case eng::EngineReply::OUTPUT: {
            auto out = root.getOutput();
            auto data = out.getData();
            if (data.size() > ipc::kMaxChunkBytes) throw std::length_error("an output chunk over the limit");
            std::span<const std::byte> bytes(reinterpret_cast<const std::byte*>(data.begin()), data.size());
            const auto kind = out.getStderr() ? OutputKind::Stderr : OutputKind::Stdout;
            if (relaying && !co_await sink.output(kind, bytes, out.getTimeNanos())) cancel();
            break;
          }
          case eng::EngineReply::EVENT: {
            auto in = root.getEvent();
            EventRecord event{in.getType(), in.getAction(), in.getActorId(), {}, in.getTimeNanos()};
            for (auto kv : in.getAttributes()) event.attributes.emplace_back(kv.getKey(), kv.getValue());
            if (relaying && !co_await sink.event(event)) cancel();
            break;
          }
          case eng::EngineReply::WANT_INPUT: {
            interim = false;
            // One at a time (engine_server.cpp asks again only once answered).
            if (input->active) throw std::invalid_argument("a second wantInput before the first was answered");
            if (!relaying) {
              post([](eng::EngineCall::Builder call) { call.setNoInput(); });
              break;
            }
            input->active = true;
            asio::co_spawn(executor_, answerInput(input, sink, link_, id),
                           asio::bind_cancellation_slot(input->cancel.slot(),
                                                        [input](const std::exception_ptr& thrown) {
                                                          if (!thrown) return;
                                                          reportTaskException("stdin answer", thrown);
                                                          input->done();
                                                        }));
            break;
          }
          case eng::EngineReply::DONE: {
            auto done = root.getDone();
            message.setResponse(done.getResponse());
            for (auto r : done.getResolved()) who.noteResolved(r.getType(), r.getId(), r.getName());
            auto result = done.getResponse().getResult();
            if (!result.isError()) co_return Outcome{Result<void>(), true};
            co_return Outcome{fail(kindOf(result.getError().getKind()), result.getError().getMessage()), true};
          }
          default: throw std::invalid_argument("an unknown reply");
        }
        if (interim) post([](eng::EngineCall::Builder call) { call.setAck(); });
      } catch (const kj::Exception& e) {
        spdlog::error("event=engine_reply_refused error=\"{}\"", e.getDescription().cStr());
        closeLink();
        co_return Outcome{engineGone(), false};
      } catch (const std::logic_error& e) {
        spdlog::error("event=engine_reply_refused error=\"{}\"", e.what());
        closeLink();
        co_return Outcome{engineGone(), false};
      }
      if (!relaying) co_await asio::this_coro::reset_cancellation_state();
    }
    if (pending->closed) co_return Outcome{engineGone(), false};
    if (co_await pending->changed.wait() == containers::WakeReason::Cancelled) {
      cancel();  // the engine still answers: wait for its `done`
      co_await asio::this_coro::reset_cancellation_state();
    }
  }
}

}  // namespace dockerbox::broker
