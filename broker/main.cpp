// dockerboxd: the broker. Runs as root. Thin: read settings, print them, build the
// components, wire them together, run.
#include "broker/config.hpp"
#include "broker/frontend_launcher.hpp"
#include "broker/handlers.hpp"
#include "broker/host_facts.hpp"
#include "broker/listener.hpp"
#include "broker/server.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <spdlog/spdlog.h>
#include <sys/prctl.h>
#include <systemd/sd-daemon.h>
#include <sys/wait.h>
#include <unistd.h>

#include <csignal>
#include <cstdio>
#include <functional>

namespace asio = boost::asio;
using namespace dockerbox;
using namespace dockerbox::broker;

namespace {

void reapChildren(asio::signal_set& signals, FrontendLauncher& launcher) {
  signals.async_wait([&signals, &launcher](const boost::system::error_code& ec, int) {
    if (ec) return;
    int status = 0;
    pid_t pid = 0;
    while ((pid = ::waitpid(-1, &status, WNOHANG)) > 0) launcher.childExited(pid, status);
    reapChildren(signals, launcher);
  });
}

}  // namespace

int main(int argc, char** argv) {
  auto config = loadConfig(argc, argv);
  if (!config) {
    std::fprintf(stderr, "dockerboxd: %s\n", config.error().message.c_str());
    return 2;
  }
  spdlog::set_level(spdlog::level::from_str(config->logLevel));
  if (::geteuid() != 0) {
    spdlog::critical("dockerboxd must run as root (it reads peer credentials, sandboxes the frontend and is "
                     "miniboxd's only client)");
    return 2;
  }
  // Workers are children of the zygote; if it dies they are re-parented to us, so we reap them.
  ::prctl(PR_SET_CHILD_SUBREAPER, 1);
  std::signal(SIGPIPE, SIG_IGN);

  auto listener = openListener(*config);
  if (!listener) {
    spdlog::critical("event=startup_failed error=\"{}: {}\"", listener.error().message, listener.error().context);
    return 1;
  }
  for (const auto& line : describe(*config)) spdlog::info("setting {}", line);

  ConnectionCounter counter(config->maxConnectionsPerUid);  // outlives io: see Server
  asio::io_context io;
  asio::signal_set children(io, SIGCHLD);
  asio::signal_set stop(io, SIGTERM, SIGINT);
  FrontendLauncher launcher(io, FrontendSpec{config->frontendPath, config->frontendUid, config->frontendGid,
                                             config->logLevel});
  Handlers handlers(io.get_executor(), *config, readHostFacts());
  Server server(io, *config, handlers, launcher, counter);

  reapChildren(children, launcher);
  if (auto started = launcher.start(); !started) {
    spdlog::critical("event=startup_failed error=\"{}\"", started.error().context);
    return 1;
  }
  stop.async_wait([&](const boost::system::error_code&, int sig) {
    spdlog::info("event=shutdown signal={}", sig);
    io.stop();
  });
  asio::co_spawn(io, server.acceptLoop(std::move(*listener)), asio::detached);
  spdlog::info("event=ready socket={}", config->socketPath);
  sd_notify(0, "READY=1");  // Type=notify units and the tests wait for this, not for time
  io.run();
  if (!config->socketActivated) ::unlink(config->socketPath.c_str());
  return 0;
}
