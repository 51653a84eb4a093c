// The init's argument list: encoded by the broker (root), parsed by dockerbox-init as the
// container's first process. Pure: no I/O. The parser is strict and fuzzed (init_args):
// anything it does not recognise fails closed, so a damaged list never half-applies.
#include "init/config.hpp"

#include "init/limits.hpp"

#include <sys/resource.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <cstdio>
#include <optional>
#include <utility>

namespace dockerbox::init {
namespace {

constexpr std::string_view kEndOfRecords = "--";
constexpr std::string_view kUnlimited = "unlimited";

struct RlimitName {
  std::string_view name;
  int resource;
};

// Docker's ulimit names (go-units ulimitNameMapping); nothing else is accepted.
constexpr std::array<RlimitName, 15> kRlimitNames = {{
    {"core", RLIMIT_CORE},
    {"cpu", RLIMIT_CPU},
    {"data", RLIMIT_DATA},
    {"fsize", RLIMIT_FSIZE},
    {"locks", RLIMIT_LOCKS},
    {"memlock", RLIMIT_MEMLOCK},
    {"msgqueue", RLIMIT_MSGQUEUE},
    {"nice", RLIMIT_NICE},
    {"nofile", RLIMIT_NOFILE},
    {"nproc", RLIMIT_NPROC},
    {"rss", RLIMIT_RSS},
    {"rtprio", RLIMIT_RTPRIO},
    {"rttime", RLIMIT_RTTIME},
    {"sigpending", RLIMIT_SIGPENDING},
    {"stack", RLIMIT_STACK},
}};

Error bad(std::string message) { return fail(ErrorKind::BadRequest, std::move(message)); }

bool hasNul(std::string_view text) { return text.find('\0') != std::string_view::npos; }

bool isAbsolutePath(std::string_view path) {
  return !path.empty() && path.front() == '/' && !hasNul(path);
}

/// An absolute path that names what it seems to: not "/", and no empty, "." or ".."
/// component. For the paths pid 1 opens and unmounts as root, where "//" or "/x/.." would
/// silently mean the container's root.
bool isCleanAbsolutePath(std::string_view path) {
  if (!isAbsolutePath(path) || path == "/") return false;
  path.remove_prefix(1);
  for (;;) {
    auto slash = path.find('/');
    auto part = path.substr(0, slash);
    if (part.empty() || part == "." || part == "..") return false;
    if (slash == std::string_view::npos) return true;
    path.remove_prefix(slash + 1);
  }
}

/// The same without the leading '/': a path beneath a directory (an exec's FIFOs in the
/// run's directory pid 1 holds), which cannot climb out of it.
bool isCleanRelativePath(std::string_view path) {
  return !path.empty() && path.front() != '/' && isCleanAbsolutePath("/" + std::string(path));
}

std::optional<std::uint64_t> parseLimitValue(std::string_view text) {
  if (text == kUnlimited) return RLIM_INFINITY;
  if (text.empty() || text.size() > 20) return std::nullopt;
  std::uint64_t value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc{} || end != text.data() + text.size()) return std::nullopt;
  return value;
}

std::string limitValueText(std::uint64_t value) {
  return value == RLIM_INFINITY ? std::string(kUnlimited) : std::to_string(value);
}

Result<std::uint64_t> parseCaps(std::string_view text) {
  bool lowerHex = text.size() == 16 && std::all_of(text.begin(), text.end(), [](char c) {
                    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
                  });
  if (!lowerHex) return bad("init args: caps must be 16 lowercase hex digits");
  std::uint64_t caps = 0;
  std::from_chars(text.data(), text.data() + text.size(), caps, 16);
  return caps;
}

std::string capsText(std::uint64_t caps) {
  std::array<char, 17> text{};
  std::snprintf(text.data(), text.size(), "%016llx", static_cast<unsigned long long>(caps));
  return std::string(text.data(), 16);
}

Result<Bind> parseBind(std::string_view text) {
  Bind bind;
  if (text.starts_with("rw:")) {
    bind.access = BindAccess::ReadWrite;
  } else if (text.starts_with("ro:")) {
    bind.access = BindAccess::ReadOnly;
  } else {
    return bad("init args: bind must start with rw: or ro:");
  }
  text.remove_prefix(3);
  if (!isAbsolutePath(text)) return bad("init args: bind path must be absolute");
  bind.containerPath = std::string(text);
  return bind;
}

bool allDigits(std::string_view text, bool octal) {
  return !text.empty() && text.size() <= 20 && std::all_of(text.begin(), text.end(), [&](char ch) {
    return ch >= '0' && ch <= (octal ? '7' : '9');
  });
}

/// A tmpfs size or inode count: digits, then at most one of the kernel's suffixes.
bool isTmpfsAmount(std::string_view text, bool percent) {
  if (!text.empty() && (std::string_view("kKmMgG").find(text.back()) != std::string_view::npos ||
                        (percent && text.back() == '%'))) {
    text.remove_suffix(1);
  }
  return allDigits(text, false);
}

/// "<options>:<path>": the options (tmpfsOptionsText's form) cannot hold ':', the path may.
Result<Tmpfs> parseTmpfs(std::string_view text) {
  const auto colon = text.find(':');
  if (colon == std::string_view::npos) return bad("init args: tmpfs must be options:path");
  Tmpfs t;
  t.path = std::string(text.substr(colon + 1));
  if (!isCleanAbsolutePath(t.path)) return bad("init args: tmpfs path must be absolute and clean");
  std::string_view options = text.substr(0, colon);
  while (!options.empty()) {
    const auto comma = options.find(',');
    const std::string_view item = options.substr(0, comma);
    options = comma == std::string_view::npos ? std::string_view() : options.substr(comma + 1);
    const auto eq = item.find('=');
    const std::string_view name = item.substr(0, eq);
    const std::string_view value = eq == std::string_view::npos ? std::string_view() : item.substr(eq + 1);
    std::string* field = name == "size" ? &t.size : name == "mode" ? &t.mode : name == "uid" ? &t.uid
                       : name == "gid" ? &t.gid : name == "nr_inodes" ? &t.nrInodes : nullptr;
    if (field != nullptr) {
      const bool valid = name == "size"        ? isTmpfsAmount(value, true)
                         : name == "nr_inodes" ? isTmpfsAmount(value, false)
                         : name == "mode"      ? allDigits(value, true) && value.size() <= 4
                                               : allDigits(value, false);
      if (!field->empty() || !valid) {
        return bad("init args: bad tmpfs option " + std::string(item));
      }
      *field = std::string(value);
    } else if (item == "exec" && !t.exec) {
      t.exec = true;
    } else if (item == "ro" && !t.readOnly) {
      t.readOnly = true;
    } else {
      return bad("init args: bad tmpfs option " + std::string(item));
    }
  }
  return t;
}

Result<Rlimit> parseRlimit(std::string_view text) {
  auto first = text.find(':');
  auto second = first == std::string_view::npos ? first : text.find(':', first + 1);
  if (second == std::string_view::npos) return bad("init args: rlimit must be name:soft:hard");
  Rlimit limit;
  limit.name = std::string(text.substr(0, first));
  auto soft = parseLimitValue(text.substr(first + 1, second - first - 1));
  auto hard = parseLimitValue(text.substr(second + 1));
  if (rlimitResource(limit.name) < 0) return bad("init args: unknown rlimit name");
  if (!soft || !hard) return bad("init args: rlimit values must be decimal or unlimited");
  if (*soft > *hard) return bad("init args: rlimit soft value above its hard value");
  limit.soft = *soft;
  limit.hard = *hard;
  return limit;
}

Result<void> checkEnvEntry(std::string_view entry) {
  auto eq = entry.find('=');
  if (eq == std::string_view::npos || eq == 0 || hasNul(entry)) {
    return bad("init args: env entry must be KEY=VALUE");
  }
  return {};
}

/// Applies one "key=value" record; remembers the single-valued keys already set.
class RecordParser {
 public:
  explicit RecordParser(InitConfig& config) : config_(config) {}

