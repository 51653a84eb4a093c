// dockerboxctl: the administrators' tools, run by hand (usually as root), never by the
// serving broker. Input: command-line arguments and the files they name.
//
//   dockerboxctl check-policy FILE
//   dockerboxctl explain [--policy FILE] --user NAME|UID OPERATION [...]
//   dockerboxctl audit-verify [--accept-breaks] FILE...
//   dockerboxctl status [--run-dir DIR]
//
// Each command is documented where it lives: broker/policy_cli.hpp, broker/audit/verify_cli.hpp,
// ctl/status.hpp.
#include "broker/audit/verify_cli.hpp"
#include "broker/policy_cli.hpp"
#include "ctl/status.hpp"

#include <cstdio>
#include <string_view>

int main(int argc, char** argv) {
  namespace broker = dockerbox::broker;
  if (argc >= 2 && std::string_view(argv[1]) == "audit-verify") {
    return broker::audit::runAuditVerify(argc - 1, argv + 1);
  }
  if (argc >= 2 && std::string_view(argv[1]) == "status") return dockerbox::ctl::runStatus(argc - 1, argv + 1);
  if (argc >= 2 && broker::isAdminCommand(argv[1])) return broker::runAdminCommand(argc, argv);
  std::fprintf(stderr,
               "usage: dockerboxctl check-policy FILE\n"
               "       dockerboxctl explain [--policy FILE] --user NAME|UID OPERATION [options]\n"
               "       dockerboxctl audit-verify [--accept-breaks] FILE...\n"
               "       dockerboxctl status [--run-dir DIR]\n");
  return 2;
}
