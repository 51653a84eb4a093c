#include "frontend/engine_identity.hpp"

#ifndef DOCKERBOX_GIT_COMMIT
#define DOCKERBOX_GIT_COMMIT "unknown"
#endif
#ifndef DOCKERBOX_BUILD_TIME
#define DOCKERBOX_BUILD_TIME "unknown"
#endif

namespace dockerbox::frontend {

std::string_view gitCommit() { return DOCKERBOX_GIT_COMMIT; }
std::string_view buildTime() { return DOCKERBOX_BUILD_TIME; }

}  // namespace dockerbox::frontend
