// minibox-sim: response encoding helpers. Input: values the simulator built itself.
#include "tests/minibox_sim/wire.hpp"

#include <array>
#include <cstdio>
#include <ctime>

namespace dockerbox::sim {
namespace {

constexpr std::string_view kAlphabet =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

int base64Value(unsigned char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '+') return 62;
  if (c == '/') return 63;
  return -1;
}

json::object typed(std::string_view type) {
  json::object o;
  o["type"] = type;
  return o;
}

json::object wrapEvent(json::object event) {
  json::object o = typed("Event");
  o["event"] = std::move(event);
  return o;
}

json::object eventBase(std::string_view type) {
  json::object e;
  e["type"] = type;
  return e;
}

}  // namespace

std::string base64Encode(std::string_view bytes) {
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  std::size_t i = 0;
  for (; i + 3 <= bytes.size(); i += 3) {
    auto n = (static_cast<unsigned char>(bytes[i]) << 16U) |
             (static_cast<unsigned char>(bytes[i + 1]) << 8U) |
             static_cast<unsigned char>(bytes[i + 2]);
    out += kAlphabet[(n >> 18U) & 63U];
    out += kAlphabet[(n >> 12U) & 63U];
    out += kAlphabet[(n >> 6U) & 63U];
    out += kAlphabet[n & 63U];
  }
  std::size_t rest = bytes.size() - i;
  if (rest > 0) {
    unsigned n = static_cast<unsigned char>(bytes[i]) << 16U;
    if (rest == 2) n |= static_cast<unsigned char>(bytes[i + 1]) << 8U;
    out += kAlphabet[(n >> 18U) & 63U];
    out += kAlphabet[(n >> 12U) & 63U];
    out += rest == 2 ? kAlphabet[(n >> 6U) & 63U] : '=';
    out += '=';
  }
  return out;
}

std::optional<std::string> base64Decode(std::string_view text, std::string& error) {
  auto invalidSymbol = [&](std::size_t offset) {
    error = "Invalid symbol " + std::to_string(static_cast<unsigned char>(text[offset])) +
            ", offset " + std::to_string(offset) + ".";
    return std::nullopt;
  };
  std::size_t padStart = text.size();
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '=') {
      if (padStart == text.size()) padStart = i;
      // Padding is only legal as the last one or two characters of the final quantum.
      if (i < text.size() - 2 || text.size() % 4 != 0) return invalidSymbol(i);
    } else if (base64Value(static_cast<unsigned char>(text[i])) < 0 || padStart != text.size()) {
      return invalidSymbol(i);
    }
  }
  if (text.size() % 4 == 1) {
    error = "Invalid input length.";
    return std::nullopt;
  }
  if (text.size() % 4 != 0) {
    error = "Invalid padding";
    return std::nullopt;
  }
  std::string out;
  unsigned acc = 0;
  int bits = 0;
  for (std::size_t i = 0; i < padStart; ++i) {
    acc = (acc << 6U) | static_cast<unsigned>(base64Value(static_cast<unsigned char>(text[i])));
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out += static_cast<char>((acc >> static_cast<unsigned>(bits)) & 0xFFU);
    }
  }
  if (bits > 0 && (acc & ((1U << static_cast<unsigned>(bits)) - 1U)) != 0) {
    std::size_t last = padStart - 1;
    error = "Invalid last symbol " + std::to_string(static_cast<unsigned char>(text[last])) +
            ", offset " + std::to_string(last) + ".";
    return std::nullopt;
  }
  return out;
}

std::string rfc3339(SystemTime t) {
  auto since = t.time_since_epoch();
  auto secs = std::chrono::floor<std::chrono::seconds>(since);
  auto nanos = std::chrono::duration_cast<std::chrono::nanoseconds>(since - secs).count();
  std::time_t tt = static_cast<std::time_t>(secs.count());
  std::tm tm{};
  gmtime_r(&tt, &tm);
  std::array<char, 64> buf{};
  std::snprintf(buf.data(), buf.size(), "%04d-%02d-%02dT%02d:%02d:%02d.%09lld+00:00",
                tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                static_cast<long long>(nanos));
  return buf.data();
}

json::object timestampObject(SystemTime t) {
  auto since = t.time_since_epoch();
  auto secs = std::chrono::floor<std::chrono::seconds>(since);
  auto nanos = std::chrono::duration_cast<std::chrono::nanoseconds>(since - secs).count();
  json::object o;
  o["secs_since_epoch"] = static_cast<std::uint64_t>(secs.count());
  o["nanos_since_epoch"] = static_cast<std::uint32_t>(nanos);
  return o;
}

