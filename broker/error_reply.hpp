// An error as the frontend receives it: its kind and the one message a client may see.
// Shared by the monitor, which answers what it refuses, and the engine.
#pragma once

#include "common/result.hpp"
#include "ipc/dockerbox.capnp.h"

namespace dockerbox::broker {

/// Fills an error reply. Only `error.message` reaches the client (never its context).
void renderError(const Error& error, ipc::wire::Response::Result::Builder out);

}  // namespace dockerbox::broker
