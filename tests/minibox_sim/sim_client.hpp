// Test helpers for minibox_sim_test: start a minibox-sim process on a private socket and
// talk to it over the raw wire (one JSON object per line). Every wait has a deadline.
#pragma once

#include <boost/json.hpp>

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace dockerbox::sim::test {

namespace json = boost::json;
using namespace std::chrono_literals;

/// Default deadline for one reply line.
inline constexpr std::chrono::milliseconds kReplyTimeout = 15s;

/// A running simulator in a fresh mkdtemp directory under /tmp. The constructor returns
/// once the simulator has written its --ready-fd byte (no sleeping).
class SimProcess {
 public:
  explicit SimProcess(std::vector<std::string> args = {},
                      std::vector<std::pair<std::string, std::string>> env = {});
  ~SimProcess();
  SimProcess(const SimProcess&) = delete;
  SimProcess& operator=(const SimProcess&) = delete;

  [[nodiscard]] const std::string& socketPath() const { return socket_; }
  [[nodiscard]] const std::string& dir() const { return dir_; }
  [[nodiscard]] bool ready() const { return ready_; }
  [[nodiscard]] pid_t pid() const { return pid_; }
  /// SIGTERM and wait; returns the wait status (or -1 when already stopped).
  int stop();

 private:
  std::string dir_;
  std::string socket_;
  pid_t pid_ = -1;
  bool ready_ = false;
};

/// One client connection.
class Client {
 public:
  explicit Client(const std::string& socketPath);
  ~Client();
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  [[nodiscard]] bool connected() const { return fd_ >= 0; }
  void sendRaw(std::string_view bytes);
  /// As sendRaw, but a failure (the peer already closed) is not a test failure.
  bool trySendRaw(std::string_view bytes);
  void send(const json::object& request);
  void shutdownWrite();
  /// One reply line as text (without '\n'); nullopt on EOF or timeout.
  std::optional<std::string> readLine(std::chrono::milliseconds timeout = kReplyTimeout);
  /// One reply parsed as an object; an empty object (and a test failure) when none came.
  json::object read(std::chrono::milliseconds timeout = kReplyTimeout);
  json::object request(const json::object& req) {
    send(req);
    return read();
  }
  /// True when the peer closes without sending any (further) byte before the deadline.
  bool readsEof(std::chrono::milliseconds timeout = kReplyTimeout);
  /// True when a line is available within `timeout` (does not consume it).
  bool hasLine(std::chrono::milliseconds timeout);

 private:
  bool fill(std::chrono::steady_clock::time_point deadline);
  int fd_ = -1;
  std::string buffer_;
  bool eof_ = false;
};

json::object parseObject(std::string_view text);
std::string typeOf(const json::object& o);
std::string messageOf(const json::object& o);
std::string base64Decode(std::string_view text);
bool isHex(std::string_view s, std::size_t len);

// Protocol-level helpers shared by the tests.

/// A Run request for image `alpine` (tag null) with the given command.
json::object runRequest(json::array command, bool ephemeral, const char* name = nullptr);

/// What an ephemeral Run (or an Exec) streamed.
struct RunOutcome {
  std::string id;
  std::string output;
  std::int64_t exitCode = 1000;
  bool allStdout = true;
  std::size_t largestChunk = 0;
};

/// Reads an ephemeral Run's (or Exec's) stream up to its terminal message.
RunOutcome finishRun(Client& c, RunOutcome out = {});
RunOutcome runEphemeral(Client& c, json::array command);
/// Reads an ephemeral Run until its output contains `text` (the container is then known
/// to have got that far).
RunOutcome awaitOutput(Client& c, std::string_view text);
/// Starts a detached container; returns its id.
std::string startDetached(Client& c, json::array command, const char* name = nullptr);
/// The ContainerInfo of `id` from a List, or an empty object.
json::object findContainer(Client& c, const std::string& id);
/// Subscribes `events` and returns once the subscription is known to be live: it removes
/// marker images through `control` until a marker's image_removed event arrives.
void subscribeSynced(Client& events, Client& control);
/// The payload of the next Event on a subscription.
json::object nextEvent(Client& events);

}  // namespace dockerbox::sim::test
