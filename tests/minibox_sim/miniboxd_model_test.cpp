// minibox-sim --process-model miniboxd against minibox-protocol.md §11: a container and an exec
// process must hold exactly what upstream's native adapter gives them (host root, the full
// capability set, no seccomp, the host devtmpfs, bind mounts without nosuid, exec through a host
// nsenter looked up in the request's PATH), because dockerbox's confinement tests are only
// meaningful against that. Runs as root with /bin/busybox (Debian's busybox-static); skipped
// otherwise. Each test builds its own image root in a temp dir.
#include "tests/minibox_sim/sim_client.hpp"

#include <gtest/gtest.h>

#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>

namespace dockerbox::sim::test {
namespace {

namespace fs = std::filesystem;

constexpr const char* kBusybox = "/bin/busybox";

std::string readFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

/// The line of `text` that contains `needle` ("" when none).
std::string lineWith(const std::string& text, const std::string& needle) {
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    if (line.find(needle) != std::string::npos) return line;
  }
  return {};
}

/// The same image root as tests/e2e/rootfs.py's build_busybox_rootfs: /bin/busybox, one symlink per
/// applet, /etc/passwd and /etc/group, empty /proc /sys /dev /tmp.
void buildBusyboxRootfs(const fs::path& root) {
  for (const char* d : {"bin", "etc", "proc", "sys", "dev", "tmp", "root", "home/app"})
    fs::create_directories(root / d);
  fs::permissions(root / "tmp", fs::perms::all | fs::perms::sticky_bit);
  fs::copy_file(fs::canonical(kBusybox), root / "bin/busybox");
  std::unique_ptr<FILE, int (*)(FILE*)> list(::popen("/bin/busybox --list", "r"), ::pclose);
  ASSERT_TRUE(list);
  std::array<char, 256> name{};
  while (std::fgets(name.data(), name.size(), list.get()) != nullptr) {
    std::string applet(name.data());
    while (!applet.empty() && applet.back() == '\n') applet.pop_back();
    if (applet.empty() || applet == "busybox" || applet.find('/') != std::string::npos) continue;
    fs::create_symlink("busybox", root / "bin" / applet);
  }
  std::ofstream(root / "etc/passwd") << "root:x:0:0:root:/root:/bin/sh\n"
                                        "nobody:x:65534:65534::/nonexistent:/bin/false\n"
                                        "app:x:1000:1000:app:/home/app:/bin/sh\n";
  std::ofstream(root / "etc/group") << "root:x:0:\napp:x:1000:\nnogroup:x:65534:\n";
}

class MiniboxdModelTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::geteuid() != 0) GTEST_SKIP() << "the miniboxd process model needs root";
    if (::access(kBusybox, X_OK) != 0) GTEST_SKIP() << "needs " << kBusybox << " (busybox-static)";
    char tmpl[] = "/tmp/mbsim-img-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    ASSERT_NO_FATAL_FAILURE(buildBusyboxRootfs(dir_ / "images" / "alpine"));
    sim_ = std::make_unique<SimProcess>(
        std::vector<std::string>{"--process-model", "miniboxd", "--rootfs-dir",
                                 (dir_ / "images").string(), "--allow-bind-mounts"});
    ASSERT_TRUE(sim_->ready());
  }
  void TearDown() override {
    sim_.reset();  // stops the simulator first: its overlays and binds go with
                   // it
    std::error_code ec;
    if (!dir_.empty()) fs::remove_all(dir_, ec);
  }

  /// Starts `/bin/sleep 300` detached; returns its id and (host) pid.
  std::pair<std::string, std::int64_t> startSleeper(Client& c) {
    std::string id = startDetached(c, {"/bin/sleep", "300"});
    json::object info = findContainer(c, id);
    return {id, info["pid"].is_int64() ? info["pid"].as_int64() : -1};
  }

  static json::object execRequest(const std::string& id, json::array cmd, json::array env) {
    return {{"type", "Exec"},        {"container_id", id},     {"cmd", std::move(cmd)},
            {"env", std::move(env)}, {"working_dir", nullptr}, {"tty", false}};
  }

  fs::path dir_;
  std::unique_ptr<SimProcess> sim_;
};

