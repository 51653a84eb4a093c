// The Docker API listening socket: bound by us, or handed over by systemd socket
// activation (LISTEN_FDS). Runs as root.
#pragma once

#include "broker/config.hpp"
#include "common/result.hpp"
#include "common/unique_fd.hpp"

namespace dockerbox::broker {

/// Returns the listening socket. With LISTEN_FDS set (systemd), takes exactly one AF_UNIX
/// stream socket from it and marks config.socketActivated; otherwise binds
/// config.socketPath: a stale socket file is replaced (any other kind of file is an
/// error), the file is created 0600 and only then given its group and mode, so it is
/// never briefly more open than configured.
[[nodiscard]] Result<UniqueFd> openListener(Config& config);

}  // namespace dockerbox::broker
