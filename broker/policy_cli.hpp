// Runs as the administrator's `dockerboxctl check-policy` and `dockerboxctl explain` (usually
// root; never the serving broker). Input: command-line arguments and the policy file they
// name (trusted, hand-edited: every mistake is reported with its line and column).
//
//   dockerboxctl check-policy FILE
//     Validates FILE as the broker would (any owner: drafts may live anywhere). Prints
//     "OK: ..." or one "file:line:column: message" per problem. Exit 0 valid, 1 invalid,
//     2 usage error.
//   dockerboxctl explain [--policy FILE] --user NAME|UID OPERATION [--image REF]
//       [--privileged] [--bind SRC:DST[:ro]]... [--network MODE] [--memory SIZE]
//       [--user-in-container U]
//     Builds the request the broker would judge for that user (bind sources resolved and
//     access-checked as that user, which needs root), and prints which rule decides and
//     why. Exit 0 allowed, 1 denied, 2 usage error or unusable policy. The output names
//     resolved host paths: it is for administrators, never for clients.
#pragma once

#include <iosfwd>
#include <string>
#include <string_view>
#include <vector>

namespace dockerbox::broker {

/// Whether `name` (argv[1]) is one of the commands runAdminCommand handles.
[[nodiscard]] bool isAdminCommand(std::string_view name);

/// Runs `argv[1]` with the arguments after it, printing to stdout and stderr.
int runAdminCommand(int argc, char** argv);

/// The same with explicit arguments (args[0] is the command) and streams, for tests.
int runAdminCommand(const std::vector<std::string>& args, std::ostream& out, std::ostream& err);

}  // namespace dockerbox::broker