TEST_F(MiniboxdModelTest, RunIsHostRootWithFullCapabilitiesInFiveNamespaces) {
  Client c(sim_->socketPath());
  RunOutcome run = runEphemeral(c, {"/bin/sh", "-c",
                                    "cat /proc/self/status; cat /proc/self/mountinfo; ls "
                                    "/dev; hostname; echo pid=$$; "
                                    "for n in cgroup ipc mnt net pid user uts; do readlink "
                                    "/proc/self/ns/$n; done"});
  ASSERT_EQ(run.exitCode, 0) << run.output;
  const std::string& out = run.output;
  const std::string host = readFile("/proc/self/status");
  // No drop at all: the container holds whatever the root daemon holds.
  EXPECT_EQ(lineWith(out, "CapEff:"), lineWith(host, "CapEff:")) << out;
  EXPECT_EQ(lineWith(out, "CapBnd:"), lineWith(host, "CapBnd:"));
  EXPECT_NE(lineWith(out, "Uid:\t0\t0\t0\t0"), "");
  EXPECT_NE(lineWith(out, "Gid:\t0\t0\t0\t0"), "");
  EXPECT_NE(lineWith(out, "NoNewPrivs:\t0"), "");
  EXPECT_NE(lineWith(out, "Seccomp:\t0"), "");

  std::string root = lineWith(out, " / / ");
  EXPECT_NE(root.find("nosuid,nodev"), std::string::npos) << root;
  EXPECT_NE(root.find("- overlay "), std::string::npos) << root;
  std::string proc = lineWith(out, " /proc ");
  EXPECT_NE(proc.find(" /proc rw,"), std::string::npos) << proc;
  EXPECT_NE(proc.find("- proc "), std::string::npos) << proc;
  EXPECT_NE(lineWith(out, " /sys ").find(" /sys ro,"), std::string::npos);
  std::string dev = lineWith(out, " /dev ");
  EXPECT_NE(dev.find("- devtmpfs "), std::string::npos) << dev;
  EXPECT_EQ(dev.find("nodev"), std::string::npos) << dev;  // device nodes work
  EXPECT_NE(lineWith(out, "null"), "");
  for (const auto& entry : fs::directory_iterator("/dev")) {  // the host's own disks
    if (entry.is_block_file()) {
      EXPECT_NE(lineWith(out, entry.path().filename().string()), "") << entry.path();
      break;
    }
  }
  EXPECT_NE(lineWith(out, "minibox-" + run.id.substr(0, 8)), "");
  EXPECT_NE(lineWith(out, "pid=1"), "");
  // New pid, mount, UTS, IPC and network namespaces; the host's user and cgroup ones.
  for (const char* ns : {"ipc", "mnt", "net", "pid", "uts"}) {
    std::string mine = fs::read_symlink(std::string("/proc/self/ns/") + ns).string();
    EXPECT_EQ(lineWith(out, mine), "") << ns;
    EXPECT_NE(lineWith(out, std::string(ns) + ":["), "") << ns;
  }
  for (const char* ns : {"cgroup", "user"}) {
    EXPECT_NE(lineWith(out, fs::read_symlink(std::string("/proc/self/ns/") + ns).string()), "")
        << ns;
  }
}

TEST_F(MiniboxdModelTest, RunHasNoPathSearchAndNeedsARootfs) {
  Client c(sim_->socketPath());
  EXPECT_EQ(runEphemeral(c, {"sh", "-c", "true"}).exitCode, 127);
  EXPECT_EQ(runEphemeral(c, {"/bin/busybox", "true"}).exitCode, 0);
  json::object r = runRequest({"/bin/true"}, true);
  r["image"] = "busybox";
  EXPECT_EQ(messageOf(c.request(r)),
            "failed to prepare rootfs: no rootfs for busybox:latest under " +
                fs::canonical(dir_ / "images").string());
}

TEST_F(MiniboxdModelTest, BindMountsAreNotNosuidAndReadOnlyCanBeUndone) {
  fs::create_directories(dir_ / "host");
  Client c(sim_->socketPath());
  json::object r =
      runRequest({"/bin/sh", "-c",
                  "grep ' /ro ' /proc/self/mountinfo; touch /ro/a || echo ro-refused; "
                  "mount -o remount,bind,rw /ro && touch /ro/b && echo remounted; echo x "
                  "> /rw/written"},
                 true);
  r["mounts"] = json::array{
      json::object{
          {"host_path", (dir_ / "host").string()}, {"container_path", "/ro"}, {"read_only", true}},
      json::object{{"host_path", (dir_ / "host").string()},
                   {"container_path", "/rw"},
                   {"read_only", false}}};
  c.send(r);
  RunOutcome run = finishRun(c);
  ASSERT_EQ(run.exitCode, 0) << run.output;
  std::string ro = lineWith(run.output, " /ro ");
  EXPECT_NE(ro.find(" /ro ro,"), std::string::npos) << ro;
  EXPECT_EQ(ro.find("nosuid"), std::string::npos) << ro;
  EXPECT_EQ(ro.find("nodev"), std::string::npos) << ro;
  EXPECT_NE(lineWith(run.output, "ro-refused"), "");
  EXPECT_NE(lineWith(run.output, "remounted"),
            "");  // CAP_SYS_ADMIN undoes read_only
  struct stat st {};
  ASSERT_EQ(::stat((dir_ / "host/written").c_str(), &st), 0);
  EXPECT_EQ(st.st_uid, 0U);  // written by host root
  EXPECT_TRUE(fs::exists(dir_ / "host/b"));

  r["mounts"] = json::array{json::object{{"host_path", (dir_ / "host").string()},
                                         {"container_path", "/x/../../etc"},
                                         {"read_only", false}}};
  c.send(r);
  RunOutcome refused = finishRun(c);  // upstream: child_init fails after clone -> 127
  EXPECT_EQ(refused.exitCode, 127);
  EXPECT_NE(lineWith(refused.output, "path traversal attempt"), "") << refused.output;
}

