// minibox-sim: Exec, SendInput and ResizePty (minibox-protocol.md §7.8, §7.10).
// Runs as root; exec processes run as the --run-as user, or in the miniboxd model as the
// host nsenter with root and every capability (nsenter.hpp). Input: validated requests.
#include "tests/minibox_sim/daemon.hpp"

#include "common/unique_fd.hpp"
#include "tests/minibox_sim/nsenter.hpp"

#include <boost/asio/use_awaitable.hpp>

#include <fcntl.h>
#include <pty.h>
#include <unistd.h>

#include <algorithm>
#include <csignal>
#include <cstring>

namespace dockerbox::sim {
namespace {

/// Upstream's ContainerId::new checks, in its order.
std::optional<std::string> containerIdProblem(const std::string& id) {
  if (id.empty()) return "container ID cannot be empty";
  if (id.size() > 64) return "container ID too long: " + std::to_string(id.size()) + " (max 64)";
  bool alnum = std::all_of(id.begin(), id.end(), [](unsigned char ch) { return std::isalnum(ch); });
  if (!alnum) return "container ID must be alphanumeric";
  return std::nullopt;
}

bool hasNul(std::string_view s) { return s.find('\0') != std::string_view::npos; }

/// Upstream HEAD's validate_exec_spec (applied in v0.19 mode too; see the report).
std::optional<std::string> execSpecProblem(const std::vector<std::string>& cmd,
                                           const std::vector<std::string>& env,
                                           const std::optional<std::string>& workingDir) {
  if (cmd.empty()) return "exec command must not be empty";
  if (cmd.front().empty()) return "exec command program must not be empty";
  if (std::any_of(cmd.begin(), cmd.end(), hasNul))
    return "exec command arguments must not contain NUL bytes";
  for (const auto& kv : env) {
    auto eq = kv.find('=');
    if (eq == std::string::npos) return "exec env entries must use KEY=VALUE format";
    if (eq == 0) return "exec env key must not be empty";
    if (hasNul(kv)) return "exec env entries must not contain NUL bytes";
  }
  if (workingDir) {
    if (workingDir->empty()) return "exec working directory must not be empty";
    if (hasNul(*workingDir)) return "exec working directory must not contain NUL bytes";
  }
  return std::nullopt;
}

}  // namespace

asio::awaitable<void> Daemon::handleExec(Session& s, const json::object& r) {
  const bool head = config_.mode == Mode::Head;
  if (config_.adapter != Adapter::Native) {
    co_await s.send(errorMessage("exec not supported on this platform"));
    co_return;
  }
  std::string id = strField(r, "container_id");
  if (auto problem = containerIdProblem(id)) {
    co_await s.send(errorMessage("invalid container id: " + *problem));
    co_return;
  }
  auto cmd = strListField(r, "cmd");
  auto env = strListField(r, "env");
  auto workingDir = head ? optStrField(r, "working_dir") : std::nullopt;  // v0.19 ignores it
  if (auto problem = execSpecProblem(cmd, env, workingDir)) {
    co_await s.send(errorMessage("exec failed: " + *problem));
    co_return;
  }
  auto c = containers_.byId(id);  // exact ID only: names are not resolved
  std::string prefix = "exec failed: container " + id + " not found or not running: ";
  if (!c) {
    co_await s.send(errorMessage(prefix + "container " + id + " not found"));
    co_return;
  }
  if (!c->pid) {
    co_await s.send(errorMessage(prefix + "container " + id + " has no pid (not running)"));
    co_return;
  }

  const bool miniboxd = config_.processModel == ProcessModel::Miniboxd;
  SpawnSpec spec;
  if (miniboxd) {
    spec = nsenterSpec(*c->pid, cmd, env, workingDir);
  } else {
    spec.argv = cmd;
    spec.env = env;  // only the request's env: nothing from the container, no PATH
    spec.cwd = workingDir.value_or("/");
    spec.style = ExecStyle::Exec;
    spec.runAs = config_.runAs;
  }
  const bool tty = boolField(r, "tty");
  const std::string execId = uuidHex(rng_, head ? 32 : 16);
  UniqueFd outRead, outWrite, errRead, errWrite, devNull;
  bool pipesOk = false;
  if (tty) {
    // A real pty, as upstream allocates: output is "stdout" only, with the line
    // discipline's \r\n. Input and resize are never connected (§7.10).
    int master = -1;
    int slave = -1;
    pipesOk = ::openpty(&master, &slave, nullptr, nullptr, nullptr) == 0;
    outRead.reset(master);
    outWrite.reset(slave);
    if (pipesOk) ::fcntl(master, F_SETFD, FD_CLOEXEC);
    spec.stdinFd = spec.stdoutFd = spec.stderrFd = slave;
    spec.controllingTty = true;
  } else {
    std::array<int, 2> out{-1, -1};
    std::array<int, 2> err{-1, -1};
    pipesOk = ::pipe2(out.data(), O_CLOEXEC) == 0 && ::pipe2(err.data(), O_CLOEXEC) == 0;
    outRead.reset(out[0]);
    outWrite.reset(out[1]);
    errRead.reset(err[0]);
    errWrite.reset(err[1]);
    devNull.reset(::open("/dev/null", O_RDONLY | O_CLOEXEC));
    spec.stdinFd = devNull.get();
    spec.stdoutFd = out[1];
    spec.stderrFd = err[1];
  }
  Result<pid_t> pid = fail(ErrorKind::Internal, std::strerror(errno));
  if (pipesOk) pid = co_await spawn(std::move(spec));
  if (!pid && miniboxd) {
    // Upstream answers ExecStarted once its blocking task is queued; the task then fails to
    // spawn nsenter (say, not found in the request's PATH) and sends this terminal Error.
    co_await s.send(execStarted(execId));
    co_await s.send(errorMessage(std::string(tty ? "exec: nsenter pty spawn failed: "
                                                 : "exec: nsenter spawn failed: ") +
                                 pid.error().message));
    co_return;
  }
  if (!pid) {
    co_await s.send(errorMessage("exec: nsenter spawn failed: " + pid.error().message));
    co_return;
  }
  outWrite.reset();
  errWrite.reset();
  auto exit = std::make_shared<ChildExit>(io_.get_executor());
  reaper_.watch(*pid, [exit](int status) {
    exit->waitStatus = status;
    exit->done.notify();
  });
  c->execGroups.insert(*pid);
  if (!c->pid) ::kill(-*pid, SIGKILL);  // the container went away while this one started

  bool announced = false;
  auto announce = [&]() -> asio::awaitable<void> {
    if (announced) co_return;
    announced = true;
    co_await s.send(execStarted(execId));
  };
  std::function<asio::awaitable<void>()> late;
  if (config_.execStartedLate) {
    late = announce;  // ExecStarted after the first output, as upstream's race allows
  } else {
    co_await announce();
  }
  // Without a tty, stdout is drained to EOF before stderr is read at all (§7.8).
  asio::posix::stream_descriptor out(io_, outRead.release());
  co_await pump(s, out, "stdout", nullptr, late, nullptr);
  if (!tty) {
    asio::posix::stream_descriptor err(io_, errRead.release());
    co_await pump(s, err, "stderr", nullptr, late, nullptr);
  }
  while (!exit->waitStatus) co_await exit->done.wait();
  c->execGroups.erase(*pid);
  co_await announce();
  co_await s.send(containerStopped(execExitCode(*exit->waitStatus)));
}

asio::awaitable<void> Daemon::handleSendInput(Session& s, const json::object& r) {
  std::string error;
  if (!base64Decode(strField(r, "data"), error)) {
    co_await s.send(errorMessage("base64 decode: " + error));
    co_return;
  }
  // Upstream unregisters tty sessions right after ExecStarted: there is never one (§7.10).
  co_await s.send(errorMessage("no active tty session: " + strField(r, "session_id")));
}

asio::awaitable<void> Daemon::handleResizePty(Session& s, const json::object& r) {
  co_await s.send(errorMessage("no active tty session: " + strField(r, "session_id")));
}

}  // namespace dockerbox::sim