std::optional<std::string> utf8Error(std::string_view s) {
  std::size_t i = 0;
  auto fail = [&](std::size_t badLen) -> std::optional<std::string> {
    if (badLen == 0) return "incomplete utf-8 byte sequence from index " + std::to_string(i);
    return "invalid utf-8 sequence of " + std::to_string(badLen) + " bytes from index " +
           std::to_string(i);
  };
  while (i < s.size()) {
    auto c = static_cast<unsigned char>(s[i]);
    if (c < 0x80) {
      ++i;
      continue;
    }
    std::size_t need = 0;
    unsigned char lo = 0x80;
    unsigned char hi = 0xBF;
    if (c >= 0xC2 && c <= 0xDF) {
      need = 1;
    } else if (c >= 0xE0 && c <= 0xEF) {
      need = 2;
      if (c == 0xE0) lo = 0xA0;
      if (c == 0xED) hi = 0x9F;
    } else if (c >= 0xF0 && c <= 0xF4) {
      need = 3;
      if (c == 0xF0) lo = 0x90;
      if (c == 0xF4) hi = 0x8F;
    } else {
      return fail(1);
    }
    for (std::size_t k = 1; k <= need; ++k) {
      if (i + k >= s.size()) return fail(0);
      auto cc = static_cast<unsigned char>(s[i + k]);
      if (cc < (k == 1 ? lo : 0x80) || cc > (k == 1 ? hi : 0xBF)) return fail(k);
    }
    i += need + 1;
  }
  return std::nullopt;
}

bool isTerminalType(std::string_view type) {
  static constexpr std::array<std::string_view, 17> kTerminal = {
      "Success",        "Error",           "ContainerStopped", "ContainerList",
      "ImageLoaded",    "BuildComplete",   "ContainerPaused",  "ContainerResumed",
      "Pruned",         "PipelineComplete", "ImageList",       "SnapshotSaved",
      "SnapshotRestored", "SnapshotList",  "Manifest",         "VerifyResult",
      "WorkflowComplete"};
  for (auto t : kTerminal) {
    if (t == type) return true;
  }
  return type == "WorkflowStepComplete";
}

std::string toLine(const json::object& message) {
  std::string line = json::serialize(message);
  line += '\n';
  return line;
}

json::object errorMessage(std::string_view message) {
  json::object o = typed("Error");
  o["message"] = message;
  return o;
}

json::object successMessage(std::string_view message) {
  json::object o = typed("Success");
  o["message"] = message;
  return o;
}

json::object containerCreated(std::string_view id) { return withId("ContainerCreated", id); }

json::object containerOutput(std::string_view stream, std::string_view rawBytes) {
  json::object o = typed("ContainerOutput");
  o["stream"] = stream;
  o["data"] = base64Encode(rawBytes);
  return o;
}

json::object containerStopped(std::int32_t exitCode) {
  json::object o = typed("ContainerStopped");
  o["exit_code"] = exitCode;
  return o;
}

json::object execStarted(std::string_view execId) {
  json::object o = typed("ExecStarted");
  o["exec_id"] = execId;
  return o;
}

json::object logLine(std::string_view line) {
  json::object o = typed("LogLine");
  o["stream"] = "stdout";  // stderr.log is never written upstream (§7.9)
  o["line"] = line;
  return o;
}

json::object withId(std::string_view type, std::string_view id) {
  json::object o = typed(type);
  o["id"] = id;
  return o;
}

json::object eventCreated(std::string_view id, std::string_view image) {
  json::object e = eventBase("created");
  e["id"] = id;
  e["image"] = image;
  e["timestamp"] = timestampObject(std::chrono::system_clock::now());
  return wrapEvent(std::move(e));
}

json::object eventStarted(std::string_view id, std::int64_t pid) {
  json::object e = eventBase("started");
  e["id"] = id;
  e["pid"] = pid;
  e["timestamp"] = timestampObject(std::chrono::system_clock::now());
  return wrapEvent(std::move(e));
}

json::object eventStopped(std::string_view id, std::int32_t exitCode) {
  json::object e = eventBase("stopped");
  e["id"] = id;
  e["exit_code"] = exitCode;
  e["timestamp"] = timestampObject(std::chrono::system_clock::now());
  return wrapEvent(std::move(e));
}

json::object eventSimple(std::string_view type, std::string_view id) {
  json::object e = eventBase(type);
  e["id"] = id;
  e["timestamp"] = timestampObject(std::chrono::system_clock::now());
  return wrapEvent(std::move(e));
}

json::object eventImageRemoved(std::string_view image) {
  json::object e = eventBase("image_removed");
  e["image"] = image;
  e["timestamp"] = timestampObject(std::chrono::system_clock::now());
  return wrapEvent(std::move(e));
}

json::object eventImagePruned(std::uint64_t count, std::uint64_t freedBytes) {
  json::object e = eventBase("image_pruned");
  e["count"] = count;
  e["freed_bytes"] = freedBytes;
  e["timestamp"] = timestampObject(std::chrono::system_clock::now());
  return wrapEvent(std::move(e));
}

}  // namespace dockerbox::sim