TEST_F(MiniboxdModelTest, ExecRunsTheNsenterOfTheRequestPathAsHostRoot) {
  fs::create_directories(dir_ / "evil");
  const fs::path marker = dir_ / "evil/MARKER";
  std::ofstream(dir_ / "evil/nsenter") << "#!/bin/sh\necho \"$@\" > " << marker.string() << "\n";
  fs::permissions(dir_ / "evil/nsenter", fs::perms::owner_all | fs::perms::group_read |
                                             fs::perms::group_exec | fs::perms::others_read |
                                             fs::perms::others_exec);
  Client c(sim_->socketPath());
  auto [id, pid] = startSleeper(c);
  ASSERT_GT(pid, 0);
  c.send(execRequest(id, {"/bin/true"}, {"PATH=" + (dir_ / "evil").string()}));
  EXPECT_EQ(typeOf(c.read()), "ExecStarted");
  EXPECT_EQ(finishRun(c).exitCode, 0);
  ASSERT_TRUE(fs::exists(marker));  // the fake ran on the host, outside every namespace
  EXPECT_EQ(readFile(marker),
            "--target " + std::to_string(pid) + " --mount --pid --net --uts --ipc -- /bin/true\n");

  c.send(execRequest(id, {"/bin/true"}, {"PATH=" + (dir_ / "nowhere").string()}));
  EXPECT_EQ(typeOf(c.read()), "ExecStarted");
  EXPECT_EQ(messageOf(c.read()),
            "exec: nsenter spawn failed: No such file or directory (os error 2)");
}

TEST_F(MiniboxdModelTest, ExecEntersTheContainerWithOnlyTheRequestEnv) {
  Client c(sim_->socketPath());
  auto [id, pid] = startSleeper(c);
  auto exec = [&](json::array cmd, json::array env) {
    c.send(execRequest(id, std::move(cmd), std::move(env)));
    EXPECT_EQ(typeOf(c.read()), "ExecStarted");
    return finishRun(c);
  };
  RunOutcome hi = exec({"/bin/busybox", "echo", "hi"}, {"PATH=/usr/bin:/bin"});
  EXPECT_EQ(hi.output, "hi\n");
  EXPECT_EQ(hi.exitCode, 0);
  RunOutcome inside = exec({"/bin/sh", "-c",
                            "cat /etc/passwd; hostname; cat /proc/1/cmdline; echo; "
                            "grep -E 'CapEff|Uid|NoNewPrivs|Seccomp:' /proc/self/status"},
                           {"PATH=/bin"});
  EXPECT_NE(lineWith(inside.output, "app:x:1000:1000:app:/home/app:/bin/sh"), "") << inside.output;
  EXPECT_NE(lineWith(inside.output, "minibox-" + id.substr(0, 8)), "");
  EXPECT_NE(lineWith(inside.output, "/bin/sleep"),
            "");  // pid 1 of the container
  EXPECT_EQ(lineWith(inside.output, "CapEff:"), lineWith(readFile("/proc/self/status"), "CapEff:"));
  EXPECT_NE(lineWith(inside.output, "Uid:\t0\t0\t0\t0"), "");
  EXPECT_NE(lineWith(inside.output, "NoNewPrivs:\t0"), "");
  // Rust's Command: only the request env, sorted by key, the last value of a repeated key.
  EXPECT_EQ(exec({"/bin/env"}, {"ZED=1", "PATH=/usr/bin:/bin", "ALPHA=2", "ZED=3"}).output,
            "ALPHA=2\nPATH=/usr/bin:/bin\nZED=3\n");
  // No PATH at all: nsenter is still found (glibc's default /bin:/usr/bin).
  EXPECT_EQ(exec({"/bin/true"}, {}).exitCode, 0);

  // The init ignores SIGTERM (pid 1 without a handler): Stop needs its SIGKILL.
  Client events(sim_->socketPath());
  ASSERT_NO_FATAL_FAILURE(subscribeSynced(events, c));
  EXPECT_EQ(messageOf(c.request({{"type", "Stop"}, {"id", id}})), "container " + id + " stopped");
  json::object stopped = nextEvent(events);  // reaped: the reaper holds the record no more
  EXPECT_EQ(stopped["type"], "stopped");
  EXPECT_EQ(stopped["exit_code"], -9);
  EXPECT_EQ(messageOf(c.request({{"type", "Remove"}, {"id", id}})), "container " + id + " removed");
  // The Remove handler has finished (and let go of the record) once the next reply comes.
  EXPECT_TRUE(findContainer(c, id).empty());
  // The overlay is gone from the simulator's (private) mount namespace.
  std::string mounts = readFile("/proc/" + std::to_string(sim_->pid()) + "/mountinfo");
  EXPECT_EQ(lineWith(mounts, id), "") << mounts;
}

}  // namespace
}  // namespace dockerbox::sim::test
