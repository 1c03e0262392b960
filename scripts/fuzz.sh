#!/usr/bin/env bash
# Fuzzes the parsers that take input from the network or from users, each for a bounded time:
#   codec     the Locust msgpack codec (frames from a master)
#   plan      the plan validator (plans from the API, etcd pushes, files)
#   template  the template parser
# Usage: scripts/fuzz.sh [SECONDS_PER_TARGET (default 600)] [TARGET...]
# Needs the nightly toolchain; installs cargo-fuzz if missing. Seeds come from fuzz/seeds/
# (real frames, the example plans, templates); the growing corpus lives in fuzz/corpus/ and
# any crash in fuzz/artifacts/ (both ignored by git). Exit non-zero if any target crashed.
set -euo pipefail
cd "$(dirname "$0")/.."

seconds="${1:-600}"
shift || true
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(codec plan template)

if ! cargo fuzz --version >/dev/null 2>&1; then
  echo "fuzz: installing cargo-fuzz"
  cargo install cargo-fuzz --locked
fi

status=0
for t in "${targets[@]}"; do
  mkdir -p "fuzz/corpus/$t"
  cp -n "fuzz/seeds/$t/"* "fuzz/corpus/$t/" 2>/dev/null || true
  echo "== fuzz $t for ${seconds}s"
  if ! cargo +nightly fuzz run "$t" "fuzz/corpus/$t" -- \
      -max_total_time="$seconds" -rss_limit_mb=1024 -max_len=65536 -print_final_stats=1; then
    echo "fuzz: $t CRASHED; see fuzz/artifacts/$t/"
    status=1
  fi
done
exit $status
