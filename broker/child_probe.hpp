// Runs as root. The short-lived children the broker forks to look at the file system as a
// caller (bind_check.cpp, bind_pin.cpp): fork with signals blocked, read the child's report
// through a pipe with a deadline, kill it when the deadline passes, reap it.
//
// Between fork and _exit a child may only make async-signal-safe calls (the broker has other
// threads whose locks may be held at fork): everything it needs is prepared before, and the
// helpers in namespace `asyncsafe` below are raw system calls only.
#pragma once

#include "broker/peer.hpp"
#include "common/result.hpp"
#include "common/unique_fd.hpp"

#include <sys/stat.h>
#include <sys/types.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>

namespace dockerbox::broker {

/// The body of a child: writes its report to `out`, then must _exit. `input` is the
/// caller's prepared data (read-only in the child).
using ChildBody = void (*)(const void* input, int out);

/// Forks a child running `body` and returns what it wrote before exiting, or nullopt when it
/// did not finish within `deadline` (it is then killed) or wrote more than `maxReport` bytes.
/// `what` names the probe in logs.
[[nodiscard]] std::optional<std::string> runChildProbe(ChildBody body, const void* input,
                                                       std::chrono::milliseconds deadline, std::size_t maxReport,
                                                       const char* what);

/// The caller's ids as a child needs them, checked for values setres[ug]id would read as
/// "unchanged" (-1). nullopt when they cannot be used.
struct CallerIds {
  uid_t uid;
  gid_t gid;
  const gid_t* groups;
  std::size_t groupCount;
};
[[nodiscard]] std::optional<CallerIds> callerIds(const Identity& caller);

/// A pidfd of the process serving `socketPath` (miniboxd), from SO_PEERCRED on a fresh
/// connection, taken while that connection is still open (so the pid is still that
/// process). A child that mounts for miniboxd joins its mount namespace through it first:
/// a systemd unit with ProtectHome=, PrivateTmp=, ... runs the broker in a namespace of its
/// own, where mounts would be invisible to miniboxd. An error when miniboxd is unreachable.
[[nodiscard]] Result<UniqueFd> miniboxProcess(const std::string& socketPath);

namespace asyncsafe {

/// openat2(O_PATH | O_CLOEXEC) with `resolve` flags; -1 on error.
int openPath(const char* path, std::uint64_t resolve);
/// Whether `path` (opened with `resolve`) is the object `st` describes.
bool sameObject(const struct stat& st, const char* path, std::uint64_t resolve);
void writeAll(int fd, const char* data, std::size_t size);
/// Writes `verdict` and the optional text to `out`, then _exit(0).
[[noreturn]] void finish(int out, char verdict, const char* text = nullptr, std::size_t length = 0);
/// Joins the mount namespace of the process `pidfd` (from miniboxProcess). False on failure.
bool joinMountNamespace(int fd);
/// Becomes the caller in this (single-threaded) child: supplementary groups, gid, uid, in
/// that order (after setresuid the groups could no longer change), then checks that a
/// non-root caller holds no capability. False on any failure.
bool becomeCaller(const CallerIds& ids);

}  // namespace asyncsafe

}  // namespace dockerbox::broker
