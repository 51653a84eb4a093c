// How dockerbox's processes format their diagnostics: a time-stamped line on a terminal or
// file, or, when stderr is systemd's journal stream, a line that starts with its syslog
// priority ("<3>" for an error), which journald stores as the entry's level.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace dockerbox {

/// True when stderr is the stream systemd named in JOURNAL_STREAM ("<device>:<inode>").
[[nodiscard]] bool stderrIsJournal();

/// Formats the default logger's lines for the journal: a priority prefix, then `tag` (a
/// spdlog pattern such as "frontend[%P]", may be empty), then the message; no time stamp
/// (the journal stamps entries).
void useJournalFormat(std::string_view tag);

/// The logging flags dockerboxd gives its sandboxed helpers (frontend, engine).
struct HelperLogFlags {
  std::string level = "info";
  bool journal = false;  // stderr is the journal (dockerboxd found it so)

  /// Takes `--log-level LEVEL` or `--log-format text|journal`: nullopt when `name` is
  /// neither, false for a bad value (spdlog would turn an unknown level into "off").
  [[nodiscard]] std::optional<bool> take(std::string_view name, std::string_view value);
};

/// A helper's default logger: stderr (dockerboxd's, so its log), lines tagged "<name>[pid]",
/// UTC time stamps (no time-zone file is reachable in a sandbox) or journal priorities.
void useHelperLogger(const char* name, const HelperLogFlags& flags);

}  // namespace dockerbox
