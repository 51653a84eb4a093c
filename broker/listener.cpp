#include "broker/listener.hpp"

#include "common/syscall.hpp"

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <systemd/sd-daemon.h>
#include <unistd.h>

#include <fcntl.h>

#include <cstring>
#include <filesystem>

namespace dockerbox::broker {
namespace {

Result<UniqueFd> fromSystemd(int count) {
  if (count != 1) {
    return fail(ErrorKind::BadRequest, "socket activation: expected exactly one socket, got " + std::to_string(count));
  }
  int fd = SD_LISTEN_FDS_START;
  if (sd_is_socket_unix(fd, SOCK_STREAM, 1, nullptr, 0) <= 0) {
    return fail(ErrorKind::BadRequest, "socket activation: fd 3 is not a listening AF_UNIX stream socket");
  }
  auto flags = DOCKERBOX_SYSCALL(::fcntl(fd, F_SETFD, FD_CLOEXEC), "fcntl(FD_CLOEXEC)");
  if (!flags) return flags.error();
  return UniqueFd(fd);
}

Result<void> removeStale(const std::string& path) {
  struct stat st{};
  if (::lstat(path.c_str(), &st) != 0) {
    if (errno == ENOENT) return {};
    return fail(ErrorKind::Internal, "cannot stat " + path, errnoText(errno));
  }
  if (!S_ISSOCK(st.st_mode)) {
    return fail(ErrorKind::BadRequest, path + " exists and is not a socket; refusing to replace it");
  }
  auto rc = DOCKERBOX_SYSCALL(::unlink(path.c_str()), "unlink " + path);
  if (!rc) return rc.error();
  return {};
}

}  // namespace

Result<UniqueFd> openListener(Config& config) {
  int activated = sd_listen_fds(1);  // 1: unset LISTEN_* so children do not inherit them
  if (activated < 0) return fail(ErrorKind::Internal, "sd_listen_fds failed", errnoText(-activated));
  if (activated > 0) {
    config.socketActivated = true;
    return fromSystemd(activated);
  }

  std::error_code ec;
  auto parent = std::filesystem::path(config.socketPath).parent_path();
  if (!parent.empty() && !std::filesystem::exists(parent, ec)) {
    std::filesystem::create_directories(parent, ec);
    if (ec) return fail(ErrorKind::Internal, "cannot create " + parent.string(), ec.message());
    ::chmod(parent.c_str(), 0755);  // the socket's own mode is what guards access
  }
  if (auto r = removeStale(config.socketPath); !r) return r.error();

  auto fd = DOCKERBOX_SYSCALL(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0), "socket(AF_UNIX)");
  if (!fd) return fd.error();
  UniqueFd listener(*fd);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::memcpy(addr.sun_path, config.socketPath.c_str(), config.socketPath.size());
  // Create the file owner-only; open it up to the configured group and mode afterwards.
  mode_t old = ::umask(0177);
  int bound = ::bind(listener.get(), reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
  int bindErrno = errno;
  ::umask(old);
  if (bound != 0) return fail(ErrorKind::Internal, "cannot bind " + config.socketPath, errnoText(bindErrno));
  if (config.socketGroup) {
    auto rc = DOCKERBOX_SYSCALL(::chown(config.socketPath.c_str(), 0, *config.socketGroup), "chown " + config.socketPath);
    if (!rc) return rc.error();
  }
  auto rc = DOCKERBOX_SYSCALL(::chmod(config.socketPath.c_str(), config.socketMode), "chmod " + config.socketPath);
  if (!rc) return rc.error();
  auto lrc = DOCKERBOX_SYSCALL(::listen(listener.get(), 128), "listen");
  if (!lrc) return lrc.error();
  return listener;
}

}  // namespace dockerbox::broker
