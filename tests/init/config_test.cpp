#include "init/config.hpp"

#include <gtest/gtest.h>

#include <sys/resource.h>

#include <algorithm>
#include <string>
#include <string_view>
#include <vector>

namespace dockerbox::init {
namespace {

Result<InitConfig> parse(const std::vector<std::string>& args) {
  std::vector<std::string_view> views(args.begin(), args.end());
  return parseInitArgs(views);
}

InitConfig fullConfig() {
  InitConfig c;
  c.mode = Mode::Exec;
  c.argv = {"/bin/sh", "-c", "echo \"a b\"", "--", ""};
  c.env = {"PATH=/bin", "EMPTY=", "EQ=a=b"};
  c.user = "alice:staff";
  c.userCheck = UserCheck::NotRoot;
  c.workingDir = "/work dir";
  c.hostname = "web-1";
  c.capabilities = 0x1ULL;
  c.seccomp = Seccomp::Unconfined;
  c.rootfs = RootFs::ReadOnly;
  c.binds = {{BindAccess::ReadWrite, "/data"}, {BindAccess::ReadOnly, "/etc/x:y"}};
  c.rlimits = {{"nofile", 1024, 4096}, {"core", 0, RLIM_INFINITY}};
  c.rlimitRaise = RlimitRaise::Allow;
  return c;
}

TEST(InitConfig, RoundTripsEveryField) {
  auto encoded = encodeInitArgs(fullConfig());
  ASSERT_TRUE(encoded) << encoded.error().message;
  EXPECT_EQ(encoded->front(), kVersionMarker);
  auto parsed = parse(*encoded);
  ASSERT_TRUE(parsed) << parsed.error().message;
  const auto want = fullConfig();
  EXPECT_EQ(parsed->mode, want.mode);
  EXPECT_EQ(parsed->argv, want.argv);
  EXPECT_EQ(parsed->env, want.env);
  EXPECT_EQ(parsed->user, want.user);
  EXPECT_EQ(parsed->userCheck, want.userCheck);
  EXPECT_EQ(parsed->workingDir, want.workingDir);
  EXPECT_EQ(parsed->hostname, want.hostname);
  EXPECT_EQ(parsed->capabilities, want.capabilities);
  EXPECT_EQ(parsed->seccomp, want.seccomp);
  EXPECT_EQ(parsed->rootfs, want.rootfs);
  EXPECT_EQ(parsed->rlimitRaise, want.rlimitRaise);
  ASSERT_EQ(parsed->binds.size(), 2U);
  EXPECT_EQ(parsed->binds[1].access, BindAccess::ReadOnly);
  EXPECT_EQ(parsed->binds[1].containerPath, "/etc/x:y");
  ASSERT_EQ(parsed->rlimits.size(), 2U);
  EXPECT_EQ(parsed->rlimits[1].hard, RLIM_INFINITY);
  EXPECT_EQ(parsed->rlimits[0].soft, 1024U);
}

TEST(InitConfig, VolumesToFillRoundTrip) {
  InitConfig c;
  c.argv = {"sh"};
  c.binds = {{BindAccess::ReadWrite, "/data"}, {BindAccess::ReadWrite, "/var/lib/db"}};
  c.fillPaths = {"/data", "/var/lib/db"};
  auto encoded = encodeInitArgs(c);
  ASSERT_TRUE(encoded) << encoded.error().message;
  auto parsed = parse(*encoded);
  ASSERT_TRUE(parsed) << parsed.error().message;
  EXPECT_EQ(parsed->fillPaths, c.fillPaths);
}

TEST(InitConfig, TmpfsRecordsRoundTrip) {
  InitConfig c;
  c.argv = {"sh"};
  Tmpfs a;
  a.path = "/scratch:x";  // the path is everything after the first ':'
  a.size = "64m";
  a.mode = "1777";
  a.uid = "1000";
  a.gid = "1000";
  a.nrInodes = "10k";
  a.exec = true;
  a.readOnly = true;
  Tmpfs b;
  b.path = "/run";
  b.size = "50%";
  c.tmpfs = {a, b};
  auto encoded = encodeInitArgs(c);
  ASSERT_TRUE(encoded) << encoded.error().message;
  EXPECT_NE(std::find(encoded->begin(), encoded->end(), "tmpfs=size=64m,mode=1777,uid=1000,gid=1000,nr_inodes=10k,exec,ro:/scratch:x"),
            encoded->end());
  auto parsed = parse(*encoded);
  ASSERT_TRUE(parsed) << parsed.error().message;
  EXPECT_EQ(parsed->tmpfs, c.tmpfs);
}

InitConfig terminalConfig() {
  InitConfig c;
  c.argv = {"sh"};
  c.tty = Tty::Yes;
  c.stdinPath = "/.dockerbox-io/stdin";
  c.controlPath = "/.dockerbox-io/control";
  c.unmountPath = "/.dockerbox-io";
  return c;
}

TEST(InitConfig, RoundTripsTheTerminalRecords) {
  auto encoded = encodeInitArgs(terminalConfig());
  ASSERT_TRUE(encoded) << encoded.error().message;
  for (const char* record : {"tty=yes", "stdin=/.dockerbox-io/stdin",
                             "control=/.dockerbox-io/control", "unmount=/.dockerbox-io"}) {
    EXPECT_NE(std::find(encoded->begin(), encoded->end(), record), encoded->end()) << record;
  }
  auto parsed = parse(*encoded);
  ASSERT_TRUE(parsed) << parsed.error().message;
  const auto want = terminalConfig();
  EXPECT_EQ(parsed->tty, Tty::Yes);
  EXPECT_EQ(parsed->stdinPath, want.stdinPath);
  EXPECT_EQ(parsed->controlPath, want.controlPath);
  EXPECT_EQ(parsed->unmountPath, want.unmountPath);
}

TEST(InitConfig, StdinWithoutATtyRoundTrips) {
  InitConfig c;
  c.argv = {"cat"};
  c.stdinPath = "/.dockerbox-io/stdin";
  c.stdoutPath = "/.dockerbox-io/stdout";
  c.stderrPath = "/.dockerbox-io/stderr";
  c.unmountPath = "/.dockerbox-io";
  auto encoded = encodeInitArgs(c);
  ASSERT_TRUE(encoded) << encoded.error().message;
  auto parsed = parse(*encoded);
  ASSERT_TRUE(parsed) << parsed.error().message;
  EXPECT_EQ(parsed->tty, Tty::No);
  EXPECT_EQ(parsed->stdinPath, c.stdinPath);
  EXPECT_EQ(parsed->stdoutPath, c.stdoutPath);
  EXPECT_EQ(parsed->stderrPath, c.stderrPath);
  EXPECT_EQ(parsed->controlPath, "");
  EXPECT_EQ(parsed->unmountPath, c.unmountPath);
}

TEST(InitConfig, ThePortChannelRoundTripsForARunInsideItsMount) {
  InitConfig c;
  c.argv = {"sh"};
  c.unmountPath = "/.dockerbox-io";
  c.portsPath = "/.dockerbox-io/ports";
  auto encoded = encodeInitArgs(c);
  ASSERT_TRUE(encoded) << encoded.error().message;
  EXPECT_NE(std::find(encoded->begin(), encoded->end(), "ports=/.dockerbox-io/ports"),
            encoded->end());
  auto parsed = parse(*encoded);
  ASSERT_TRUE(parsed) << parsed.error().message;
  EXPECT_EQ(parsed->portsPath, c.portsPath);
  EXPECT_EQ(parsed->unmountPath, c.unmountPath);

  // Deeper inside the mount is inside it too; with a terminal as without.
  c.portsPath = "/.dockerbox-io/run/ports";
  c.tty = Tty::Yes;
  auto deeper = encodeInitArgs(c);
  ASSERT_TRUE(deeper) << deeper.error().message;
  EXPECT_EQ(parse(*deeper)->portsPath, "/.dockerbox-io/run/ports");

  // Records in any order; absent by default.
  const std::string m(kVersionMarker);
  auto first = parse({m, "ports=/io/p", "mode=run", "unmount=/io", "--", "sh"});
  ASSERT_TRUE(first) << first.error().message;
  EXPECT_EQ(first->portsPath, "/io/p");
  auto none = parse({m, "mode=run", "unmount=/io", "--", "sh"});
  ASSERT_TRUE(none);
  EXPECT_EQ(none->portsPath, "");
  c.portsPath.clear();
  auto encodedWithout = encodeInitArgs(c);
  ASSERT_TRUE(encodedWithout);
  for (const auto& record : *encodedWithout) EXPECT_FALSE(record.starts_with("ports=")) << record;
}

TEST(InitConfig, ThePortChannelIsACleanPathInsideTheRunsMountOnly) {
  InitConfig run;
  run.argv = {"sh"};
  run.unmountPath = "/.dockerbox-io";
  for (auto change : std::vector<void (*)(InitConfig&)>{
           [](InitConfig& x) { x.portsPath = "ports"; },                     // relative
           [](InitConfig& x) { x.portsPath = "/ports"; },                    // outside the mount
           [](InitConfig& x) { x.portsPath = "/.dockerbox-iox/ports"; },     // a sibling, not inside
           [](InitConfig& x) { x.portsPath = "/.dockerbox-io"; },            // the mount itself
           [](InitConfig& x) { x.portsPath = "/.dockerbox-io/../ports"; },   // climbs out
           [](InitConfig& x) { x.portsPath = "/.dockerbox-io//ports"; },
           [](InitConfig& x) { x.portsPath = "/.dockerbox-io/./ports"; },
           [](InitConfig& x) { x.portsPath = "/.dockerbox-io/ports/"; },
           [](InitConfig& x) { x.portsPath = std::string("/.dockerbox-io/p\0s", 18); },
           [](InitConfig& x) { x.portsPath = "/.dockerbox-io/ports"; x.unmountPath.clear(); },
           [](InitConfig& x) {  // only a Run has published ports
             x.portsPath = "/.dockerbox-io/ports";
             x.mode = Mode::Exec;
             x.unmountPath.clear();
           }}) {
    InitConfig c = run;
    change(c);
    EXPECT_FALSE(encodeInitArgs(c)) << c.portsPath;
  }
}

TEST(InitConfig, StderrIsNeverATerminals) {
  InitConfig c = terminalConfig();
  c.stderrPath = "/.dockerbox-io/stderr";
  EXPECT_FALSE(encodeInitArgs(c));  // with tty=yes stderr is the terminal
  c.stderrPath.clear();
  c.stdoutPath = "/.dockerbox-io/stdout";
  EXPECT_FALSE(encodeInitArgs(c));
}

TEST(InitConfig, TerminalRecordsMayComeInAnyOrder) {
  const std::string m(kVersionMarker);
  auto controlFirst = parse({m, "control=/io/control", "tty=yes", "mode=run", "--", "sh"});
  ASSERT_TRUE(controlFirst) << controlFirst.error().message;
  EXPECT_EQ(controlFirst->controlPath, "/io/control");
  // The paths' kind is checked against the mode on the whole list, whatever the order.
  EXPECT_FALSE(parse({m, "stdin=/io/stdin", "mode=exec", "--", "sh"}));
  EXPECT_FALSE(parse({m, "stdin=x/stdin", "mode=run", "--", "sh"}));
  EXPECT_FALSE(parse({m, "stdin=x/stdin", "--", "sh"}));  // run is the default
  auto exec = parse({m, "stdin=x/stdin", "tty=yes", "control=x/control", "mode=exec", "--", "sh"});
  ASSERT_TRUE(exec) << exec.error().message;
  EXPECT_EQ(exec->stdinPath, "x/stdin");
}

TEST(InitConfig, ExecFifosAreRelativeAndNeverUnmounted) {
  InitConfig c;
  c.mode = Mode::Exec;
  c.argv = {"sh"};
  auto encoded = encodeInitArgs(c);
  ASSERT_TRUE(encoded) << encoded.error().message;
  EXPECT_NE(std::find(encoded->begin(), encoded->end(), "tty=no"), encoded->end());
  for (const auto& record : *encoded) {
    EXPECT_FALSE(record.starts_with("stdin=") || record.starts_with("control=") ||
                 record.starts_with("unmount="))
        << record;
  }
  EXPECT_TRUE(parse(*encoded));

  InitConfig withTerminal = c;
  withTerminal.tty = Tty::Yes;
  withTerminal.stdinPath = "0123abcd/stdin";
  withTerminal.controlPath = "0123abcd/control";
  auto terminal = encodeInitArgs(withTerminal);
  ASSERT_TRUE(terminal) << terminal.error().message;
  auto parsed = parse(*terminal);
  ASSERT_TRUE(parsed) << parsed.error().message;
  EXPECT_EQ(parsed->tty, Tty::Yes);
  EXPECT_EQ(parsed->controlPath, "0123abcd/control");

  InitConfig piped = c;
  piped.stdinPath = "e/stdin";
  piped.stdoutPath = "e/stdout";
  piped.stderrPath = "e/stderr";
  EXPECT_TRUE(encodeInitArgs(piped));

  for (auto change : std::vector<void (*)(InitConfig&)>{
           [](InitConfig& x) { x.stdinPath = "/io/stdin"; },      // a Run's kind of path
           [](InitConfig& x) { x.stdoutPath = "../stdout"; },     // climbs out
           [](InitConfig& x) { x.stdinPath = "e/./stdin"; },
           [](InitConfig& x) { x.stderrPath = "e//stderr"; },
           [](InitConfig& x) { x.unmountPath = "/io"; },          // only a Run unmounts
           [](InitConfig& x) { x.unmountPath = "io"; },
           [](InitConfig& x) { x.controlPath = "e/control"; }}) {  // control needs tty=yes
    InitConfig exec = c;
    change(exec);
    EXPECT_FALSE(encodeInitArgs(exec));
  }
}

TEST(InitConfig, AnExecTimeoutRoundTripsForAnExecWithoutATtyOnly) {
  InitConfig c;
  c.mode = Mode::Exec;
  c.argv = {"/bin/sh", "-c", "exit 0"};
  c.timeoutMs = 30000;
  auto encoded = encodeInitArgs(c);
  ASSERT_TRUE(encoded) << encoded.error().message;
  EXPECT_NE(std::find(encoded->begin(), encoded->end(), "timeout=30000"), encoded->end());
  auto parsed = parse(*encoded);
  ASSERT_TRUE(parsed) << parsed.error().message;
  EXPECT_EQ(parsed->timeoutMs, 30000U);
  InitConfig run = c;
  run.mode = Mode::Run;
  EXPECT_FALSE(encodeInitArgs(run));
  InitConfig terminal = c;
  terminal.tty = Tty::Yes;
  EXPECT_FALSE(encodeInitArgs(terminal));
  for (const char* bad : {"timeout=0", "timeout=", "timeout=-5", "timeout=1e3", "timeout=2147483648",
                          "timeout=99999999999", "timeout= 5"}) {
    EXPECT_FALSE(parse({"dockerbox-init/1", "mode=exec", bad, "--", "sh"})) << bad;
  }
  EXPECT_FALSE(parse({"dockerbox-init/1", "mode=exec", "timeout=5", "timeout=6", "--", "sh"}));
}

TEST(InitConfig, DefaultsRoundTripAndMatchTheStruct) {
  InitConfig c;
  c.argv = {"sh"};
  auto encoded = encodeInitArgs(c);
  ASSERT_TRUE(encoded);
  auto parsed = parse(*encoded);
  ASSERT_TRUE(parsed);
  EXPECT_EQ(parsed->mode, Mode::Run);
  EXPECT_EQ(parsed->capabilities, kDockerDefaultCaps);
  EXPECT_EQ(parsed->seccomp, Seccomp::Default);
  EXPECT_EQ(parsed->rlimitRaise, RlimitRaise::Refuse);
  EXPECT_EQ(parsed->tty, Tty::No);
  EXPECT_EQ(parsed->stdinPath, "");
  EXPECT_EQ(parsed->controlPath, "");
  EXPECT_EQ(parsed->unmountPath, "");

  auto minimal = parse({"dockerbox-init/1", "--", "sh"});
  ASSERT_TRUE(minimal);
  EXPECT_EQ(minimal->capabilities, kDockerDefaultCaps);
  EXPECT_EQ(minimal->userCheck, UserCheck::Any);
}

TEST(InitConfig, EncodesCapsAsSixteenLowercaseHexDigits) {
  InitConfig c;
  c.argv = {"sh"};
  auto encoded = encodeInitArgs(c);
  ASSERT_TRUE(encoded);
  EXPECT_NE(std::find(encoded->begin(), encoded->end(), "caps=00000000a80425fb"), encoded->end());
}

struct Refusal {
  const char* name;
  std::vector<std::string> args;
};

TEST(InitConfig, RefusesEveryMalformedList) {
  const std::string m(kVersionMarker);
  const std::vector<Refusal> cases = {
      {"empty", {}},
      {"no marker", {"--", "sh"}},
      {"wrong marker", {"dockerbox-init/2", "--", "sh"}},
      {"no separator", {m, "mode=run", "sh"}},
      {"no command", {m, "--"}},
      {"empty argv0", {m, "--", ""}},
      {"record without =", {m, "mode", "--", "sh"}},
      {"unknown key", {m, "privileged=1", "--", "sh"}},
      {"repeated mode", {m, "mode=run", "mode=exec", "--", "sh"}},
      {"repeated user", {m, "user=a", "user=b", "--", "sh"}},
      {"repeated caps", {m, "caps=0000000000000000", "caps=0000000000000000", "--", "sh"}},
      {"bad mode", {m, "mode=Run", "--", "sh"}},
      {"bad user-check", {m, "user-check=root", "--", "sh"}},
      {"bad seccomp", {m, "seccomp=", "--", "sh"}},
      {"bad rootfs", {m, "rootfs=readonly", "--", "sh"}},
      {"bad rlimit-raise", {m, "rlimit-raise=yes", "--", "sh"}},
      {"caps upper case", {m, "caps=00000000A80425FB", "--", "sh"}},
      {"caps short", {m, "caps=a80425fb", "--", "sh"}},
      {"caps long", {m, "caps=000000000a80425fb", "--", "sh"}},
      {"caps 0x", {m, "caps=0x000000a80425fb", "--", "sh"}},
      {"bind relative", {m, "bind=rw:data", "--", "sh"}},
      {"bind empty", {m, "bind=ro:", "--", "sh"}},
      {"bind bad access", {m, "bind=rx:/data", "--", "sh"}},
      {"bind no access", {m, "bind=/data", "--", "sh"}},
      {"fill relative", {m, "mode=run", "bind=rw:/data", "fill=data", "--", "sh"}},
      {"tmpfs without path", {m, "mode=run", "tmpfs=size=1m", "--", "sh"}},
      {"tmpfs relative", {m, "mode=run", "tmpfs=:scratch", "--", "sh"}},
      {"tmpfs root", {m, "mode=run", "tmpfs=:/", "--", "sh"}},
      {"tmpfs climbing", {m, "mode=run", "tmpfs=:/a/../proc", "--", "sh"}},
      {"tmpfs suid", {m, "mode=run", "tmpfs=suid:/t", "--", "sh"}},
      {"tmpfs dev", {m, "mode=run", "tmpfs=dev:/t", "--", "sh"}},
      {"tmpfs bad size", {m, "mode=run", "tmpfs=size=1x:/t", "--", "sh"}},
      {"tmpfs mode not octal", {m, "mode=run", "tmpfs=mode=1999:/t", "--", "sh"}},
      {"tmpfs option twice", {m, "mode=run", "tmpfs=size=1,size=2:/t", "--", "sh"}},
      {"tmpfs smuggled option", {m, "mode=run", "tmpfs=size=1,huge=always:/t", "--", "sh"}},
      {"tmpfs in an exec", {m, "mode=exec", "tmpfs=:/t", "--", "sh"}},
      {"fill root", {m, "mode=run", "bind=rw:/", "fill=/", "--", "sh"}},
      {"fill without its bind", {m, "mode=run", "fill=/data", "--", "sh"}},
      {"fill of a read-only bind", {m, "mode=run", "bind=ro:/data", "fill=/data", "--", "sh"}},
      {"fill in an exec", {m, "mode=exec", "bind=rw:/data", "fill=/data", "--", "sh"}},
      {"rlimit unknown", {m, "rlimit=as:1:2", "--", "sh"}},
      {"rlimit soft above hard", {m, "rlimit=nofile:10:5", "--", "sh"}},
      {"rlimit unlimited soft", {m, "rlimit=nofile:unlimited:5", "--", "sh"}},
      {"rlimit negative", {m, "rlimit=nofile:-1:5", "--", "sh"}},
      {"rlimit plus", {m, "rlimit=nofile:+1:5", "--", "sh"}},
      {"rlimit two fields", {m, "rlimit=nofile:1", "--", "sh"}},
      {"rlimit four fields", {m, "rlimit=nofile:1:2:3", "--", "sh"}},
      {"rlimit overflow", {m, "rlimit=nofile:1:18446744073709551616", "--", "sh"}},
      {"env without =", {m, "env=PATH", "--", "sh"}},
      {"env empty key", {m, "env==x", "--", "sh"}},
      {"cwd relative", {m, "cwd=work", "--", "sh"}},
      {"hostname too long", {m, "hostname=" + std::string(65, 'h'), "--", "sh"}},
      {"NUL in user", {m, std::string("user=a\0b", 8), "--", "sh"}},
      {"NUL in command", {m, "--", std::string("s\0h", 3)}},
      {"NUL in bind", {m, std::string("bind=rw:/a\0b", 12), "--", "sh"}},
      {"bad tty", {m, "tty=true", "--", "sh"}},
      {"empty tty", {m, "tty=", "--", "sh"}},
      {"repeated tty", {m, "tty=yes", "tty=yes", "--", "sh"}},
      {"repeated stdin", {m, "stdin=/io/a", "stdin=/io/b", "--", "sh"}},
      {"repeated unmount", {m, "unmount=/io", "unmount=/io", "--", "sh"}},
      {"stdin empty", {m, "stdin=", "--", "sh"}},
      {"stdin relative", {m, "stdin=io/stdin", "--", "sh"}},
      {"stdin root", {m, "stdin=/", "--", "sh"}},
      {"stdin dotdot", {m, "stdin=/io/../etc/passwd", "--", "sh"}},
      {"stdin dot", {m, "stdin=/io/./stdin", "--", "sh"}},
      {"stdin trailing slash", {m, "stdin=/io/stdin/", "--", "sh"}},
      {"NUL in stdin", {m, std::string("stdin=/io/a\0b", 14), "--", "sh"}},
      {"unmount root", {m, "unmount=/", "--", "sh"}},
      {"unmount double slash", {m, "unmount=//", "--", "sh"}},
      {"unmount empty component", {m, "unmount=/io//x", "--", "sh"}},
      {"unmount dotdot", {m, "unmount=/..", "--", "sh"}},
      {"control relative", {m, "tty=yes", "control=control", "--", "sh"}},
      {"control without tty", {m, "control=/io/control", "--", "sh"}},
      {"control with tty=no", {m, "tty=no", "control=/io/control", "--", "sh"}},
      {"exec with an absolute stdin", {m, "mode=exec", "stdin=/io/stdin", "--", "sh"}},
      {"exec with an absolute control", {m, "mode=exec", "tty=yes", "control=/io/c", "--", "sh"}},
      {"exec stdin climbing", {m, "mode=exec", "stdin=x/../stdin", "--", "sh"}},
      {"exec with unmount", {m, "mode=exec", "unmount=/io", "--", "sh"}},
      {"exec with a relative unmount", {m, "mode=exec", "unmount=io", "--", "sh"}},
      {"ports without unmount", {m, "ports=/io/ports", "--", "sh"}},
      {"ports empty", {m, "unmount=/io", "ports=", "--", "sh"}},
      {"ports root", {m, "unmount=/io", "ports=/", "--", "sh"}},
      {"ports relative", {m, "unmount=/io", "ports=io/ports", "--", "sh"}},
      {"ports outside unmount", {m, "unmount=/io", "ports=/tmp/ports", "--", "sh"}},
      {"ports beside unmount", {m, "unmount=/io", "ports=/iox/ports", "--", "sh"}},
      {"ports is unmount", {m, "unmount=/io", "ports=/io", "--", "sh"}},
      {"ports dotdot", {m, "unmount=/io", "ports=/io/../ports", "--", "sh"}},
      {"ports dot", {m, "unmount=/io", "ports=/io/./ports", "--", "sh"}},
      {"ports trailing slash", {m, "unmount=/io", "ports=/io/ports/", "--", "sh"}},
      {"repeated ports", {m, "unmount=/io", "ports=/io/a", "ports=/io/b", "--", "sh"}},
      {"NUL in ports", {m, "unmount=/io", std::string("ports=/io/a\0b", 13), "--", "sh"}},
      {"exec with ports", {m, "mode=exec", "ports=/io/ports", "--", "sh"}},
      {"exec with relative ports", {m, "mode=exec", "ports=x/ports", "--", "sh"}},
  };
  for (const auto& c : cases) {
    auto parsed = parse(c.args);
    EXPECT_FALSE(parsed) << c.name;
    if (!parsed) {
      EXPECT_EQ(parsed.error().kind, ErrorKind::BadRequest) << c.name;
    }
  }
}

TEST(InitConfig, KeepsTheCommandVerbatimAfterTheSeparator) {
  auto parsed =
      parse({std::string(kVersionMarker), "--", "sh", "--", "mode=exec", "dockerbox-init/1"});
  ASSERT_TRUE(parsed);
  EXPECT_EQ(parsed->argv, (std::vector<std::string>{"sh", "--", "mode=exec", "dockerbox-init/1"}));
  EXPECT_EQ(parsed->mode, Mode::Run);
}

TEST(InitConfig, EncoderRefusesWhatTheParserWould) {
  InitConfig noCommand;
  EXPECT_FALSE(encodeInitArgs(noCommand));

  InitConfig relative;
  relative.argv = {"sh"};
  relative.binds = {{BindAccess::ReadOnly, "data"}};
  EXPECT_FALSE(encodeInitArgs(relative));

  InitConfig unknownLimit;
  unknownLimit.argv = {"sh"};
  unknownLimit.rlimits = {{"fds", 1, 1}};
  EXPECT_FALSE(encodeInitArgs(unknownLimit));

  InitConfig badEnv;
  badEnv.argv = {"sh"};
  badEnv.env = {"NOEQUALS"};
  EXPECT_FALSE(encodeInitArgs(badEnv));

  InitConfig nul;
  nul.argv = {"sh"};
  nul.user = std::string("a\0b", 3);
  EXPECT_FALSE(encodeInitArgs(nul));

  InitConfig badEnum;
  badEnum.argv = {"sh"};
  badEnum.mode = static_cast<Mode>(7);
  EXPECT_FALSE(encodeInitArgs(badEnum));
}

TEST(InitConfig, RlimitNamesAreDockers) {
  EXPECT_EQ(rlimitResource("nofile"), RLIMIT_NOFILE);
  EXPECT_EQ(rlimitResource("nproc"), RLIMIT_NPROC);
  EXPECT_EQ(rlimitResource("core"), RLIMIT_CORE);
  EXPECT_EQ(rlimitResource("stack"), RLIMIT_STACK);
  EXPECT_EQ(rlimitResource("rttime"), RLIMIT_RTTIME);
  EXPECT_EQ(rlimitResource("NOFILE"), -1);
  EXPECT_EQ(rlimitResource("RLIMIT_NOFILE"), -1);
  EXPECT_EQ(rlimitResource("as"), -1);
  EXPECT_EQ(rlimitResource(""), -1);
}

}  // namespace
}  // namespace dockerbox::init
