#!/usr/bin/env bash
# Installs every Debian 12 package dockerbox needs to build and test, if missing.
# Idempotent; runs apt-get only when something is absent.
set -euo pipefail

packages=(
  build-essential cmake ninja-build pkg-config clang libclang-rt-14-dev
  libboost1.81-dev libboost-json1.81-dev
  capnproto libcapnp-dev libseccomp-dev libcap-dev libspdlog-dev libgtest-dev
  libsqlite3-dev libtomlplusplus-dev libsystemd-dev libcli11-dev libssl-dev
  python3 python3-docker util-linux passwd
  # The simulator's miniboxd process model runs containers on image roots built from
  # busybox-static (tests/e2e/rootfs.py); dockerbox-init is linked statically (libc6-dev,
  # libseccomp-dev and libcap-dev ship the archives).
  busybox-static
  # tests/e2e/schema.py reads the Engine API spec (YAML) to validate what dockerbox sends.
  python3-yaml
  # Debian's docker-compose (1.29, Python) for the Compose flows of tests/e2e/test_compose.py.
  docker-compose
  # The end-to-end tests run every module against two docker CLIs: the one on the PATH
  # (28.2 on the project's machines, /usr/local/bin/docker) and Debian's docker.io, whose
  # /usr/bin/docker is the 20.10 CLI (API 1.41). Only its CLI is used; its daemon is kept
  # from starting below. tests/e2e/harness.py tells the two apart by path.
  docker.io
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

if ((${#missing[@]})); then
  echo "install-deps: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q
  # The maintainer scripts of docker.io and containerd try to start their daemons; they
  # are not needed and may fail without systemd, so services are kept from starting while
  # installing. A policy-rc.d the machine already has (Debian container images ship one)
  # is put back afterwards, not deleted.
  policy=/usr/sbin/policy-rc.d
  saved=""
  if [ -e "$policy" ]; then
    saved=$(mktemp /usr/sbin/.policy-rc.d.XXXXXX)
    cp -p "$policy" "$saved"
    trap 'mv -f "$saved" "$policy"' EXIT
  else
    trap 'rm -f "$policy"' EXIT
  fi
  printf '#!/bin/sh\nexit 101\n' > "$policy" && chmod 755 "$policy"
  apt-get install -y -q --no-install-recommends \
    -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold "${missing[@]}" </dev/null
fi
