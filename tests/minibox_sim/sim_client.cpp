// Test helpers for minibox_sim_test (runs in the test process, as root).
#include "tests/minibox_sim/sim_client.hpp"

#include <gtest/gtest.h>

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <filesystem>

namespace dockerbox::sim::test {

SimProcess::SimProcess(std::vector<std::string> args,
                       std::vector<std::pair<std::string, std::string>> env) {
  char tmpl[] = "/tmp/mbsim-XXXXXX";
  if (::mkdtemp(tmpl) == nullptr) {
    ADD_FAILURE() << "mkdtemp: " << std::strerror(errno);
    return;
  }
  dir_ = tmpl;
  socket_ = dir_ + "/miniboxd.sock";
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) {
    ADD_FAILURE() << "pipe2: " << std::strerror(errno);
    return;
  }
  std::vector<std::string> argv = {MINIBOX_SIM_BINARY, "--socket", socket_, "--ready-fd",
                                    std::to_string(fds[1])};
  argv.insert(argv.end(), args.begin(), args.end());
  std::vector<char*> cargv;
  for (auto& a : argv) cargv.push_back(a.data());
  cargv.push_back(nullptr);
  pid_ = ::fork();
  if (pid_ == 0) {
    ::fcntl(fds[1], F_SETFD, 0);  // the ready fd must survive exec
    for (const auto& [k, v] : env) ::setenv(k.c_str(), v.c_str(), 1);
    ::execv(cargv[0], cargv.data());
    ::_exit(127);
  }
  ::close(fds[1]);
  pollfd p{fds[0], POLLIN, 0};
  char byte = 0;
  ready_ = ::poll(&p, 1, 20000) == 1 && ::read(fds[0], &byte, 1) == 1;
  ::close(fds[0]);
  if (!ready_) ADD_FAILURE() << "minibox-sim did not become ready";
}

int SimProcess::stop() {
  if (pid_ <= 0) return -1;
  ::kill(pid_, SIGTERM);
  int status = 0;
  ::waitpid(pid_, &status, 0);
  pid_ = -1;
  return status;
}

SimProcess::~SimProcess() {
  stop();
  std::error_code ec;
  if (!dir_.empty()) std::filesystem::remove_all(dir_, ec);
}

Client::Client(const std::string& socketPath) {
  fd_ = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::strncpy(addr.sun_path, socketPath.c_str(), sizeof(addr.sun_path) - 1);
  if (::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    ADD_FAILURE() << "connect " << socketPath << ": " << std::strerror(errno);
    ::close(fd_);
    fd_ = -1;
  }
}

Client::~Client() {
  if (fd_ >= 0) ::close(fd_);
}

void Client::sendRaw(std::string_view bytes) {
  while (!bytes.empty() && fd_ >= 0) {
    ssize_t n = ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      ADD_FAILURE() << "send: " << std::strerror(errno);
      return;
    }
    bytes.remove_prefix(static_cast<std::size_t>(n));
  }
}

bool Client::trySendRaw(std::string_view bytes) {
  return fd_ >= 0 && ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL) ==
                         static_cast<ssize_t>(bytes.size());
}

void Client::send(const json::object& request) { sendRaw(json::serialize(request) + "\n"); }

void Client::shutdownWrite() { ::shutdown(fd_, SHUT_WR); }

bool Client::fill(std::chrono::steady_clock::time_point deadline) {
  if (eof_ || fd_ < 0) return false;
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
      deadline - std::chrono::steady_clock::now());
  pollfd p{fd_, POLLIN, 0};
  if (::poll(&p, 1, static_cast<int>(std::max<long long>(0, left.count()))) != 1) return false;
  char buf[65536];
  ssize_t n = ::read(fd_, buf, sizeof buf);
  if (n <= 0) {
    eof_ = true;
    return false;
  }
  buffer_.append(buf, static_cast<std::size_t>(n));
  return true;
}

std::optional<std::string> Client::readLine(std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    auto nl = buffer_.find('\n');
    if (nl != std::string::npos) {
      std::string line = buffer_.substr(0, nl);
      buffer_.erase(0, nl + 1);
      return line;
    }
    if (!fill(deadline)) return std::nullopt;
  }
}

bool Client::hasLine(std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (buffer_.find('\n') == std::string::npos) {
    if (!fill(deadline)) return false;
  }
  return true;
}

json::object Client::read(std::chrono::milliseconds timeout) {
  auto line = readLine(timeout);
  if (!line) {
    ADD_FAILURE() << (eof_ ? "unexpected EOF" : "no reply before the deadline");
    return {};
  }
  return parseObject(*line);
}

