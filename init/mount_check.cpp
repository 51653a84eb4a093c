// Runs as root in dockerbox-init (Run mode) after the mounts are built. Input: the
// kernel's /proc/self/mountinfo for the container's mount namespace.
#include "init/mount_check.hpp"

#include <algorithm>

namespace dockerbox::init {
namespace {

std::vector<std::string_view> splitSpaces(std::string_view line) {
  std::vector<std::string_view> fields;
  while (!line.empty()) {
    auto space = line.find(' ');
    if (space != 0) fields.push_back(line.substr(0, space));
    if (space == std::string_view::npos) break;
    line.remove_prefix(space + 1);
  }
  return fields;
}

bool isOctal(char c) { return c >= '0' && c <= '7'; }

/// mountinfo escapes space, tab, newline and backslash as \ooo.
std::string unescape(std::string_view text) {
  std::string out;
  for (std::size_t i = 0; i < text.size(); ++i) {
    bool octal = text[i] == '\\' && i + 3 < text.size() && isOctal(text[i + 1]) &&
                 isOctal(text[i + 2]) && isOctal(text[i + 3]);
    if (octal) {
      out.push_back(static_cast<char>(((text[i + 1] - '0') << 6) | ((text[i + 2] - '0') << 3) |
                                      (text[i + 3] - '0')));
      i += 3;
    } else {
      out.push_back(text[i]);
    }
  }
  return out;
}

std::vector<std::string> splitCommas(std::string_view text) {
  std::vector<std::string> out;
  while (true) {
    auto comma = text.find(',');
    out.emplace_back(text.substr(0, comma));
    if (comma == std::string_view::npos) return out;
    text.remove_prefix(comma + 1);
  }
}

bool has(const MountEntry& mount, std::string_view option) {
  return std::find(mount.options.begin(), mount.options.end(), option) != mount.options.end();
}

bool isDeviceNodeRoot(std::string_view root) {
  for (auto name : kDeviceNodeNames) {
    if (root.size() == name.size() + 1 && root.front() == '/' && root.substr(1) == name) {
      return true;
    }
  }
  return false;
}

Error refused(const MountEntry& mount, std::string_view why) {
  return fail(ErrorKind::Internal, "mount check: " + mount.mountPoint + " (" + mount.fsType +
                                       "): " + std::string(why));
}

}  // namespace

Result<std::vector<MountEntry>> parseMountInfo(std::string_view text) {
  std::vector<MountEntry> mounts;
  while (!text.empty()) {
    auto newline = text.find('\n');
    auto line = text.substr(0, newline);
    text = newline == std::string_view::npos ? std::string_view{} : text.substr(newline + 1);
    if (line.empty()) continue;
    // id parent major:minor root mount-point options [optional...] - type source super
    auto fields = splitSpaces(line);
    auto dash = std::find(fields.begin(), fields.end(), "-");
    if (fields.size() < 6 || dash - fields.begin() < 6 || fields.end() - dash < 2) {
      return fail(ErrorKind::Internal, "mount check: unexpected /proc/self/mountinfo line");
    }
    mounts.push_back(MountEntry{unescape(fields[3]), unescape(fields[4]), splitCommas(fields[5]),
                                unescape(*(dash + 1))});
  }
  if (mounts.empty()) return fail(ErrorKind::Internal, "mount check: empty mount table");
  return mounts;
}

Result<void> checkMountTable(const std::vector<MountEntry>& mounts) {
  for (const auto& mount : mounts) {
    // Single host nodes, cloned from devtmpfs (or the tmpfs of a host without one).
    bool nodeFs = mount.fsType == "devtmpfs" || mount.fsType == "tmpfs";
    if (nodeFs && isDeviceNodeRoot(mount.root)) {
      if (!has(mount, "ro") || !has(mount, "nosuid") || !has(mount, "noexec")) {
        return refused(mount, "a device node mount must be ro,nosuid,noexec");
      }
      continue;
    }
    if (mount.fsType == "devtmpfs") return refused(mount, "the host's /dev is still mounted");
    if (mount.fsType == "devpts" && mount.mountPoint == "/dev/pts") {
      if (!has(mount, "nosuid") || !has(mount, "noexec")) {
        return refused(mount, "devpts must be nosuid,noexec");
      }
      continue;
    }
    if (!has(mount, "nosuid") || !has(mount, "nodev")) {
      return refused(mount, "must be nosuid,nodev");
    }
  }
  return {};
}

}  // namespace dockerbox::init
