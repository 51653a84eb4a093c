// How dockerbox's processes format their diagnostics: a time-stamped line on a terminal or
// file, or, when stderr is systemd's journal stream, a line that starts with its syslog
// priority ("<3>" for an error), which journald stores as the entry's level.
#pragma once

#include <string_view>

namespace dockerbox {

/// True when stderr is the stream systemd named in JOURNAL_STREAM ("<device>:<inode>").
[[nodiscard]] bool stderrIsJournal();

/// Formats the default logger's lines for the journal: a priority prefix, then `tag` (a
/// spdlog pattern such as "frontend[%P]", may be empty), then the message; no time stamp
/// (the journal stamps entries).
void useJournalFormat(std::string_view tag);

}  // namespace dockerbox
