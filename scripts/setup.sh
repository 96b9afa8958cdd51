#!/usr/bin/env bash
# Installs everything alliance needs from Debian 12's packages. Idempotent:
# packages already present are skipped by apt-get.
set -euo pipefail
PKGS=(
  build-essential cmake ninja-build pkg-config
  librdkafka-dev librocksdb-dev libsimdjson-dev prometheus-cpp-dev libcivetweb-dev
  libgtest-dev libgmock-dev libyaml-cpp-dev libcli11-dev libfmt-dev
  libssl-dev libbenchmark-dev
  kcat python3 python3-jsonschema python3-confluent-kafka python3-yaml prometheus
)
missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO=sudo
  echo "setup: installing ${missing[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
