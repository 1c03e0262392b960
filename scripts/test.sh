#!/usr/bin/env bash
# THE test command: installs what the tests need, then format check, lints and every test
# (unit tests and the cross-process tests against a real Locust master and HTTP target), then the
# deploy test (container images, the compose stack, Kubernetes manifests, systemd units).
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/setup.sh

echo "== cargo fmt --check"
cargo fmt --all --check
echo "== cargo clippy"
cargo clippy --workspace --all-targets -- -D warnings
echo "== build"
cargo build --workspace --bins
echo "== tests"
if ! cargo test --workspace; then
  echo "== tests failed; last lines of the test logs (target/test-logs):"
  for f in target/test-logs/*/*.log; do
    [ -f "$f" ] || continue
    echo "---- $f"
    tail -n 25 "$f"
  done
  exit 1
fi
echo "== deploy test (scripts/test-deploy.sh: images, compose, kustomize, systemd units)"
scripts/test-deploy.sh
