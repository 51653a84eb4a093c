#!/usr/bin/env bash
# Runs every test: installs what is missing, builds, runs the unit, fuzz-corpus and
# end-to-end tests, then does the same again under AddressSanitizer + UBSan.
# Needs root: the tests create Unix users and groups and run dockerboxd.
set -euo pipefail
cd "$(dirname "$0")/.."
[ "$(id -u)" = 0 ] || { echo "test.sh: the tests need root (try: sudo $0)" >&2; exit 1; }
scripts/install-deps.sh --test
# install-deps.sh installs Debian's docker.io for its 20.10 CLI, so the e2e tests that run
# against it (e2e.*.docker20) must fail here rather than be skipped if it cannot be found.
export DOCKERBOX_E2E_REQUIRE_CLI=docker20
# It installs docker-compose too: tests/e2e/test_compose.py must run here, not skip.
export DOCKERBOX_E2E_REQUIRE_COMPOSE=1

jobs=$(nproc)
ctest_args=(--output-on-failure --timeout 600 -j "$jobs")

echo "== build (RelWithDebInfo, -Werror) =="
# DOCKERBOX_TESTS=ON explicitly: scripts/run.sh may have configured the same tree without them.
BUILD_DIR=build scripts/build.sh -DCMAKE_BUILD_TYPE=RelWithDebInfo -DDOCKERBOX_WERROR=ON -DDOCKERBOX_TESTS=ON
echo "== tests =="
ctest --test-dir build "${ctest_args[@]}"

if [ "${DOCKERBOX_SKIP_SANITIZERS:-0}" != 1 ]; then
  echo "== build (ASan + UBSan) =="
  BUILD_DIR=build-asan scripts/build.sh -DCMAKE_BUILD_TYPE=Debug -DDOCKERBOX_SANITIZE=ON -DDOCKERBOX_TESTS=ON
  echo "== tests under ASan + UBSan =="
  ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
    ctest --test-dir build-asan "${ctest_args[@]}" --label-exclude deploy  # layout and package: once is enough
fi
