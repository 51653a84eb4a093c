#!/usr/bin/env bash
# Runs dockerbox: installs and builds what is missing, then starts dockerboxd in the
# foreground. With no miniboxd socket present it first starts the bundled minibox
# simulator in miniboxd's process model (test double: containers run as miniboxd runs them,
# in namespaces on an overlay of a busybox image root built here; dockerbox-init confines
# them), which can run the images alpine, busybox and noshell.
#
# Settings come from the environment (see README): DOCKERBOX_SOCKET, DOCKERBOX_SOCKET_GROUP,
# DOCKERBOX_SOCKET_MODE, MINIBOX_SOCKET_PATH, ...
set -euo pipefail
cd "$(dirname "$0")/.."
[ "$(id -u)" = 0 ] || { echo "run.sh: dockerboxd runs as root (try: sudo $0)" >&2; exit 1; }
scripts/install-deps.sh   # build and run packages only; the tests' own come with --test
build_dir=${BUILD_DIR:-build}

minibox=${MINIBOX_SOCKET_PATH:-${MINIBOX_SOCKET:-/run/minibox/miniboxd.sock}}
export MINIBOX_SOCKET_PATH=$minibox
# Only what running needs is built: the daemon and its helpers, and the simulator when
# there is no miniboxd (it lives under tests/, so the tests are configured then, not built).
targets=(dockerboxd dockerbox-frontend dockerbox-engine dockerbox-registry dockerbox-proxy dockerbox-init dockerboxctl)
if [ -S "$minibox" ]; then
  tests=OFF
else
  tests=ON
  targets+=(minibox-sim)
fi
cmake -S . -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DDOCKERBOX_TESTS="$tests" >/dev/null
cmake --build "$build_dir" --target "${targets[@]}"

sim_pid=
if [ ! -S "$minibox" ]; then
  echo "run.sh: no miniboxd at $minibox; starting the bundled minibox simulator"
  roots=$(mktemp -d /tmp/dbxroots.XXXXXX)
  python3 - "$roots" <<'PY'
import os, sys
sys.path.insert(0, "tests/e2e")
import rootfs
roots = sys.argv[1]
rootfs.build_busybox_rootfs(os.path.join(roots, "busybox"))
os.symlink("busybox", os.path.join(roots, "alpine"))
rootfs.build_noshell_rootfs(os.path.join(roots, "noshell"))
PY
  fifo=$(mktemp -u /tmp/dbxready.XXXXXX); mkfifo "$fifo"
  "$build_dir/tests/minibox_sim/minibox-sim" --socket "$minibox" --ready-fd 8 \
    --process-model miniboxd --rootfs-dir "$roots" --allow-bind-mounts \
    --registry library/alpine:latest,library/busybox:latest,library/noshell:latest 8>"$fifo" &
  sim_pid=$!
  read -r -n 1 _ <"$fifo" || true
  rm -f "$fifo"
  trap '[ -n "$sim_pid" ] && kill "$sim_pid" 2>/dev/null; rm -rf "$roots"' EXIT
fi
# The policy decides every request; without one everything is denied. Install the shipped
# default once (as a package would), with the socket group as the members' group.
policy=${DOCKERBOX_POLICY:-/etc/dockerbox/policy.toml}
if [ ! -e "$policy" ]; then
  install -d -m 0755 "$(dirname "$policy")"
  sed "s/\"dockerbox-users\"/\"${DOCKERBOX_SOCKET_GROUP:-dockerbox-users}\"/" deploy/policy.toml >"$policy.new"
  chown root:root "$policy.new" && chmod 0644 "$policy.new" && mv "$policy.new" "$policy"
  echo "run.sh: installed the default policy at $policy (edit it, check it with dockerboxctl check-policy, SIGHUP)"
fi
export DOCKERBOX_POLICY=$policy
# The engine runs as a system user of its own, which owns its state (as the package's
# sysusers.conf would create it).
engine_user=${DOCKERBOX_ENGINE_USER:-dockerbox-engine}
if ! getent passwd "$engine_user" >/dev/null; then
  useradd --system --no-create-home --home-dir / --shell /usr/sbin/nologin --user-group "$engine_user"
  echo "run.sh: created the system user $engine_user (dockerbox-engine runs as it)"
fi
export DOCKERBOX_ENGINE_USER=$engine_user
# So does the registry client dockerboxd starts for each pull to read the image's
# configuration: a pull then needs its registry, as with Docker (DOCKERBOX_REGISTRY_PATH=none
# pulls through miniboxd alone, and images run without their configuration).
registry_user=${DOCKERBOX_REGISTRY_USER:-dockerbox-registry}
if ! getent passwd "$registry_user" >/dev/null; then
  useradd --system --no-create-home --home-dir / --shell /usr/sbin/nologin --user-group "$registry_user"
  echo "run.sh: created the system user $registry_user (dockerbox-registry runs as it)"
fi
export DOCKERBOX_REGISTRY_USER=$registry_user
# And the port proxy, which carries the traffic of published ports (docker run -p).
proxy_user=${DOCKERBOX_PROXY_USER:-dockerbox-proxy}
if ! getent passwd "$proxy_user" >/dev/null; then
  useradd --system --no-create-home --home-dir / --shell /usr/sbin/nologin --user-group "$proxy_user"
  echo "run.sh: created the system user $proxy_user (dockerbox-proxy runs as it)"
fi
export DOCKERBOX_PROXY_USER=$proxy_user
socket=${DOCKERBOX_SOCKET:-/run/dockerbox/dockerbox.sock}
echo "run.sh: dockerbox serves on $socket; try: docker -H unix://$socket version"
"$build_dir/broker/dockerboxd"
