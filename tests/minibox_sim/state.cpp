// minibox-sim: container records, events, reaping. Single-threaded (the io_context thread).
#include "tests/minibox_sim/state.hpp"

#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <sys/wait.h>

#include <algorithm>
#include <array>
#include <cerrno>

namespace dockerbox::sim {

Notifier::Notifier(const asio::any_io_executor& ex)
    : timer_(ex, asio::steady_timer::time_point::max()) {}

asio::awaitable<void> Notifier::wait() {
  boost::system::error_code ec;  // operation_aborted is the wake-up
  co_await timer_.async_wait(asio::redirect_error(asio::use_awaitable, ec));
}

const char* stateName(State s) {
  switch (s) {
    case State::Created: return "Created";
    case State::Running: return "Running";
    case State::Paused: return "Paused";
    case State::Stopped: return "Stopped";
    case State::Failed: return "Failed";
  }
  return "Failed";
}

json::object Container::info() const {
  json::object o;
  o["id"] = id;
  o["name"] = name ? json::value(*name) : json::value(nullptr);
  o["image"] = imageLabel;
  o["command"] = command;
  o["state"] = stateName(state);
  o["created_at"] = rfc3339(createdAt);
  o["pid"] = pid ? json::value(static_cast<std::int64_t>(*pid)) : json::value(nullptr);
  return o;
}

std::shared_ptr<Container> ContainerTable::add(std::shared_ptr<Container> c) {
  byId_[c->id] = c;
  return c;
}

std::shared_ptr<Container> ContainerTable::resolve(const std::string& idOrName) const {
  if (auto c = byId(idOrName)) return c;
  for (const auto& [id, c] : byId_) {
    if (c->name && *c->name == idOrName) return c;
  }
  return nullptr;
}

std::shared_ptr<Container> ContainerTable::byId(const std::string& id) const {
  auto it = byId_.find(id);
  return it == byId_.end() ? nullptr : it->second;
}

bool ContainerTable::nameInUse(const std::string& name) const {
  return std::any_of(byId_.begin(), byId_.end(),
                     [&](const auto& entry) { return entry.second->name == name; });
}

void ContainerTable::erase(const std::shared_ptr<Container>& c) {
  auto it = byId_.find(c->id);
  if (it != byId_.end() && it->second == c) byId_.erase(it);
}

std::vector<std::shared_ptr<Container>> ContainerTable::all() const {
  std::vector<std::shared_ptr<Container>> out;
  out.reserve(byId_.size());
  for (const auto& [id, c] : byId_) out.push_back(c);
  return out;
}

std::shared_ptr<EventBus::Subscriber> EventBus::subscribe(const asio::any_io_executor& ex) {
  auto s = std::make_shared<Subscriber>(ex);
  subscribers_.push_back(s);
  return s;
}

void EventBus::emit(const json::object& event) {
  std::erase_if(subscribers_, [](const auto& w) { return w.expired(); });
  for (const auto& w : subscribers_) {
    auto s = w.lock();
    if (s->queue.size() >= kMaxLag) continue;  // lagging subscriber: event lost, as upstream
    s->queue.push_back(event);
    s->ready.notify();
  }
}

void Reaper::watch(pid_t pid, OnExit onExit) {
  auto& entry = entries_[pid];
  if (entry.waitStatus) {
    int status = *entry.waitStatus;
    entries_.erase(pid);
    onExit(status);
    return;
  }
  entry.onExit = std::move(onExit);
}

void Reaper::reapAll() {
  for (;;) {
    int status = 0;
    pid_t pid = ::waitpid(-1, &status, WNOHANG);
    if (pid < 0 && errno == EINTR) continue;
    if (pid <= 0) return;  // 0: children left but none exited; -1/ECHILD: no children
    auto it = entries_.find(pid);
    if (it == entries_.end()) continue;  // an orphaned grandchild: reaped, nothing to report
    if (!it->second.onExit) {
      it->second.waitStatus = status;  // exited before anyone watched it
      continue;
    }
    auto onExit = std::move(it->second.onExit);
    entries_.erase(it);
    onExit(status);
  }
}

std::string uuidHex(std::mt19937_64& rng, std::size_t digits) {
  std::array<unsigned char, 16> b{};
  for (std::size_t i = 0; i < b.size(); i += 8) {
    auto r = rng();
    for (std::size_t k = 0; k < 8; ++k) b[i + k] = static_cast<unsigned char>(r >> (8 * k));
  }
  b[6] = static_cast<unsigned char>((b[6] & 0x0FU) | 0x40U);  // version 4
  b[8] = static_cast<unsigned char>((b[8] & 0x3FU) | 0x80U);  // RFC 4122 variant
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (unsigned char c : b) {
    out += kHex[c >> 4U];
    out += kHex[c & 0x0FU];
  }
  return out.substr(0, digits);
}

}  // namespace dockerbox::sim
