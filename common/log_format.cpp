#include "common/log_format.hpp"

#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>

namespace dockerbox {
namespace {

/// "<N>": the syslog priority of a record's level (sd-daemon(3)).
class PriorityFlag final : public spdlog::custom_flag_formatter {
 public:
  void format(const spdlog::details::log_msg& msg, const std::tm&, spdlog::memory_buf_t& dest) override {
    const char* prefix = "<6>";
    switch (msg.level) {
      case spdlog::level::trace:
      case spdlog::level::debug: prefix = "<7>"; break;
      case spdlog::level::info: prefix = "<6>"; break;
      case spdlog::level::warn: prefix = "<4>"; break;
      case spdlog::level::err: prefix = "<3>"; break;
      case spdlog::level::critical: prefix = "<2>"; break;
      default: break;
    }
    dest.append(prefix, prefix + 3);
  }
  [[nodiscard]] std::unique_ptr<custom_flag_formatter> clone() const override {
    return std::make_unique<PriorityFlag>();
  }
};

}  // namespace

bool stderrIsJournal() {
  const char* stream = std::getenv("JOURNAL_STREAM");
  if (stream == nullptr) return false;
  unsigned long long device = 0, inode = 0;
  char extra = 0;
  if (std::sscanf(stream, "%llu:%llu%c", &device, &inode, &extra) != 2) return false;
  struct stat st {};
  if (::fstat(STDERR_FILENO, &st) != 0) return false;
  return static_cast<unsigned long long>(st.st_dev) == device && static_cast<unsigned long long>(st.st_ino) == inode;
}

void useJournalFormat(std::string_view tag) {
  const std::string who = tag.empty() ? std::string() : std::string(tag) + " ";
  auto formatter = std::make_unique<spdlog::pattern_formatter>();
  formatter->add_flag<PriorityFlag>('*').set_pattern("%*" + who + "%v");
  spdlog::set_formatter(std::move(formatter));
}

std::optional<bool> HelperLogFlags::take(std::string_view name, std::string_view value) {
  if (name == "--log-format") {
    if (value != "text" && value != "journal") return false;
    journal = value == "journal";
    return true;
  }
  if (name == "--log-level") {
    level = value;
    return spdlog::level::from_str(level) != spdlog::level::off || value == "off";
  }
  return std::nullopt;
}

void useHelperLogger(const char* name, const HelperLogFlags& flags) {
  spdlog::set_default_logger(spdlog::stderr_logger_st(name));
  const std::string tag = std::string(name) + "[%P]";
  if (flags.journal) {
    useJournalFormat(tag);
  } else {
    spdlog::set_pattern("%Y-%m-%dT%H:%M:%S.%fZ %l " + tag + " %v", spdlog::pattern_time_type::utc);
  }
  spdlog::set_level(spdlog::level::from_str(flags.level));
}

}  // namespace dockerbox