  Result<void> apply(std::string_view key, std::string_view value) {
    if (key == "bind") return add(parseBind(value), config_.binds);
    if (key == "fill") {
      if (!isCleanAbsolutePath(value) || value == "/") return bad("init args: fill path must be absolute");
      config_.fillPaths.emplace_back(value);
      return {};
    }
    if (key == "rlimit") return add(parseRlimit(value), config_.rlimits);
    if (key == "tmpfs") return add(parseTmpfs(value), config_.tmpfs);
    if (key == "env") {
      if (auto ok = checkEnvEntry(value); !ok) return ok.error();
      config_.env.emplace_back(value);
      return {};
    }
    if (std::find(seen_.begin(), seen_.end(), key) != seen_.end()) {
      return bad("init args: repeated key " + std::string(key));
    }
    seen_.emplace_back(key);
    return applySingle(key, value);
  }

 private:
  template <class T>
  static Result<void> add(Result<T> parsed, std::vector<T>& into) {
    if (!parsed) return parsed.error();
    into.push_back(std::move(*parsed));
    return {};
  }

  template <class E, std::size_t N>
  static Result<void> pickEnum(std::string_view value,
                               const std::array<std::pair<std::string_view, E>, N>& choices,
                               E& into, std::string_view key) {
    for (const auto& [text, e] : choices) {
      if (value == text) {
        into = e;
        return {};
      }
    }
    return bad("init args: bad value for " + std::string(key));
  }

