#!/usr/bin/env bash
# Installs the Debian packages xScaler needs to build and test, only those that are missing.
# Safe to run repeatedly; needs root (or sudo) only when something is missing.
set -euo pipefail

PACKAGES=(
  build-essential cmake ninja-build ccache pkg-config
  libboost-dev libabsl-dev libre2-dev libsnappy-dev libzstd-dev zlib1g-dev libssl-dev libxxhash-dev
  rapidjson-dev libcli11-dev libyaml-cpp-dev libfmt-dev libspdlog-dev
  libprotobuf-dev protobuf-compiler libgtest-dev libgmock-dev libbenchmark-dev
  nodejs npm curl
  prometheus  # the oracle of tests/differential
)

missing=()
for p in "${PACKAGES[@]}"; do
  # nodejs/npm may come from another source (e.g. nodesource): accept the commands too.
  case "$p" in
    nodejs) command -v node >/dev/null 2>&1 && continue ;;
    npm) command -v npm >/dev/null 2>&1 && continue ;;
  esac
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

if [ ${#missing[@]} -gt 0 ]; then
  echo "Installing missing Debian packages: ${missing[*]}"
  SUDO=""
  [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
