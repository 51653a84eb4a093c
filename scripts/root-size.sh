#!/usr/bin/env bash
# Prints the size of the code dockerboxd runs as root, by role (design.md P5, issue 9):
# non-blank lines that are not only a // comment, of the project's own .hpp/.cpp files,
# without tests, generated code or the policy library (reviewed on its own). The lists follow
# the libraries dockerboxd links (tests/broker/links_test.py checks that it links no engine,
# state or container service).
set -euo pipefail
cd "$(dirname "$0")/.."

count() {  # files... -> lines
  [ "$#" -gt 0 ] || { echo 0; return; }
  grep -hv -e '^[[:space:]]*$' -e '^[[:space:]]*//' "$@" | wc -l
}
except() {  # "excluded files" files... -> the files not excluded
  local skip=" $1 "; shift
  for f in "$@"; do case "$skip" in *" $f "*) ;; *) echo "$f";; esac; done
}

# dockerbox_acts and dockerbox_names: what the monitor and the engine share (the act port and
# wire, stored configs, confinement and run specs, live runs, ids).
shared=$(ls broker/containers/*.[ch]pp broker/state/*.[ch]pp)
# The audit verifier is dockerboxctl's, the policy commands too; not the daemon's.
verifier="broker/audit/chain_checker.cpp broker/audit/chain_checker.hpp broker/audit/verify.cpp broker/audit/verify.hpp broker/audit/verify_cli.cpp broker/audit/verify_cli.hpp"
audit=$(except "$verifier" broker/audit/*.[ch]pp)
gate=$(except "broker/policy_cli.cpp broker/policy_cli.hpp" broker/*.[ch]pp)
common=$(except "common/confine.cpp common/confine.hpp common/deny_filter.cpp common/deny_filter.hpp" common/*.[ch]pp)
# The engine (dockerbox-engine, its own user and sandbox).
engine_containers=$(ls engine/*.[ch]pp engine/containers/*.[ch]pp)
engine_state=$(ls engine/state/*.[ch]pp)

printf '%-62s %6s\n' "role" "lines"
printf '%-62s %6d\n' "gate: accept, admission, decoder, dispatch, authz, launchers" "$(count $gate)"
printf '%-62s %6d\n' "monitor acts: seals, run/exec building (broker/monitor)" "$(count broker/monitor/*.[ch]pp)"
printf '%-62s %6d\n' "shared with the engine (broker/containers, broker/state)" "$(count $shared)"
printf '%-62s %6d\n' "miniboxd client (broker/minibox)" "$(count broker/minibox/*.[ch]pp)"
printf '%-62s %6d\n' "audit writer (broker/audit, without the verifier)" "$(count $audit)"
printf '%-62s %6d\n' "common: results, syscalls, log format" "$(count $common)"
root=$(( $(count $gate) + $(count broker/monitor/*.[ch]pp) + $(count $shared) + $(count broker/minibox/*.[ch]pp) + $(count $audit) + $(count $common) ))
printf '%-62s %6d\n' "= the monitor, dockerboxd (root)" "$root"
printf '%-62s %6d\n' "engine: engine/ and its container service (engine/containers)" "$(count $engine_containers)"
printf '%-62s %6d\n' "engine: state and logs (engine/state)" "$(count $engine_state)"
printf '%-62s %6d\n' "registry client: registry/ (its own user and sandbox)" "$(count registry/*.[ch]pp)"
printf '%-62s %6d\n' "policy library (reviewed on its own)" "$(count policy/*.[ch]pp)"
printf '%-62s %6d\n' "dockerbox-init (root inside each container until it drops)" "$(count init/*.[ch]pp)"
