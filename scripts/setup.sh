#!/usr/bin/env bash
# Installs everything alliance needs from Debian 12's packages. Idempotent:
# packages already present are skipped by apt-get.
set -euo pipefail
PKGS=(
  build-essential cmake ninja-build pkg-config
  librdkafka-dev librocksdb-dev libsimdjson-dev prometheus-cpp-dev libcivetweb-dev
  libgtest-dev libgmock-dev libyaml-cpp-dev libcli11-dev libfmt-dev
  libssl-dev libbenchmark-dev
  libboost1.81-dev             # header-only: Boost.Unordered's flat maps in the core
  kcat python3 python3-jsonschema python3-confluent-kafka python3-yaml prometheus
  openssl curl                 # the secure_connections test: a self-signed certificate, HTTPS requests
  python3-matplotlib           # bench/soak.sh: the report's plot
  chromium fonts-dejavu-core   # the dashboard's browser test (headless)
  clang                        # the libFuzzer targets (tests/fuzz/run.sh)
)
# node and npm (the dashboard's chart library and browser driver): Debian's,
# unless a node with npm is already installed.
command -v npm >/dev/null 2>&1 || PKGS+=(nodejs npm)
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

# The dashboard's npm packages (pinned in web/package-lock.json), installed
# into the clone: uPlot is embedded into the binary at build time,
# playwright-core drives Debian's chromium in the browser test.
WEB="$(cd "$(dirname "$0")/../web" && pwd)"
if [ ! -f "$WEB/node_modules/uplot/package.json" ] || [ ! -f "$WEB/node_modules/playwright-core/package.json" ] ||
   [ "$WEB/package-lock.json" -nt "$WEB/node_modules/.package-lock.json" ]; then
  echo "setup: npm ci in web/"
  (cd "$WEB" && npm ci --cache ./.npm-cache --no-audit --no-fund --loglevel=error)
fi
