// minibox-sim: container lifecycle requests (minibox-protocol.md §7.1-7.5, §7.9, §8).
// Runs as root; container processes run as the --run-as user, or in the miniboxd model as
// namespaced host root (container_process.hpp). Input: validated requests.
#include "tests/minibox_sim/daemon.hpp"

#include "common/syscall.hpp"
#include "common/unique_fd.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <fcntl.h>
#include <unistd.h>

#include <spdlog/spdlog.h>

#include <algorithm>
#include <csignal>
#include <cstring>

namespace dockerbox::sim {
namespace {

constexpr auto kUseTuple = asio::as_tuple(asio::use_awaitable);
constexpr std::string_view kBasePath = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
/// After the init process exits, output still in flight from escaped descendants is waited
/// for this long before the stream is finished with what is already in the pipe.
constexpr auto kDrainGrace = std::chrono::seconds(2);
constexpr auto kStopPoll = std::chrono::milliseconds(250);
constexpr auto kStopGrace = std::chrono::seconds(2);

std::string joined(const std::vector<std::string>& parts) {
  std::string out;
  for (const auto& p : parts) out += (out.empty() ? "" : " ") + p;
  return out;
}

/// Rust's `{:?}` for a plain string is close enough to a JSON string literal.
std::string quoted(std::string_view s) { return json::serialize(json::value(s)); }

}  // namespace

std::string Daemon::newContainerId() {
  std::string id;
  do {
    id = uuidHex(rng_, 16);
  } while (containers_.hasId(id));
  return id;
}

std::string Daemon::pullFailure(const ImageRef& ref) const {
  return "failed to pull " + ref.cacheName() + ":" + ref.tag +
         ": manifest unknown (not in the minibox-sim registry)";
}

asio::awaitable<void> Daemon::handleRun(Session& s, const json::object& r) {
  const bool head = config_.mode == Mode::Head;
  const auto* mounts = r.if_contains("mounts");
  if (mounts && mounts->is_array() && !mounts->get_array().empty() &&
      !(head && config_.allowBindMounts)) {
    co_await s.send(errorMessage(
        "policy violation: bind mount requested but bind mounts are not allowed"));
    co_return;
  }
  if (boolField(r, "privileged") && !(head && config_.allowPrivileged)) {
    co_await s.send(errorMessage(
        "policy violation: privileged mode requested but privileged containers are not allowed"));
    co_return;
  }
  auto name = optStrField(r, "name");
  if (name && containers_.nameInUse(*name)) {
    co_await s.send(errorMessage("container name \"" + *name + "\" is already in use"));
    co_return;
  }
  std::string image = strField(r, "image");
  auto tag = optStrField(r, "tag");
  std::string refText = tag ? image + ":" + *tag : image;
  auto ref = parseImageRef(refText);
  if (!ref) {
    co_await s.send(errorMessage("invalid image reference " + quoted(refText) + ": " +
                                 ref.error().message));
    co_return;
  }
  if (!images_.cached(ref->storeKey())) {  // Run pulls automatically (§8.7)
    auto platform = head ? optStrField(r, "platform") : std::nullopt;
    if (platform) {
      if (auto ok = checkPlatform(*platform); !ok) {
        co_await s.send(errorMessage("invalid platform: " + ok.error().message));
        co_return;
      }
    }
    if (!images_.inRegistry(ref->storeKey())) {
      co_await s.send(errorMessage(pullFailure(*ref)));
      co_return;
    }
    images_.add(ref->storeKey());
  }

  auto command = strListField(r, "command");
  auto c = std::make_shared<Container>(io_.get_executor());
  c->id = newContainerId();
  c->name = name;
  c->imageLabel = image + ":" + ref->tag;
  c->command = joined(command);
  c->createdAt = std::chrono::system_clock::now();
  c->ephemeral = boolField(r, "ephemeral");

  SpawnSpec spec;
  spec.argv = command.empty() ? std::vector<std::string>{"/bin/sh"} : command;
  spec.env = {std::string(kBasePath), "TERM=xterm"};
  for (auto& e : strListField(r, "env")) spec.env.push_back(std::move(e));
  spec.style = ExecStyle::Container;
  spec.runAs = config_.runAs;
  spec.hostname = "minibox-" + c->id.substr(0, 8);
  spec.isolateNetwork = config_.isolateNetwork && optStrField(r, "network") != "Host";
  if (rootfsArea_) {
    if (auto prepared = prepareMiniboxdRun(*c, *ref, r, spec); !prepared) {
      co_await s.send(errorMessage("failed to prepare rootfs: " + prepared.error().message));
      co_return;
    }
  }
  containers_.add(c);
  if (c->ephemeral) {
    co_await runEphemeral(s, c, std::move(spec));
  } else {
    co_await runDetached(s, c, std::move(spec));
  }
}

asio::awaitable<Result<pid_t>> Daemon::spawn(SpawnSpec spec) {
  auto forked = forkProcess(spec);
  if (!forked) co_return forked.error();
  const pid_t pid = forked->pid;
  reaper_.expect(pid);
  asio::posix::stream_descriptor status(io_, forked->status.release());
  std::array<char, kChildFailureBytes> record{};
  auto [ec, n] = co_await asio::async_read(status, asio::buffer(record), kUseTuple);
  if (n == record.size() && childFailureStep(record.data()) == ChildStep::ContainerSetup) {
    // miniboxd model: clone had already returned upstream, so a failed child_init is a
    // started container that exits 127 (its message went to the container's stderr).
    spdlog::warn("event=container_setup_failed pid={} error={}", pid,
                 childFailure(record.data()).message);
    co_return pid;
  }
  if (n == record.size()) {
    reaper_.forget(pid);  // it exits 127 on its own and is reaped unobserved
    co_return childFailure(record.data());
  }
  co_return pid;  // EOF: the CLOEXEC pipe closed at exec
}

asio::awaitable<Result<void>> Daemon::startContainer(std::shared_ptr<Container> c,
                                                     SpawnSpec spec) {
  auto pid = co_await spawn(std::move(spec));
  if (!pid) {
    c->state = State::Failed;
    co_return pid.error();
  }
  c->pid = *pid;
  c->state = State::Running;
  events_.emit(eventCreated(c->id, c->imageLabel));
  events_.emit(eventStarted(c->id, *pid));
  // Removed (it was `Created`) while the child was starting: nobody can reach it now.
  if (containers_.byId(c->id) != c) ::kill(-*pid, SIGKILL);
  // The callback's `c` also keeps a miniboxd overlay mounted until the process is reaped.
  reaper_.watch(*pid, [this, c, p = *pid](int status) { onContainerExit(c, p, status); });
  co_return Result<void>{};
}

void Daemon::onContainerExit(const std::shared_ptr<Container>& c, pid_t pid, int waitStatus) {
  // Upstream's init is pid 1 of a pid namespace: when it exits, the kernel kills the rest
  // of the container, exec sessions included. The process group is our namespace.
  ::kill(-pid, SIGKILL);
  for (pid_t group : c->execGroups) ::kill(-group, SIGKILL);
  int code = containerExitCode(waitStatus);
  c->exitCode = code;
  c->pid.reset();
  if (c->state != State::Failed) c->state = State::Stopped;
  events_.emit(eventStopped(c->id, code));
  if (c->onExit) c->onExit();
  c->exited.notify();
}

void Daemon::signalContainer(const Container& c, int sig) const {
  if (!c.pid) return;
  if (::kill(-*c.pid, sig) != 0) ::kill(*c.pid, sig);
  for (pid_t group : c.execGroups) ::kill(-group, sig);
}

asio::awaitable<void> Daemon::runDetached(Session& s, std::shared_ptr<Container> c,
                                          SpawnSpec spec) {
  // Detached output is not captured (upstream sends it to the daemon's own stdio).
  UniqueFd devNull(::open("/dev/null", O_RDWR | O_CLOEXEC));
  spec.stdinFd = spec.stdoutFd = spec.stderrFd = devNull.get();
  if (config_.mode == Mode::V019) {
    // v0.19 replies first and spawns in the background; a failure just leaves `Failed`.
    co_await s.send(containerCreated(c->id));
    if (auto started = co_await startContainer(c, spec); !started) {
      spdlog::warn("event=spawn_failed id={} error={}", c->id, started.error().message);
    }
    co_return;
  }
  if (auto started = co_await startContainer(c, spec); !started) {
    co_await s.send(errorMessage("failed to spawn container: " + started.error().message));
    co_return;
  }
  co_await s.send(containerCreated(c->id));
}

asio::awaitable<void> Daemon::runEphemeral(Session& s, std::shared_ptr<Container> c,
                                           SpawnSpec spec) {
  std::array<int, 2> fds{};
  if (::pipe2(fds.data(), O_CLOEXEC) != 0) {
    c->state = State::Failed;
    co_await s.send(errorMessage(std::string("failed to create output pipe: ") +
                                 std::strerror(errno)));
    co_return;
  }
  UniqueFd readEnd(fds[0]);
  UniqueFd writeEnd(fds[1]);
  UniqueFd devNull(::open("/dev/null", O_RDONLY | O_CLOEXEC));
  spec.stdinFd = devNull.get();
  spec.stdoutFd = spec.stderrFd = writeEnd.get();  // one pipe: everything is "stdout"
  const bool replyFirst = config_.mode == Mode::V019;
  if (replyFirst) co_await s.send(containerCreated(c->id));
  if (auto started = co_await startContainer(c, spec); !started) {
    co_await s.send(errorMessage("failed to spawn container: " + started.error().message));
    co_return;
  }
  writeEnd.reset();  // only the container holds the write end now
  if (!replyFirst) co_await s.send(containerCreated(c->id));

  auto pipe = std::make_shared<asio::posix::stream_descriptor>(io_, readEnd.release());
  auto forceDrain = std::make_shared<bool>(false);
  auto drainTimer = std::make_shared<asio::steady_timer>(io_);
  c->onExit = [drainTimer, forceDrain, pipe] {
    drainTimer->expires_after(kDrainGrace);
    drainTimer->async_wait([forceDrain, pipe](boost::system::error_code ec) {
      if (ec) return;  // cancelled: the stream already ended
      *forceDrain = true;
      pipe->cancel(ec);
    });
  };
  co_await pump(s, *pipe, "stdout", &c->log, nullptr, forceDrain);
  drainTimer->cancel();
  c->onExit = nullptr;
  while (!c->exitCode) co_await c->exited.wait();
  containers_.erase(c);  // forgotten before ContainerStopped is sent (§7.1)
  co_await s.send(containerStopped(*c->exitCode));
}

asio::awaitable<void> Daemon::pump(Session& s, asio::posix::stream_descriptor& pipe,
                                   std::string_view stream, std::string* log,
                                   std::function<asio::awaitable<void>()> afterFirst,
                                   const std::shared_ptr<bool>& forceDrain) {
  std::array<char, kOutputChunkBytes> buf{};
  bool clientAlive = s.alive();
  auto deliver = [&](std::size_t n) -> asio::awaitable<void> {
    if (log && log->size() < kMaxLogBytes) log->append(buf.data(), std::min(n, kMaxLogBytes - log->size()));
    if (clientAlive) clientAlive = co_await s.send(containerOutput(stream, {buf.data(), n}));
    if (afterFirst) {
      auto first = std::exchange(afterFirst, nullptr);
      co_await first();
    }
  };
  for (;;) {
    auto [ec, n] = co_await pipe.async_read_some(asio::buffer(buf), kUseTuple);
    if (n > 0) co_await deliver(n);
    if (ec == asio::error::operation_aborted && forceDrain && *forceDrain) {
      // Escaped descendants still hold the pipe: finish with what is already in it.
      boost::system::error_code nb;
      pipe.non_blocking(true, nb);
      for (;;) {
        std::size_t got = pipe.read_some(asio::buffer(buf), nb);
        if (got > 0) co_await deliver(got);
        if (nb) break;
      }
      break;
    }
    if (ec) break;  // EOF, or EIO from a pty master whose slave closed
  }
}

asio::awaitable<void> Daemon::handleStop(Session& s, const json::object& r) {
  std::string arg = strField(r, "id");
  auto c = containers_.resolve(arg);
  if (!c) {
    co_await s.send(errorMessage("container not found: " + arg));
    co_return;
  }
  if (!c->pid) {
    co_await s.send(errorMessage("container " + c->id + " has no PID (not running?)"));
    co_return;
  }
  const pid_t pid = *c->pid;
  if (::kill(-pid, SIGTERM) != 0) ::kill(pid, SIGTERM);
  // Upstream polls every 250 ms and sends SIGKILL once 2 s have passed (§7.2).
  auto deadline = std::chrono::steady_clock::now() + kStopGrace;
  asio::steady_timer poll(io_);
  for (;;) {
    poll.expires_after(kStopPoll);
    co_await poll.async_wait(kUseTuple);
    if (c->exitCode) break;  // reaped: the pid may already belong to someone else
    if (std::chrono::steady_clock::now() >= deadline) {
      ::kill(-pid, SIGKILL);
      ::kill(pid, SIGKILL);
      break;
    }
  }
  if (c->state != State::Failed) c->state = State::Stopped;
  c->pid.reset();
  co_await s.send(successMessage("container " + c->id + " stopped"));
}

asio::awaitable<void> Daemon::handlePause(Session& s, const json::object& r) {
  std::string id = strField(r, "id");
  auto c = containers_.byId(id);
  if (!c) {
    co_await s.send(errorMessage("container " + id + " not found"));
  } else if (c->state != State::Running || !c->pid) {
    co_await s.send(errorMessage("container " + id + " is not running (state: " +
                                 stateName(c->state) + ")"));
  } else {
    signalContainer(*c, SIGSTOP);  // stands in for cgroup.freeze
    c->state = State::Paused;
    events_.emit(eventSimple("paused", c->id));
    co_await s.send(withId("ContainerPaused", c->id));
  }
}

asio::awaitable<void> Daemon::handleResume(Session& s, const json::object& r) {
  std::string id = strField(r, "id");
  auto c = containers_.byId(id);
  if (!c) {
    co_await s.send(errorMessage("container " + id + " not found"));
  } else if (c->state != State::Paused || !c->pid) {
    co_await s.send(errorMessage("container " + id + " is not paused (state: " +
                                 stateName(c->state) + ")"));
  } else {
    signalContainer(*c, SIGCONT);
    c->state = State::Running;
    events_.emit(eventSimple("resumed", c->id));
    co_await s.send(withId("ContainerResumed", c->id));
  }
}

asio::awaitable<void> Daemon::handleRemove(Session& s, const json::object& r) {
  std::string arg = strField(r, "id");
  auto c = containers_.resolve(arg);
  if (!c) {
    co_await s.send(errorMessage("container not found: " + arg));
    co_return;
  }
  if (c->state == State::Running) {
    co_await s.send(errorMessage("container '" + c->id + "' is already running"));
    co_return;
  }
  // A Paused (or Created) record is removable upstream and its process is left behind;
  // the simulator kills it instead so that tests never leak processes.
  if (c->pid) signalContainer(*c, SIGKILL);
  containers_.erase(c);
  co_await s.send(successMessage("container " + c->id + " removed"));
}

asio::awaitable<void> Daemon::handleList(Session& s, const json::object&) {
  auto all = containers_.all();
  std::shuffle(all.begin(), all.end(), rng_);  // catches clients that depend on order
  json::array list;
  for (const auto& c : all) list.push_back(c->info());
  json::object reply;
  reply["type"] = "ContainerList";
  reply["containers"] = std::move(list);
  co_await s.send(reply);
}

asio::awaitable<void> Daemon::handleLogs(Session& s, const json::object& r) {
  std::string arg = strField(r, "container_id");
  auto c = containers_.resolve(arg);
  if (!c) {
    co_await s.send(errorMessage("container not found: " + arg));
    co_return;
  }
  // Replays stdout.log from the start; `follow` is ignored (§7.9). Detached: empty.
  std::string content = c->ephemeral ? c->log : std::string();
  std::string_view rest = content;
  while (!rest.empty()) {
    auto nl = rest.find('\n');
    std::string_view line = rest.substr(0, nl);
    rest = nl == std::string_view::npos ? std::string_view() : rest.substr(nl + 1);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (utf8Error(line)) break;  // Rust's lines() stops at invalid UTF-8
    if (!co_await s.send(logLine(line))) co_return;
  }
  co_await s.send(successMessage("end of log"));
}

}  // namespace dockerbox::sim