bool Client::readsEof(std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (buffer_.empty() && !eof_) {
    if (!fill(deadline) && !eof_) return false;  // timed out
  }
  return buffer_.empty() && eof_;
}

json::object parseObject(std::string_view text) {
  boost::system::error_code ec;
  auto v = json::parse(text, ec);
  if (ec || !v.is_object()) {
    ADD_FAILURE() << "not a JSON object: " << text;
    return {};
  }
  return v.get_object();
}

std::string typeOf(const json::object& o) {
  const auto* t = o.if_contains("type");
  return t && t->is_string() ? std::string(t->get_string()) : std::string();
}

std::string messageOf(const json::object& o) {
  const auto* t = o.if_contains("message");
  return t && t->is_string() ? std::string(t->get_string()) : std::string();
}

std::string base64Decode(std::string_view text) {
  static const std::string kAlphabet =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  unsigned acc = 0;
  int bits = 0;
  for (char c : text) {
    if (c == '=') break;
    auto pos = kAlphabet.find(c);
    if (pos == std::string::npos) return "<bad base64>";
    acc = (acc << 6U) | static_cast<unsigned>(pos);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out += static_cast<char>((acc >> static_cast<unsigned>(bits)) & 0xFFU);
    }
  }
  return out;
}

bool isHex(std::string_view s, std::size_t len) {
  return s.size() == len &&
         s.find_first_not_of("0123456789abcdef") == std::string_view::npos;
}

json::object runRequest(json::array command, bool ephemeral, const char* name) {
  json::object r{{"type", "Run"}, {"image", "alpine"}, {"tag", nullptr},
                 {"command", std::move(command)}, {"ephemeral", ephemeral}};
  r["name"] = name ? json::value(name) : json::value(nullptr);
  return r;
}

RunOutcome finishRun(Client& c, RunOutcome out) {
  for (;;) {
    json::object m = c.read();
    std::string type = typeOf(m);
    if (type == "ContainerCreated") {
      out.id = std::string(m.at("id").as_string());
    } else if (type == "ContainerOutput") {
      std::string data = base64Decode(m.at("data").as_string());
      out.largestChunk = std::max(out.largestChunk, data.size());
      out.allStdout = out.allStdout && m.at("stream").as_string() == "stdout";
      out.output += data;
    } else if (type == "ContainerStopped") {
      out.exitCode = m.at("exit_code").as_int64();
      return out;
    } else {
      ADD_FAILURE() << "unexpected message " << json::serialize(m);
      return out;
    }
  }
}

RunOutcome runEphemeral(Client& c, json::array command) {
  c.send(runRequest(std::move(command), true));
  return finishRun(c);
}

RunOutcome awaitOutput(Client& c, std::string_view text) {
  RunOutcome out;
  while (out.output.find(text) == std::string::npos) {
    json::object m = c.read();
    if (typeOf(m) == "ContainerCreated") out.id = std::string(m.at("id").as_string());
    else if (typeOf(m) == "ContainerOutput") out.output += base64Decode(m.at("data").as_string());
    else {
      ADD_FAILURE() << "unexpected message " << json::serialize(m);
      break;
    }
  }
  return out;
}

std::string startDetached(Client& c, json::array command, const char* name) {
  json::object reply = c.request(runRequest(std::move(command), false, name));
  EXPECT_EQ(typeOf(reply), "ContainerCreated") << json::serialize(reply);
  return reply.contains("id") ? std::string(reply.at("id").as_string()) : std::string();
}

json::object findContainer(Client& c, const std::string& id) {
  json::object list = c.request({{"type", "List"}});
  EXPECT_EQ(typeOf(list), "ContainerList");
  if (typeOf(list) != "ContainerList") return {};
  for (const auto& v : list["containers"].as_array()) {
    if (v.as_object().at("id").as_string() == id) return v.as_object();
  }
  return {};
}

void subscribeSynced(Client& events, Client& control) {
  events.send({{"type", "SubscribeEvents"}});
  for (int i = 0; i < 400; ++i) {
    std::string marker = "sync/marker" + std::to_string(i) + ":x";
    ASSERT_EQ(typeOf(control.request({{"type", "RemoveImage"}, {"image_ref", marker}})), "Success");
    if (!events.hasLine(25ms)) continue;
    for (;;) {  // every marker from the first delivered one up to `i` arrives, in order
      json::object e = events.read();
      ASSERT_EQ(typeOf(e), "Event");
      if (e["event"].as_object()["image"] == json::value(marker)) return;
    }
  }
  FAIL() << "event subscription never became live";
}

json::object nextEvent(Client& events) {
  json::object e = events.read();
  EXPECT_EQ(typeOf(e), "Event");
  return e.contains("event") ? e["event"].as_object() : json::object{};
}

}  // namespace dockerbox::sim::test
