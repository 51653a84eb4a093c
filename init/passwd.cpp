// Runs as root in dockerbox-init, before the drop. Input: untrusted /etc/passwd and
// /etc/group text from the container (see passwd.hpp).
#include "init/passwd.hpp"

#include "init/read_file.hpp"

#include "common/unique_fd.hpp"
#include "init/limits.hpp"
#include "init/sys_error.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <optional>

namespace dockerbox::init {
namespace {

constexpr std::string_view kWhitespace = " \t\r\n\v\f";
constexpr std::string_view kRangeError = "uids and gids must be in range 0-2147483647";

struct PasswdEntry {
  std::string_view name;
  unsigned long uid = 0;
  unsigned long gid = 0;
  std::string_view home;
};

struct GroupEntry {
  std::string_view name;
  unsigned long gid = 0;
  std::string_view members;  // comma-separated user names
};

std::string_view trim(std::string_view text) {
  auto first = text.find_first_not_of(kWhitespace);
  if (first == std::string_view::npos) return {};
  auto last = text.find_last_not_of(kWhitespace);
  return text.substr(first, last - first + 1);
}

/// Digits only, within Docker's id range. runc reads a bad number as 0 (root); here it is
/// simply not a number.
std::optional<unsigned long> parseId(std::string_view text) {
  if (text.empty() || text.size() > 10) return std::nullopt;
  unsigned long value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc{} || end != text.data() + text.size()) return std::nullopt;
  return value;
}

/// Splits `line` on ':' into at most N fields; missing fields are empty.
template <std::size_t N>
std::array<std::string_view, N> splitFields(std::string_view line) {
  std::array<std::string_view, N> fields{};
  for (std::size_t i = 0; i < N; ++i) {
    auto colon = line.find(':');
    fields[i] = line.substr(0, colon);
    if (colon == std::string_view::npos) break;
    line.remove_prefix(colon + 1);
  }
  return fields;
}

/// Calls `visit(line)` for every non-empty, trimmed line of bounded length, until it
/// returns false.
template <class F>
void forEachLine(std::string_view text, F&& visit) {
  while (!text.empty()) {
    auto newline = text.find('\n');
    auto line = text.substr(0, newline);
    text = newline == std::string_view::npos ? std::string_view{} : text.substr(newline + 1);
    if (line.size() > kMaxAccountLineLength) continue;
    line = trim(line);
    if (!line.empty() && !visit(line)) return;
  }
}

std::optional<PasswdEntry> parsePasswdLine(std::string_view line) {
  auto f = splitFields<7>(line);  // name:password:uid:gid:gecos:home:shell
  auto uid = parseId(f[2]);
  auto gid = parseId(f[3]);
  if (!uid || !gid || *uid > kMaxId || *gid > kMaxId) return std::nullopt;
  return PasswdEntry{f[0], *uid, *gid, f[5]};
}

std::optional<GroupEntry> parseGroupLine(std::string_view line) {
  auto f = splitFields<4>(line);  // name:password:gid:member,member
  auto gid = parseId(f[2]);
  if (!gid || *gid > kMaxId) return std::nullopt;
  return GroupEntry{f[0], *gid, f[3]};
}

bool listsMember(std::string_view members, std::string_view name) {
  while (!members.empty()) {
    auto comma = members.find(',');
    if (members.substr(0, comma) == name) return true;
    if (comma == std::string_view::npos) break;
    members.remove_prefix(comma + 1);
  }
  return false;
}

/// The first passwd entry that `matches` (runc: first match wins).
template <class F>
std::optional<PasswdEntry> findUser(std::string_view passwd, F&& matches) {
  std::optional<PasswdEntry> found;
  forEachLine(passwd, [&](std::string_view line) {
    auto entry = parsePasswdLine(line);
    if (entry && matches(*entry)) found = entry;
    return !found;
  });
  return found;
}

/// Fills uid, gid and home from the user half of the spec; returns the matched name.
Result<std::string_view> resolveUserPart(std::string_view userArg, std::string_view passwd,
                                         ExecUser& user) {
  auto uidArg = parseId(userArg);
  auto entry = findUser(passwd, [&](const PasswdEntry& e) {
    if (userArg.empty()) return e.uid == 0;
    if (uidArg) return e.uid == *uidArg;
    return e.name == userArg;
  });
  if (entry) {
    user.uid = static_cast<uid_t>(entry->uid);
    user.gid = static_cast<gid_t>(entry->gid);
    if (!entry->home.empty()) user.home = std::string(entry->home);
    return entry->name;
  }
  if (userArg.empty()) return std::string_view{};
  if (!uidArg) {
    return fail(ErrorKind::BadRequest, "unable to find user " + std::string(userArg) +
                                           ": no matching entries in passwd file");
  }
  if (*uidArg > kMaxId) return fail(ErrorKind::BadRequest, std::string(kRangeError));
  user.uid = static_cast<uid_t>(*uidArg);
  return std::string_view{};
}

/// An explicit group: by gid or by name in /etc/group; a numeric gid need not be listed.
Result<void> resolveGroupPart(std::string_view groupArg, std::string_view group,
                              ExecUser& user) {
  auto gidArg = parseId(groupArg);
  std::optional<GroupEntry> found;
  forEachLine(group, [&](std::string_view line) {
    auto entry = parseGroupLine(line);
    if (entry && (gidArg ? entry->gid == *gidArg : entry->name == groupArg)) found = entry;
    return !found;
  });
  if (found) {
    user.gid = static_cast<gid_t>(found->gid);
    return {};
  }
  if (!gidArg) {
    return fail(ErrorKind::BadRequest, "unable to find group " + std::string(groupArg) +
                                           ": no matching entries in group file");
  }
  if (*gidArg > kMaxId) return fail(ErrorKind::BadRequest, std::string(kRangeError));
  user.gid = static_cast<gid_t>(*gidArg);
  return {};
}

Result<void> collectSupplementaryGroups(std::string_view userName, std::string_view group,
                                        ExecUser& user) {
  auto& groups = user.supplementaryGroups;
  if (!userName.empty()) {
    forEachLine(group, [&](std::string_view line) {
      auto entry = parseGroupLine(line);
      if (entry && listsMember(entry->members, userName)) {
        groups.push_back(static_cast<gid_t>(entry->gid));
      }
      return true;
    });
  }
  groups.push_back(user.gid);
  std::sort(groups.begin(), groups.end());
  groups.erase(std::unique(groups.begin(), groups.end()), groups.end());
  if (groups.size() > kMaxSupplementaryGroups) {
    return fail(ErrorKind::BadRequest, "too many supplementary groups for the user");
  }
  return {};
}

}  // namespace

