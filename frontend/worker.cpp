#include "frontend/worker.hpp"

#include "frontend/ipc_client.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <spdlog/spdlog.h>

#include <chrono>
#include <exception>

namespace dockerbox::frontend {

namespace asio = boost::asio;

std::int64_t systemClock() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

int serveConnection(UniqueFd client, UniqueFd channel, const WorkerOptions& options) {
  int status = 0;
  try {
    // One thread: a worker serves one connection, and seccomp covers only this thread.
    asio::io_context io(1);
    IpcClient ipc(io.get_executor(), std::move(channel));
    asio::co_spawn(io, ipc.run(), [&](std::exception_ptr error) {
      if (error) {
        status = 1;
        spdlog::error("event=ipc_reader_failed");
      }
    });
    SessionOptions sessionOptions{options.clock ? options.clock : Clock(&systemClock)};
    asio::co_spawn(io, runSession(std::move(client), ipc, sessionOptions),
                   [&](std::exception_ptr error) {
                     if (error) status = 1;
                     // The client is done: release the broker side too, so the loop ends,
                     // once a pending cancel has gone out.
                     ipc.closeAfterPending("client connection ended");
                   });
    io.run();
  } catch (const std::exception& e) {
    spdlog::error("event=worker_failed error={}", e.what());
    status = 1;
  }
  return status;
}

}  // namespace dockerbox::frontend
