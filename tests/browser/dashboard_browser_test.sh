#!/usr/bin/env bash
# ctest `dashboard_browser` (label browser): runs dashboard_test.mjs, the
# dashboard in headless chromium during `alliance demo`; with an argument,
# that script of this directory instead (ctest `dashboard_chart_range`:
# chart_range_test.mjs). Exits 77 (ctest: skipped), saying why, only when
# chromium, node, kcat (dashboard_test.mjs) or the npm packages that
# scripts/setup.sh installs are absent.
set -uo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
src="${ALLIANCE_SRC:-$(cd "$here/../.." && pwd)}"
script="${1:-dashboard_test.mjs}"
missing=()
[ -x /usr/bin/chromium ] || missing+=("chromium (/usr/bin/chromium)")
command -v node > /dev/null || missing+=("node")
[ "$script" != dashboard_test.mjs ] || command -v kcat > /dev/null || missing+=("kcat")
[ -f "$src/web/node_modules/playwright-core/package.json" ] || missing+=("playwright-core in web/node_modules")
if ((${#missing[@]})); then
  echo "${script%.mjs}: SKIPPED, not installed: ${missing[*]} (scripts/setup.sh installs them)" >&2
  exit 77
fi
export ALLIANCE_SRC="$src"
exec node "$here/$script"
