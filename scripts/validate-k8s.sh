#!/usr/bin/env bash
# Validates deploy/k8s/*.yaml against the Kubernetes OpenAPI schemas, with
# the npm package kubernetes-models (pinned in deploy/k8s/validate). npm's
# packages and cache stay inside the clone. Exit 77 (ctest: skipped) when
# node/npm are missing or the npm registry cannot be reached; that is said
# on stderr, never passed off as a success.
set -uo pipefail
cd "$(dirname "$0")/../deploy/k8s/validate"
if ! command -v node > /dev/null || ! command -v npm > /dev/null; then
  echo "validate-k8s: node/npm not installed; manifests NOT validated" >&2
  exit 77
fi
if [ ! -d node_modules/kubernetes-models ]; then
  if ! timeout 300 npm ci --cache ./.npm-cache --no-audit --no-fund --loglevel=error > npm.log 2>&1; then
    echo "validate-k8s: npm ci failed (registry unreachable?); manifests NOT validated:" >&2
    tail -5 npm.log >&2
    exit 77
  fi
fi
status=0
for f in ../*.yaml; do
  echo "== $f"
  node validate.js "$f" || status=1
done
exit $status
