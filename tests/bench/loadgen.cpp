// dbx-loadgen: closed-loop load over a Unix socket, for dockerbox's benchmark
// (tests/bench/run_bench.py). Test tool only: it runs as the benchmark's user against sockets
// the benchmark started, and trusts what it reads no further than to find where an answer ends.
//
//   dbx-loadgen --socket PATH [--http METHOD PATH | --minibox JSON] [--clients N]
//               [--duration SECONDS | --requests N] [--new-connection]
//
// --http sends `METHOD PATH HTTP/1.1` and reads one response (Content-Length or chunked).
// --minibox sends one JSON line (the miniboxd protocol) and reads one line back: the same
// operation straight to the simulator, so the cost of dockerbox is a ratio in one run.
// Each client sends its next request when the previous answer has arrived (closed loop);
// latency is measured per request from just before the write to the end of the answer, so
// every request's wait is counted, none is skipped.
// Prints one line: requests, errors, seconds, req/s, p50/p90/p99/max in microseconds.
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;

struct Options {
  std::string socket;
  std::string request;  // the bytes of one request
  bool minibox = false;
  int clients = 1;
  double seconds = 2.0;
  long requests = 0;  // > 0: stop after this many in total instead of after `seconds`
  bool newConnection = false;
};

int connectTo(const std::string& path) {
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::strncpy(addr.sun_path, path.c_str(), sizeof addr.sun_path - 1);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

bool writeAll(int fd, std::string_view data) {
  while (!data.empty()) {
    ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    data.remove_prefix(static_cast<std::size_t>(n));
  }
  return true;
}

/// Reads from `fd` into `buf` until `done(buf)` says how many bytes the answer has.
template <class Done>
bool readAnswer(int fd, std::string& buf, Done done) {
  char chunk[65536];
  for (;;) {
    if (std::size_t n = done(buf); n > 0) {
      buf.erase(0, n);  // what follows belongs to the next answer (never happens closed-loop)
      return true;
    }
    ssize_t got = ::read(fd, chunk, sizeof chunk);
    if (got < 0 && errno == EINTR) continue;
    if (got <= 0) return false;
    buf.append(chunk, static_cast<std::size_t>(got));
  }
}

/// The length of a complete HTTP/1.1 response at the start of `b`, or 0.
std::size_t httpLength(const std::string& b) {
  auto end = b.find("\r\n\r\n");
  if (end == std::string::npos) return 0;
  std::string head = b.substr(0, end);
  for (auto& c : head) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  std::size_t body = end + 4;
  if (auto cl = head.find("content-length:"); cl != std::string::npos) {
    std::size_t len = std::strtoul(head.c_str() + cl + 15, nullptr, 10);
    return b.size() >= body + len ? body + len : 0;
  }
  if (head.find("transfer-encoding: chunked") != std::string::npos) {
    std::size_t pos = body;
    for (;;) {
      auto eol = b.find("\r\n", pos);
      if (eol == std::string::npos) return 0;
      std::size_t size = std::strtoul(b.c_str() + pos, nullptr, 16);
      pos = eol + 2 + size + 2;
      if (b.size() < pos) return 0;
      if (size == 0) return pos;
    }
  }
  return body;  // no body (204, HEAD)
}

std::size_t lineLength(const std::string& b) {
  auto nl = b.find('\n');
  return nl == std::string::npos ? 0 : nl + 1;
}

struct ClientResult {
  std::vector<double> micros;
  long errors = 0;
};

void runClient(const Options& o, Clock::time_point deadline, std::atomic<long>& budget, ClientResult& out) {
  int fd = -1;
  std::string buf;
  for (;;) {
    if (o.requests > 0 ? budget.fetch_sub(1) <= 0 : Clock::now() >= deadline) break;
    auto start = Clock::now();
    if (fd < 0) fd = connectTo(o.socket);
    bool ok = fd >= 0 && writeAll(fd, o.request) &&
              (o.minibox ? readAnswer(fd, buf, lineLength) : readAnswer(fd, buf, httpLength));
    auto elapsed = std::chrono::duration<double, std::micro>(Clock::now() - start).count();
    if (!ok) {
      ++out.errors;
    } else {
      out.micros.push_back(elapsed);
    }
    if (!ok || o.newConnection) {
      if (fd >= 0) ::close(fd);
      fd = -1;
      buf.clear();
    }
  }
  if (fd >= 0) ::close(fd);
}

[[noreturn]] void usage() {
  std::fprintf(stderr,
               "usage: dbx-loadgen --socket PATH [--http METHOD PATH | --minibox JSON] [--clients N]\n"
               "                   [--duration SECONDS | --requests N] [--new-connection]\n");
  std::exit(2);
}

Options parse(int argc, char** argv) {
  Options o;
  o.request = "GET /_ping HTTP/1.1\r\nHost: dockerbox\r\n\r\n";
  for (int i = 1; i < argc; ++i) {
    std::string_view a = argv[i];
    auto next = [&]() -> std::string {
      if (i + 1 >= argc) usage();
      return argv[++i];
    };
    if (a == "--socket") {
      o.socket = next();
    } else if (a == "--http") {
      std::string method = next();
      std::string path = next();
      o.request = method + " " + path + " HTTP/1.1\r\nHost: dockerbox\r\n";
      if (method == "POST") o.request += "Content-Length: 0\r\n";
      o.request += "\r\n";
    } else if (a == "--minibox") {
      o.request = next() + "\n";
      o.minibox = true;
    } else if (a == "--clients") {
      o.clients = std::max(1, std::atoi(next().c_str()));
    } else if (a == "--duration") {
      o.seconds = std::atof(next().c_str());
    } else if (a == "--requests") {
      o.requests = std::atol(next().c_str());
    } else if (a == "--new-connection") {
      o.newConnection = true;
    } else {
      usage();
    }
  }
  if (o.socket.empty()) usage();
  return o;
}

double percentile(const std::vector<double>& sorted, double p) {
  if (sorted.empty()) return 0;
  auto index = static_cast<std::size_t>(p * static_cast<double>(sorted.size() - 1));
  return sorted[index];
}

}  // namespace

int main(int argc, char** argv) {
  Options o = parse(argc, argv);
  std::vector<ClientResult> results(static_cast<std::size_t>(o.clients));
  std::atomic<long> budget(o.requests);
  auto start = Clock::now();
  auto deadline = start + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(o.seconds));
  std::vector<std::thread> threads;
  for (auto& r : results) threads.emplace_back([&, rp = &r] { runClient(o, deadline, budget, *rp); });
  for (auto& t : threads) t.join();
  double seconds = std::chrono::duration<double>(Clock::now() - start).count();
  std::vector<double> all;
  long errors = 0;
  for (auto& r : results) {
    all.insert(all.end(), r.micros.begin(), r.micros.end());
    errors += r.errors;
  }
  std::sort(all.begin(), all.end());
  std::printf("requests=%zu errors=%ld seconds=%.3f rps=%.0f p50_us=%.0f p90_us=%.0f p99_us=%.0f max_us=%.0f\n",
              all.size(), errors, seconds, static_cast<double>(all.size()) / seconds, percentile(all, 0.50),
              percentile(all, 0.90), percentile(all, 0.99), all.empty() ? 0.0 : all.back());
  return errors > 0 && all.empty() ? 1 : 0;
}
