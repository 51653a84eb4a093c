// kill -9 torture test for StateStore and LogStore (P9): a child writes in a loop and is
// SIGKILLed at a random point; the parent reopens and checks integrity and invariants.
// Runs as the test user. Input: none (the child's writes are generated).
#include "engine/state/log_store.hpp"
#include "engine/state/state_store.hpp"
#include "temp_dir.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <map>
#include <random>
#include <string>

namespace dockerbox::broker::state {
namespace {

constexpr int kIterations = 20;
constexpr int kMaxAcknowledged = 30;  // the parent kills after 1..this many finished ops
const std::string kLogId(64, 'b');

std::string opName(int iteration, int op) {
  return "i" + std::to_string(iteration) + "n" + std::to_string(op);
}

std::string miniboxId(int iteration, int op) {
  char buffer[17];
  std::snprintf(buffer, sizeof buffer, "%08x%08x", iteration, op);
  return buffer;
}

// One op: create, start, exec, event, log line, and every second op removes the previous
// container. Each call is its own transaction; the op is acknowledged (one byte on `ack`)
// only after all of them returned. Never returns: exits 3 on any error, or is killed.
[[noreturn]] void writeForever(const std::filesystem::path& dir, int iteration, int ack) {
  auto store = StateStore::open(dir);
  auto logs = LogStore::open(dir);
  if (!store || !logs) ::_exit(3);
  std::string previous;
  for (int op = 0; op < 100000; ++op) {
    NewContainer spec;
    spec.name = opName(iteration, op);
    spec.image = "alpine";
    spec.imageRef = "docker.io/library/alpine:latest";
    spec.labels = {{"iteration", std::to_string(iteration)},
                   {"op", std::to_string(op)},
                   {"pad", std::string(300, 'p')}};
    spec.config = Blob(512, static_cast<std::uint8_t>(op));
    spec.createdAt = op;
    auto c = (*store)->createContainer(spec);
    if (!c) ::_exit(3);
    if (!(*store)->setRunning(c->dockerId, miniboxId(iteration, op), op)) ::_exit(3);
    auto exec = (*store)->createExec(NewExec{c->dockerId, 0, 0, Blob(64, 1), op, "", ""});
    if (!exec || !(*store)->setExecRunning(exec->execId, op)) ::_exit(3);
    NewEvent event{op, "container", "start", c->dockerId, {{"name", spec.name}}, 0, 0};
    if (!(*store)->appendEvent(event)) ::_exit(3);
    if (!(*logs)->append(kLogId, LogStream::Stdout, spec.name + "\n", op)) ::_exit(3);
    if (op % 2 == 1 && !(*store)->removeContainer(previous)) ::_exit(3);
    previous = c->dockerId;
    char byte = 1;
    if (::write(ack, &byte, 1) != 1) ::_exit(3);
  }
  ::_exit(0);
}

// Forks the writer, waits for `acknowledged` finished ops, kills it with SIGKILL.
void runAndKill(const std::filesystem::path& dir, int iteration, int acknowledged) {
  int fds[2];
  ASSERT_EQ(::pipe2(fds, O_CLOEXEC), 0);
  pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    ::close(fds[0]);
    writeForever(dir, iteration, fds[1]);
  }
  ::close(fds[1]);
  int received = 0;
  char buffer[64];
  while (received < acknowledged) {
    ssize_t n =
        ::read(fds[0], buffer, std::min<std::size_t>(sizeof buffer, acknowledged - received));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;  // the child died on its own: reported below
    received += static_cast<int>(n);
  }
  ::kill(child, SIGKILL);
  ::close(fds[0]);
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL)
      << "writer exited on its own with status " << status;
  ASSERT_EQ(received, acknowledged);
}

void checkIteration(StateStore& store, int iteration, int acknowledged) {
  for (int op = 0; op < acknowledged; ++op) {
    auto c = store.resolveContainer(opName(iteration, op));
    const bool removedByNext = op % 2 == 0 && op + 1 < acknowledged;
    const bool maybeRemoved = op % 2 == 0 && op + 1 == acknowledged;
    if (removedByNext) {
      EXPECT_FALSE(c) << opName(iteration, op) << " should have been removed";
      continue;
    }
    if (maybeRemoved && !c) continue;
    ASSERT_TRUE(c) << opName(iteration, op) << " was acknowledged but is lost";
    EXPECT_EQ(c->state, ContainerState::Running);
    EXPECT_EQ(c->miniboxId, miniboxId(iteration, op));
    auto execs = store.listExecs(c->dockerId);
    ASSERT_TRUE(execs);
    ASSERT_EQ(execs->size(), 1U);
    EXPECT_TRUE(execs->front().running);
  }
}

TEST(StateStoreKill, SurvivesKillNineAtRandomPoints) {
  testing::TempDir dir;
  const auto stateDir = dir.path() / "state";
  std::mt19937 random(20240611);  // fixed: the kill points still vary with timing
  std::uniform_int_distribution<int> pick(1, kMaxAcknowledged);
  std::map<std::string, int> acknowledgedEvents;
  for (int iteration = 0; iteration < kIterations; ++iteration) {
    const int acknowledged = pick(random);
    SCOPED_TRACE("iteration " + std::to_string(iteration) + ", acknowledged " +
                 std::to_string(acknowledged));
    ASSERT_NO_FATAL_FAILURE(runAndKill(stateDir, iteration, acknowledged));
    for (int op = 0; op < acknowledged; ++op) acknowledgedEvents[opName(iteration, op)] = 1;

    auto store = StateStore::open(stateDir);
    ASSERT_TRUE(store) << store.error().context;
    auto integrity = (*store)->checkIntegrity();
    ASSERT_TRUE(integrity) << integrity.error().context;
    ASSERT_NO_FATAL_FAILURE(checkIteration(**store, iteration, acknowledged));

    // Whatever was half-done: every container is whole (its labels were in its insert's
    // transaction) and has at most the one exec its op created.
    auto all = (*store)->listContainers();
    ASSERT_TRUE(all);
    for (const auto& c : *all) {
      ASSERT_EQ(c.labels.size(), 3U) << c.name;
      EXPECT_EQ(c.name, "i" + c.labels[0].value + "n" + c.labels[1].value);
      EXPECT_EQ(c.config.size(), 512U);
      EXPECT_LE((*store)->listExecs(c.dockerId)->size(), 1U);
    }
    auto events = (*store)->listEvents({});
    ASSERT_TRUE(events);
    std::map<std::string, int> seen;
    for (const auto& e : *events) {
      ASSERT_EQ(e.attributes.size(), 1U);
      seen[e.attributes[0].value] = 1;
    }
    for (const auto& [name, one] : acknowledgedEvents) EXPECT_TRUE(seen.count(name)) << name;

    auto logs = LogStore::open(stateDir);
    ASSERT_TRUE(logs);
    auto lines = (*logs)->read(kLogId, {});
    ASSERT_TRUE(lines);
    // At most one torn record per kill, and it never takes a good line with it.
    EXPECT_LE(lines->malformedLines, static_cast<std::size_t>(iteration + 1));
    std::map<std::string, int> logged;
    for (const auto& entry : lines->entries) logged[entry.bytes] = 1;
    for (const auto& [name, one] : acknowledgedEvents) EXPECT_TRUE(logged.count(name + "\n"));
  }
}

}  // namespace
}  // namespace dockerbox::broker::state
