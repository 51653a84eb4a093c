// minibox-sim: in-memory daemon state: container records, the event bus and the child
// reaper. Everything here lives on the simulator's single io_context thread, so nothing is
// locked; coroutines wait on a Notifier instead of a condition variable.
#pragma once

#include "tests/minibox_sim/wire.hpp"

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>

#include <sys/types.h>

#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

namespace dockerbox::sim {

namespace asio = boost::asio;

class ContainerRootfs;  // container_fs.hpp (miniboxd model)

/// Wakes every coroutine waiting on it. Waiters re-check their condition in a loop, so a
/// notify with nobody waiting is harmless (single thread: no lost wake-up between check
/// and wait).
class Notifier {
 public:
  explicit Notifier(const asio::any_io_executor& ex);
  void notify() { timer_.cancel(); }
  asio::awaitable<void> wait();

 private:
  asio::steady_timer timer_;
};

/// The exit status of a watched child process, with a wake-up for whoever waits on it.
struct ChildExit {
  explicit ChildExit(const asio::any_io_executor& ex) : done(ex) {}
  std::optional<int> waitStatus;
  Notifier done;
};

/// Capitalised as the daemon writes them (§4); never lowercase.
enum class State { Created, Running, Paused, Stopped, Failed };
const char* stateName(State s);

/// One upstream container record plus what the simulator needs to emulate it.
struct Container {
  explicit Container(const asio::any_io_executor& ex) : exited(ex) {}

  std::string id;
  std::optional<std::string> name;
  std::string imageLabel;  // `<image as sent>:<resolved tag>`
  std::string command;     // the command array joined with single spaces
  State state = State::Created;
  SystemTime createdAt;
  std::optional<pid_t> pid;  // while the process exists (Running or Paused)
  bool ephemeral = false;

  /// stdout.log equivalent (ephemeral only), capped at kMaxLogBytes.
  std::string log;
  std::optional<int> exitCode;  // set by the reaper
  Notifier exited;              // notified when exitCode is set
  std::set<pid_t> execGroups;   // exec processes "inside" this container
  std::function<void()> onExit;  // extra work for the Run handler (output drain deadline)
  /// miniboxd model: the overlay. Also held by the reaper's callback, so it is unmounted
  /// only once the record is gone and the process has been reaped.
  std::shared_ptr<ContainerRootfs> rootfs;

  [[nodiscard]] json::object info() const;  // ContainerInfo (§4)
};

/// The simulated ephemeral log never grows past this (upstream's file is unbounded).
inline constexpr std::size_t kMaxLogBytes = 16 * 1024 * 1024;

class ContainerTable {
 public:
  std::shared_ptr<Container> add(std::shared_ptr<Container> c);
  /// Exact ID, then exact name (Stop, Remove, ContainerLogs: §8.2).
  [[nodiscard]] std::shared_ptr<Container> resolve(const std::string& idOrName) const;
  /// Exact ID only (Pause, Resume, Exec).
  [[nodiscard]] std::shared_ptr<Container> byId(const std::string& id) const;
  [[nodiscard]] bool nameInUse(const std::string& name) const;
  /// Removes `c` if it is still the record under its id.
  void erase(const std::shared_ptr<Container>& c);
  [[nodiscard]] std::vector<std::shared_ptr<Container>> all() const;
  [[nodiscard]] bool hasId(const std::string& id) const { return byId_.count(id) > 0; }

 private:
  std::map<std::string, std::shared_ptr<Container>> byId_;
};

/// SubscribeEvents fan-out (§7.12): no replay, and a subscriber more than kMaxLag events
/// behind silently loses events, as upstream's broadcast channel does.
class EventBus {
 public:
  static constexpr std::size_t kMaxLag = 1024;

  struct Subscriber {
    explicit Subscriber(const asio::any_io_executor& ex) : ready(ex) {}
    std::deque<json::object> queue;
    Notifier ready;
  };

  std::shared_ptr<Subscriber> subscribe(const asio::any_io_executor& ex);
  void emit(const json::object& event);

 private:
  std::vector<std::weak_ptr<Subscriber>> subscribers_;
};

/// Owns SIGCHLD handling: reaps every child (including orphaned grandchildren, since the
/// simulator is a child subreaper) and calls the callback registered for a known pid.
class Reaper {
 public:
  using OnExit = std::function<void(int waitStatus)>;
  /// Call right after fork(): an exit reaped before watch() is then kept for it.
  void expect(pid_t pid) { entries_[pid]; }
  /// Runs `onExit` when `pid` exits, or at once if it already has.
  void watch(pid_t pid, OnExit onExit);
  /// The child will never be watched (its setup failed): discard its exit.
  void forget(pid_t pid) { entries_.erase(pid); }
  /// Non-blocking waitpid loop; call on every SIGCHLD.
  void reapAll();

 private:
  struct Entry {
    OnExit onExit;
    std::optional<int> waitStatus;
  };
  std::unordered_map<pid_t, Entry> entries_;
};

/// 16 or 32 lowercase hex digits of a fresh UUIDv4 (version nibble included, as upstream's
/// `Uuid::new_v4().simple()` prefix).
std::string uuidHex(std::mt19937_64& rng, std::size_t digits);

}  // namespace dockerbox::sim
