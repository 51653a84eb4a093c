#!/usr/bin/env bash
# Prints the size of the code dockerboxd runs as root, by role (design.md P5, issue 9):
# non-blank lines that are not only a // comment, of the project's own .hpp/.cpp files,
# without tests, generated code or the policy library (reviewed on its own).
set -euo pipefail
cd "$(dirname "$0")/.."

count() {  # files... -> lines
  [ "$#" -gt 0 ] || { echo 0; return; }
  grep -hv -e '^[[:space:]]*$' -e '^[[:space:]]*//' "$@" | wc -l
}
files() { ls "$@" 2>/dev/null || true; }

# The engine side: container semantics and state, reaching the monitor only through the acts
# channel (broker/containers/monitor_port.hpp). It still runs inside dockerboxd today.
confinement="broker/containers/confinement.cpp broker/containers/confinement.hpp broker/containers/run_spec.cpp broker/containers/run_spec.hpp"
engine_containers=$(for f in engine/*.[ch]pp broker/containers/*.[ch]pp; do case " $confinement " in *" $f "*) ;; *) echo "$f";; esac; done)
# The audit verifier is dockerboxctl's, not the daemon's.
verifier="broker/audit/chain_checker.cpp broker/audit/chain_checker.hpp broker/audit/verify.cpp broker/audit/verify.hpp broker/audit/verify_cli.cpp broker/audit/verify_cli.hpp"
audit=$(for f in broker/audit/*.[ch]pp; do case " $verifier " in *" $f "*) ;; *) echo "$f";; esac; done)
admin="broker/policy_cli.cpp broker/policy_cli.hpp"
gate=$(for f in broker/*.[ch]pp; do case " $admin " in *" $f "*) ;; *) echo "$f";; esac; done)

printf '%-58s %6s\n' "role" "lines"
printf '%-58s %6d\n' "gate: accept, peers, admission, decoder, dispatch, authz" "$(count $gate)"
printf '%-58s %6d\n' "monitor acts: seals, run/exec building (broker/monitor)" "$(count broker/monitor/*.[ch]pp)"
printf '%-58s %6d\n' "confinement and miniboxd requests (containers/)" "$(count $confinement)"
printf '%-58s %6d\n' "miniboxd client (broker/minibox)" "$(count broker/minibox/*.[ch]pp)"
printf '%-58s %6d\n' "audit writer (broker/audit, without the verifier)" "$(count $audit)"
root=$(( $(count $gate) + $(count broker/monitor/*.[ch]pp) + $(count $confinement) + $(count broker/minibox/*.[ch]pp) + $(count $audit) ))
printf '%-58s %6d\n' "= the monitor (what stays root)" "$root"
printf '%-58s %6d\n' "engine: engine/ and the container service (issue 9)" "$(count $engine_containers)"
printf '%-58s %6d\n' "engine: state and logs (broker/state)" "$(count broker/state/*.[ch]pp)"
printf '%-58s %6d\n' "policy library (reviewed on its own)" "$(count policy/*.[ch]pp)"
printf '%-58s %6d\n' "dockerbox-init (root inside each container until it drops)" "$(count init/*.[ch]pp)"
