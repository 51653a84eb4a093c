#!/usr/bin/env bash
# Installs the Debian 12 packages dockerbox needs, if missing. Idempotent; runs apt-get only
# when something is absent.
#
#   scripts/install-deps.sh          to build, package and run (scripts/run.sh)
#   scripts/install-deps.sh --test   that, plus what only the tests use (scripts/test.sh)
set -euo pipefail

mode=${1:-}
case "$mode" in
  ""|--test) ;;
  *) echo "usage: $0 [--test]" >&2; exit 2 ;;
esac

# Build and run. build-essential brings dpkg-dev (dpkg-shlibdeps, for the Debian package).
packages=(
  build-essential cmake ninja-build pkg-config
  libboost1.81-dev libboost-json1.81-dev
  capnproto libcapnp-dev libseccomp-dev libcap-dev libspdlog-dev
  # dockerbox-init is linked statically (libc6-dev, libseccomp-dev and libcap-dev ship the
  # archives).
  libsqlite3-dev libtomlplusplus-dev libsystemd-dev libcli11-dev libssl-dev
  util-linux passwd
  # The manual pages are generated from deploy/man/*.scd at build time.
  scdoc
  # scripts/run.sh starts the bundled minibox simulator when no miniboxd is running. The
  # simulator lives under tests/, whose CMake configuration needs GoogleTest, and its
  # containers run on image roots built with Python from busybox-static.
  libgtest-dev python3 busybox-static
)

if [ "$mode" = --test ]; then
  packages+=(
    # libFuzzer runtime for the fuzz targets.
    clang libclang-rt-14-dev
    # tests/e2e drives the Docker SDK for Python too.
    python3-docker
    # tests/e2e/schema.py reads the Engine API spec (YAML) to validate what dockerbox sends.
    python3-yaml
    # Debian's docker-compose (1.29, Python) for the Compose flows of tests/e2e/test_compose.py.
    docker-compose
    # The end-to-end tests run every module against two docker CLIs: the one on the PATH
    # (28.2 on the project's machines, /usr/local/bin/docker) and Debian's docker.io, whose
    # /usr/bin/docker is the 20.10 CLI (API 1.41). Only its CLI is used; its daemon is kept
    # from starting below. tests/e2e/harness.py tells the two apart by path.
    docker.io
    # tests/deploy: systemd-analyze verify/security on the units, man -l on the pages.
    systemd man-db
    # tests/registry: a real registry (distribution 2.8) fed by skopeo, one of them with
    # htpasswd (bcrypt) credentials. docker-registry's service is kept from starting below.
    docker-registry skopeo apache2-utils
    # tests/e2e/test_ports.py: curl is the client of published ports.
    curl
  )
fi

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

if ((${#missing[@]})); then
  echo "install-deps: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q
  # The maintainer scripts of docker.io, containerd and docker-registry try to start their daemons; they
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
