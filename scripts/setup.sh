#!/usr/bin/env bash
# Installs what locust-http's TESTS need (scripts/test.sh calls this):
#   everything scripts/setup-run.sh installs (.venv with the pinned Locust master and etcd), plus
#   chromium, firefox-esr  Debian's, for the browser tests (apt)
#   prometheus             Debian's (prometheus, promtool), for the metrics tests (apt)
#   tests/ui/node_modules  playwright-core and axe-core, pinned by tests/ui/package-lock.json
# Idempotent: does nothing when everything is already there.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/setup-run.sh
# Browser tests: Debian's Chromium (no browser download) and playwright-core from the lockfile.
missing=""
command -v chromium >/dev/null 2>&1 || missing="$missing chromium"
command -v firefox-esr >/dev/null 2>&1 || missing="$missing firefox-esr"
# The metrics tests: a real Prometheus scraping the bridge, promtool checking /metrics. Debian's
# package also starts a service; the tests run their own on a free port.
command -v prometheus >/dev/null 2>&1 || missing="$missing prometheus"
# The code generation test runs the curl commands the bridge writes.
command -v curl >/dev/null 2>&1 || missing="$missing curl"
if [ -n "$missing" ]; then
  echo "setup: installing Debian's$missing for the tests"
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO=sudo
  $SUDO apt-get update -qq
  # shellcheck disable=SC2086
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq $missing >/dev/null
fi
if ! command -v npm >/dev/null 2>&1; then
  echo "setup: npm not found; the browser tests need Node.js with npm (Debian: apt-get install nodejs npm)" >&2
  exit 1
fi
if [ ! -d tests/ui/node_modules/playwright-core ] || [ ! -d tests/ui/node_modules/axe-core ]; then
  echo "setup: npm ci in tests/ui (playwright-core, axe-core)"
  (cd tests/ui && npm ci --no-audit --no-fund --silent)
fi
