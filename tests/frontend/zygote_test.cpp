// The zygote's control protocol, without the sandbox: malformed control messages are
// closed and skipped, each good one gets its own worker, EOF ends the zygote.
#include "frontend/zygote.hpp"

#include "ipc/fd_passing.hpp"

#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <string>

namespace dockerbox::frontend {
namespace {

std::pair<UniqueFd, UniqueFd> pairOf(int type) {
  int fds[2];
  EXPECT_EQ(::socketpair(AF_UNIX, type | SOCK_CLOEXEC, 0, fds), 0);
  return {UniqueFd(fds[0]), UniqueFd(fds[1])};
}

std::string readAll(int fd) {
  std::string out;
  char chunk[4096];
  for (;;) {
    ssize_t got = ::read(fd, chunk, sizeof chunk);
    if (got <= 0) return out;
    out.append(chunk, static_cast<std::size_t>(got));
  }
}

TEST(Zygote, SkipsMalformedMessagesServesGoodOnesAndExitsAtEof) {
  auto [broker, zygoteEnd] = pairOf(SOCK_SEQPACKET);
  std::fflush(nullptr);
  pid_t zygote = ::fork();
  if (zygote == 0) {
    broker.reset();
    // Unsandboxed here (no no_new_privs), so workers keep the inherited syscalls; the
    // narrowed worker filter is tested in sandbox_test.cpp.
    ::_exit(runZygote(std::move(zygoteEnd), WorkerOptions{{}, WorkerSyscalls::Inherited}));
  }
  zygoteEnd.reset();
  const std::byte tag{'C'};

  // One descriptor only: refused, and the zygote closes it (our peer sees EOF).
  auto [lonelyOurs, lonelyTheirs] = pairOf(SOCK_STREAM);
  int one[] = {lonelyTheirs.get()};
  ASSERT_TRUE(ipc::sendWithFds(broker.get(), std::span(&tag, 1), one));
  lonelyTheirs.reset();
  EXPECT_EQ(readAll(lonelyOurs.get()), "");

  // Three descriptors: refused and closed too.
  auto [a, b] = pairOf(SOCK_STREAM);
  int three[] = {b.get(), b.get(), b.get()};
  ASSERT_TRUE(ipc::sendWithFds(broker.get(), std::span(&tag, 1), three));
  b.reset();
  EXPECT_EQ(readAll(a.get()), "");

  // A good message: the worker answers on the client connection.
  auto [client, workerClient] = pairOf(SOCK_STREAM);
  auto [channel, workerChannel] = pairOf(SOCK_STREAM);
  int two[] = {workerClient.get(), workerChannel.get()};
  ASSERT_TRUE(ipc::sendWithFds(broker.get(), std::span(&tag, 1), two));
  workerClient.reset();
  workerChannel.reset();
  std::string request = "GET /_ping HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
  ASSERT_EQ(::write(client.get(), request.data(), request.size()), static_cast<ssize_t>(request.size()));
  std::string reply = readAll(client.get());
  EXPECT_EQ(reply.substr(0, 15), "HTTP/1.1 200 OK");
  EXPECT_EQ(reply.substr(reply.size() - 2), "OK");

  // EOF on the control socket: the zygote exits cleanly.
  broker.reset();
  int status = 0;
  ASSERT_EQ(::waitpid(zygote, &status, 0), zygote);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0);
}

}  // namespace
}  // namespace dockerbox::frontend