Result<ExecUser> resolveUser(std::string_view spec, std::string_view untrustedPasswd,
                             std::string_view untrustedGroup) {
  auto colon = spec.find(':');
  auto userArg = spec.substr(0, colon);
  auto groupArg = colon == std::string_view::npos ? std::string_view{} : spec.substr(colon + 1);
  // runc splits "user:group:more" into user and group and drops the rest; refuse instead.
  if (groupArg.find(':') != std::string_view::npos) {
    return fail(ErrorKind::BadRequest, "invalid user " + std::string(spec));
  }
  ExecUser user;
  std::string_view userName;
  DOCKERBOX_TRY_ASSIGN(userName, resolveUserPart(userArg, untrustedPasswd, user));
  if (!groupArg.empty()) {
    if (auto ok = resolveGroupPart(groupArg, untrustedGroup, user); !ok) return ok.error();
    userName = {};  // runc: supplementary groups only in the implicit form
  }
  if (auto ok = collectSupplementaryGroups(userName, untrustedGroup, user); !ok) {
    return ok.error();
  }
  return user;
}

Result<std::string> readAccountFile(const char* path) {
  std::string what = std::string("read ") + path;
  // O_NONBLOCK: a FIFO planted at the path must not hang the init before fstat refuses it.
  UniqueFd fd(::open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY));
  if (!fd) {
    if (errno == ENOENT) return std::string{};
    return sysError(what, errno);
  }
  struct stat st {};
  if (auto ok = sysCheck(::fstat(fd.get(), &st), what); !ok) return ok.error();
  if (!S_ISREG(st.st_mode)) return fail(ErrorKind::Internal, what + ": not a regular file");
  return readToEnd(fd.get(), kMaxAccountFileSize, what);
}

}  // namespace dockerbox::init
