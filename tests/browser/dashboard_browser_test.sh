#!/usr/bin/env bash
# ctest `dashboard_browser` (label browser): runs dashboard_test.mjs, the
# dashboard in headless chromium during `alliance demo`. Exits 77 (ctest:
# skipped), saying why, only when chromium, node, kcat or the npm packages
# that scripts/setup.sh installs are absent.
set -uo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
src="${ALLIANCE_SRC:-$(cd "$here/../.." && pwd)}"
missing=()
[ -x /usr/bin/chromium ] || missing+=("chromium (/usr/bin/chromium)")
command -v node > /dev/null || missing+=("node")
command -v kcat > /dev/null || missing+=("kcat")
[ -f "$src/web/node_modules/playwright-core/package.json" ] || missing+=("playwright-core in web/node_modules")
if ((${#missing[@]})); then
  echo "dashboard_browser: SKIPPED, not installed: ${missing[*]} (scripts/setup.sh installs them)" >&2
  exit 77
fi
export ALLIANCE_SRC="$src"
exec node "$here/dashboard_test.mjs"
