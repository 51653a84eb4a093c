// Bounds dockerbox-init puts on what it reads (style.md §6): its own argument list (written
// by the broker) and the image's /etc/passwd and /etc/group (written by whoever built the
// image, or by container root before an exec).
#pragma once

#include <cstddef>

namespace dockerbox::init {

/// Records in the init's argument list. The kernel caps argv at ARG_MAX anyway; this only
/// keeps a hostile or broken list from making the parser allocate without bound.
inline constexpr std::size_t kMaxArgs = 65536;
/// One argument; the kernel's MAX_ARG_STRLEN (32 pages).
inline constexpr std::size_t kMaxArgLength = 131072;
/// HOST_NAME_MAX: sethostname refuses longer names, so the parser does too.
inline constexpr std::size_t kMaxHostnameLength = 64;

/// /etc/passwd or /etc/group larger than this is refused: real ones are a few KiB, and the
/// init reads the whole file into memory as root.
inline constexpr std::size_t kMaxAccountFileSize = 4 * 1024 * 1024;
/// A longer line in /etc/passwd or /etc/group is skipped as malformed.
inline constexpr std::size_t kMaxAccountLineLength = 65536;
/// The kernel's NGROUPS_MAX: setgroups refuses more supplementary groups.
inline constexpr std::size_t kMaxSupplementaryGroups = 65536;
/// Docker's (runc's) valid id range: 0 .. 2^31-1.
inline constexpr unsigned long kMaxId = 0x7fffffffUL;

/// One read of the tty relay (pid 1, tty=yes): of the terminal's output, and of the
/// program's input from the stdin FIFO. A whole pipe buffer (64 KiB by default), so the
/// relay keeps up with a program writing at full speed; it lives on pid 1's stack, because
/// the reaper's seccomp filter has no brk or mmap for the heap to grow.
inline constexpr std::size_t kRelayChunkSize = 65536;
/// Window-size records taken from the control FIFO in one read; only the last counts.
inline constexpr std::size_t kWindowSizeRecordsPerRead = 64;

/// Port-channel requests pid 1 reads and answers in one turn (port_channel.hpp) before it
/// looks at its signals again: a proxy that asks without pause slows the reaper down but
/// cannot stop it. Each answer is one socket() and one sendmsg(), so a turn is short; the
/// replies of one turn fit in the channel's send buffer many times over.
inline constexpr std::size_t kPortRequestsPerTurn = 32;

}  // namespace dockerbox::init
