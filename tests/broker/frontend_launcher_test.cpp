// The frontend launcher's process creation: the child gets its control socket as fd 3 even
// when socketpair() itself returned 3 (dup2 onto itself would keep FD_CLOEXEC and exec would
// close it), starts with no signal blocked and the default dispositions, and an environment
// of PATH only. A stand-in "frontend" script reports what it got.
#include "broker/frontend_launcher.hpp"

#include <boost/asio/io_context.hpp>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <csignal>
#include <filesystem>
#include <functional>
#include <fstream>
#include <sstream>
#include <string>

namespace dockerbox::broker {
namespace {

class FrontendLauncherTest : public ::testing::Test {
 protected:
  FrontendLauncherTest() {
    char tmpl[] = "/tmp/dbxflXXXXXX";
    dir_ = ::mkdtemp(tmpl);
    script_ = dir_ + "/frontend";
    report_ = dir_ + "/report";
    // What the child holds at exec: fd 3 a socket, the blocked and ignored signal masks, env.
    std::ofstream(script_) << "#!/bin/sh\n"
                              "{ if [ -S /proc/self/fd/3 ]; then echo fd3=socket; else echo fd3=missing; fi\n"
                              "  grep -E '^Sig(Blk|Ign):' /proc/self/status\n"
                              "  env | sort; } > '" << report_ << "'\n";
    ::chmod(script_.c_str(), 0755);
  }
  ~FrontendLauncherTest() override { std::filesystem::remove_all(dir_); }

  /// Starts the stand-in and waits for it; returns its report. `beforeStart` runs once the
  /// io_context holds its own descriptors.
  std::string launchAndReport(const std::function<void()>& beforeStart = {},
                              const std::function<void()>& afterStart = {}) {
    boost::asio::io_context io;
    FrontendLauncher launcher(io, FrontendSpec{script_, 65534, 65534, "info", false});
    if (beforeStart) beforeStart();
    EXPECT_TRUE(launcher.start());
    if (afterStart) afterStart();
    int status = 0;
    EXPECT_EQ(::waitpid(launcher.zygotePid(), &status, 0), launcher.zygotePid());
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
    std::ifstream in(report_);
    std::stringstream text;
    text << in.rdbuf();
    return text.str();
  }

  std::string dir_, script_, report_;
};

TEST_F(FrontendLauncherTest, ChildGetsFd3CleanSignalsAndOnlyPath) {
  // A handler and a blocked signal in the "broker" must not reach the child.
  struct sigaction ignore {};
  ignore.sa_handler = SIG_IGN;
  struct sigaction saved {};
  ::sigaction(SIGUSR1, &ignore, &saved);
  sigset_t usr2, savedMask;
  ::sigemptyset(&usr2);
  ::sigaddset(&usr2, SIGUSR2);
  ::sigprocmask(SIG_BLOCK, &usr2, &savedMask);
  const std::string report = launchAndReport();
  ::sigprocmask(SIG_SETMASK, &savedMask, nullptr);
  ::sigaction(SIGUSR1, &saved, nullptr);
  EXPECT_NE(report.find("fd3=socket\n"), std::string::npos) << report;
  EXPECT_NE(report.find("SigBlk:\t0000000000000000\n"), std::string::npos) << report;
  EXPECT_NE(report.find("SigIgn:\t0000000000000000\n"), std::string::npos) << report;
  EXPECT_NE(report.find("PATH=/usr/sbin:/usr/bin:/sbin:/bin\n"), std::string::npos) << report;
}

TEST_F(FrontendLauncherTest, ControlSocketThatIsAlreadyFd3StaysOpenAcrossExec) {
  // Make socketpair() return (0, 3): fd 0 and fd 3 free, 1 and 2 in use.
  int savedStdin = -1;
  int saved3 = -1;
  const std::string report = launchAndReport(
      [&] {
        savedStdin = ::fcntl(0, F_DUPFD_CLOEXEC, 100);
        saved3 = ::fcntl(3, F_GETFD) >= 0 ? ::fcntl(3, F_DUPFD_CLOEXEC, 100) : -1;
        ::close(0);
        ::close(3);
      },
      [&] {
        // Put things back as they were (the launcher's end, fd 0, is replaced).
        ::dup2(savedStdin, 0);
        ::close(savedStdin);
        if (saved3 >= 0) {
          ::dup2(saved3, 3);
          ::close(saved3);
        }
      });
  EXPECT_NE(report.find("fd3=socket\n"), std::string::npos) << report;
}

}  // namespace
}  // namespace dockerbox::broker