  Result<void> applySingle(std::string_view key, std::string_view value);

  InitConfig& config_;
  std::vector<std::string> seen_;
};

constexpr std::array<std::pair<std::string_view, Mode>, 2> kModes = {
    {{"run", Mode::Run}, {"exec", Mode::Exec}}};
constexpr std::array<std::pair<std::string_view, UserCheck>, 2> kUserChecks = {
    {{"any", UserCheck::Any}, {"not-root", UserCheck::NotRoot}}};
constexpr std::array<std::pair<std::string_view, Seccomp>, 2> kSeccomps = {
    {{"default", Seccomp::Default}, {"unconfined", Seccomp::Unconfined}}};
constexpr std::array<std::pair<std::string_view, RootFs>, 2> kRootFs = {
    {{"rw", RootFs::ReadWrite}, {"ro", RootFs::ReadOnly}}};
constexpr std::array<std::pair<std::string_view, RlimitRaise>, 2> kRlimitRaises = {
    {{"refuse", RlimitRaise::Refuse}, {"allow", RlimitRaise::Allow}}};
constexpr std::array<std::pair<std::string_view, Tty>, 2> kTtys = {
    {{"no", Tty::No}, {"yes", Tty::Yes}}};

template <class E, std::size_t N>
std::string_view enumText(E value, const std::array<std::pair<std::string_view, E>, N>& choices) {
  for (const auto& [text, e] : choices) {
    if (e == value) return text;
  }
  return {};  // unreachable for a valid enumerator; the encoder checks
}

Result<void> RecordParser::applySingle(std::string_view key, std::string_view value) {
  if (key == "mode") return pickEnum(value, kModes, config_.mode, key);
  if (key == "user-check") return pickEnum(value, kUserChecks, config_.userCheck, key);
  if (key == "seccomp") return pickEnum(value, kSeccomps, config_.seccomp, key);
  if (key == "rootfs") return pickEnum(value, kRootFs, config_.rootfs, key);
  if (key == "rlimit-raise") return pickEnum(value, kRlimitRaises, config_.rlimitRaise, key);
  if (key == "tty") return pickEnum(value, kTtys, config_.tty, key);
  if (key == "caps") {
    DOCKERBOX_TRY_ASSIGN(config_.capabilities, parseCaps(value));
    return {};
  }
  if (hasNul(value)) return bad("init args: NUL byte in " + std::string(key));
  if (key == "user") {
    config_.user = std::string(value);
  } else if (key == "cwd") {
    if (!value.empty() && !isAbsolutePath(value)) return bad("init args: cwd must be absolute");
    config_.workingDir = std::string(value);
  } else if (key == "hostname") {
    if (value.size() > kMaxHostnameLength) return bad("init args: hostname too long");
    config_.hostname = std::string(value);
  } else if (key == "stdin" || key == "control" || key == "stdout" || key == "stderr" || key == "unmount") {
    // Absolute for a Run, relative for an Exec: checked against the mode at the end.
    if (!isCleanAbsolutePath(value) && !(key != "unmount" && isCleanRelativePath(value))) {
      return bad("init args: " + std::string(key) + " must be a clean path, not /");
    }
    std::string& path = key == "stdin"     ? config_.stdinPath
                        : key == "control" ? config_.controlPath
                        : key == "stdout"  ? config_.stdoutPath
                        : key == "stderr"  ? config_.stderrPath
                                           : config_.unmountPath;
    path = std::string(value);
  } else if (key == "ports") {
    // Only a Run has one, so only the absolute kind; inside `unmount`: checked at the end.
    if (!isCleanAbsolutePath(value)) {
      return bad("init args: ports must be a clean absolute path, not /");
    }
    config_.portsPath = std::string(value);
  } else if (key == "timeout") {
    std::uint64_t ms = 0;
    const bool digits = !value.empty() && value.size() <= 10 &&
                        std::all_of(value.begin(), value.end(), [](char c) { return c >= '0' && c <= '9'; });
    if (digits) {
      for (char c : value) ms = ms * 10 + static_cast<std::uint64_t>(c - '0');
    }
    if (!digits || ms == 0 || ms > kMaxTimeoutMs) return bad("init args: bad value for timeout");
    config_.timeoutMs = static_cast<std::uint32_t>(ms);
  } else {
    return bad("init args: unknown key " + std::string(key));
  }
  return {};
}

Result<void> checkCommand(const std::vector<std::string>& argv) {
  if (argv.empty() || argv.front().empty()) return bad("init args: empty command");
  for (const auto& arg : argv) {
    if (hasNul(arg)) return bad("init args: NUL byte in the command");
  }
  return {};
}

/// Rules between records, which may come in any order: a Run's FIFOs are at absolute
/// paths in its mount, an Exec's beneath the directory pid 1 holds (only a Run unmounts),
/// the port channel's listener is in a Run's mount, and window sizes are only meaningful
/// for a pty.
Result<void> checkTerminalRecords(const InitConfig& config) {
  if (config.mode == Mode::Exec && !config.unmountPath.empty()) {
    return bad("init args: unmount is for mode=run only");
  }
  if (config.timeoutMs != 0 && (config.mode != Mode::Exec || config.tty == Tty::Yes)) {
    return bad("init args: timeout is for mode=exec without a tty only");
  }
  if (config.mode != Mode::Run && !config.tmpfs.empty()) return bad("init args: tmpfs is for mode=run only");
  for (const auto& fill : config.fillPaths) {
    const bool writableBind = std::any_of(config.binds.begin(), config.binds.end(), [&](const Bind& b) {
      return b.access == BindAccess::ReadWrite && b.containerPath == fill;
    });
    if (config.mode != Mode::Run || !writableBind) return bad("init args: fill names a writable bind of mode=run");
  }
  for (const std::string* path : {&config.stdinPath, &config.controlPath, &config.stdoutPath, &config.stderrPath}) {
    if (path->empty()) continue;
    if ((config.mode == Mode::Run) != isCleanAbsolutePath(*path)) {
      return bad("init args: the FIFO paths are absolute with mode=run and relative with mode=exec");
    }
  }
  if (!config.portsPath.empty()) {
    // The listener is the broker's, in the run's io directory like the FIFOs: reached
    // through that mount, which is detached before the program runs, and never left
    // somewhere the image decides. A clean path with this prefix cannot climb out.
    if (config.mode != Mode::Run) return bad("init args: ports is for mode=run only");
    if (config.unmountPath.empty() || !config.portsPath.starts_with(config.unmountPath + "/")) {
      return bad("init args: ports must lie inside the unmount directory");
    }
  }
  if (!config.controlPath.empty() && config.tty != Tty::Yes) {
    return bad("init args: control needs tty=yes");
  }
  if ((!config.stdoutPath.empty() || !config.stderrPath.empty()) && config.tty == Tty::Yes) {
    return bad("init args: stdout and stderr are the terminal with tty=yes");
  }
  return {};
}

template <class E, std::size_t N>
Result<std::string> enumRecord(std::string_view key, E value,
                               const std::array<std::pair<std::string_view, E>, N>& choices) {
  auto text = enumText(value, choices);
  if (text.empty()) return bad("init args: bad value for " + std::string(key));
  return std::string(key) + "=" + std::string(text);
}

}  // namespace

