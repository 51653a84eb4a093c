#!/usr/bin/env bash
# Installs every Debian 12 package dockerbox needs to build and test, if missing.
# Idempotent; runs apt-get only when something is absent.
set -euo pipefail

packages=(
  build-essential cmake ninja-build pkg-config clang libclang-rt-14-dev
  libboost1.81-dev libboost-json1.81-dev
  capnproto libcapnp-dev libseccomp-dev libcap-dev libspdlog-dev libgtest-dev
  libsqlite3-dev libtomlplusplus-dev libsystemd-dev libcli11-dev libssl-dev
  python3 util-linux passwd
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
# The end-to-end tests drive the docker CLI; where the machine has none, Debian's
# docker.io provides one (20.10, API 1.41).
command -v docker >/dev/null 2>&1 || missing+=(docker.io)

if ((${#missing[@]})); then
  echo "install-deps: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q
  # docker.io's maintainer scripts try to start dockerd; that is not needed and may fail
  # without systemd, so services are kept from starting while installing.
  printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d
  trap 'rm -f /usr/sbin/policy-rc.d' EXIT
  apt-get install -y -q --no-install-recommends "${missing[@]}"
fi