std::string tmpfsOptionsText(const Tmpfs& t) {
  std::string out;
  auto add = [&](std::string_view item) { out += (out.empty() ? "" : ",") + std::string(item); };
  if (!t.size.empty()) add("size=" + t.size);
  if (!t.mode.empty()) add("mode=" + t.mode);
  if (!t.uid.empty()) add("uid=" + t.uid);
  if (!t.gid.empty()) add("gid=" + t.gid);
  if (!t.nrInodes.empty()) add("nr_inodes=" + t.nrInodes);
  if (t.exec) add("exec");
  if (t.readOnly) add("ro");
  return out;
}

int rlimitResource(std::string_view name) {
  for (const auto& entry : kRlimitNames) {
    if (entry.name == name) return entry.resource;
  }
  return -1;
}

Result<std::vector<std::string>> encodeInitArgs(const InitConfig& config) {
  std::vector<std::string> out{std::string(kVersionMarker)};
  std::array<Result<std::string>, 6> enums = {
      enumRecord("mode", config.mode, kModes),
      enumRecord("user-check", config.userCheck, kUserChecks),
      enumRecord("seccomp", config.seccomp, kSeccomps),
      enumRecord("rootfs", config.rootfs, kRootFs),
      enumRecord("rlimit-raise", config.rlimitRaise, kRlimitRaises),
      enumRecord("tty", config.tty, kTtys)};
  for (auto& record : enums) {
    if (!record) return record.error();
    out.push_back(std::move(*record));
  }
  out.push_back("user=" + config.user);
  out.push_back("cwd=" + config.workingDir);
  out.push_back("hostname=" + config.hostname);
  out.push_back("caps=" + capsText(config.capabilities));
  for (const auto& bind : config.binds) {
    out.push_back((bind.access == BindAccess::ReadWrite ? "bind=rw:" : "bind=ro:") +
                  bind.containerPath);
  }
  for (const auto& fill : config.fillPaths) out.push_back("fill=" + fill);
  for (const auto& t : config.tmpfs) out.push_back("tmpfs=" + tmpfsOptionsText(t) + ":" + t.path);
  for (const auto& limit : config.rlimits) {
    out.push_back("rlimit=" + limit.name + ":" + limitValueText(limit.soft) + ":" +
                  limitValueText(limit.hard));
  }
  for (const auto& entry : config.env) out.push_back("env=" + entry);
  // Optional paths: absent when empty (the parser refuses an empty one).
  if (!config.stdinPath.empty()) out.push_back("stdin=" + config.stdinPath);
  if (!config.controlPath.empty()) out.push_back("control=" + config.controlPath);
  if (!config.stdoutPath.empty()) out.push_back("stdout=" + config.stdoutPath);
  if (!config.stderrPath.empty()) out.push_back("stderr=" + config.stderrPath);
  if (!config.unmountPath.empty()) out.push_back("unmount=" + config.unmountPath);
  if (!config.portsPath.empty()) out.push_back("ports=" + config.portsPath);
  if (config.timeoutMs != 0) out.push_back("timeout=" + std::to_string(config.timeoutMs));
  out.emplace_back(kEndOfRecords);
  out.insert(out.end(), config.argv.begin(), config.argv.end());

  // The encoder accepts exactly what the parser accepts: parse the result back.
  std::vector<std::string_view> views(out.begin(), out.end());
  if (auto parsed = parseInitArgs(views); !parsed) return parsed.error();
  return out;
}

Result<InitConfig> parseInitArgs(std::span<const std::string_view> args) {
  if (args.size() > kMaxArgs) return bad("init args: too many arguments");
  for (auto arg : args) {
    if (arg.size() > kMaxArgLength) return bad("init args: argument too long");
  }
  if (args.empty() || args.front() != kVersionMarker) {
    return bad("init args: missing version marker " + std::string(kVersionMarker));
  }
  InitConfig config;
  config.capabilities = kDockerDefaultCaps;
  RecordParser records(config);
  std::size_t i = 1;
  for (; i < args.size() && args[i] != kEndOfRecords; ++i) {
    auto eq = args[i].find('=');
    if (eq == std::string_view::npos) return bad("init args: record without '='");
    if (auto ok = records.apply(args[i].substr(0, eq), args[i].substr(eq + 1)); !ok) {
      return ok.error();
    }
  }
  if (i == args.size()) return bad("init args: missing \"--\" before the command");
  if (auto ok = checkTerminalRecords(config); !ok) return ok.error();
  for (++i; i < args.size(); ++i) config.argv.emplace_back(args[i]);
  if (auto ok = checkCommand(config.argv); !ok) return ok.error();
  return config;
}

}  // namespace dockerbox::init
