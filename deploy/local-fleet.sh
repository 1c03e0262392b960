#!/usr/bin/env bash
# The whole locust-http system on this machine, in one command:
#   etcd, a Locust master (web UI), the master-bridge, two workers and a demo shop;
#   examples/shop.json is pushed to the workers, aimed at the demo shop.
#
#   deploy/local-fleet.sh              # bring it up, print the URLs, wait for Ctrl-C
#   deploy/local-fleet.sh --headless   # bring it up, run 10 users for 30 s, print the summary, stop
#
# Options: --headless, --run-time 30s, --users 10, --debug (debug build, for tests).
# Installs only what running needs (scripts/setup-run.sh: a project venv with the pinned Locust and
# etcd; no npm, no browsers) and builds first.
# Default ports 2379 (etcd), 5557/8089 (master), 8080 (bridge), 3000/3001 (workers), 8000 (shop);
# a port that is busy is replaced by a free one. Everything binds to 127.0.0.1.
set -euo pipefail
cd "$(dirname "$0")/.."

HEADLESS=0
RUN_TIME=30s
USERS=10
PROFILE=release
while [ $# -gt 0 ]; do
  case "$1" in
    --headless) HEADLESS=1; shift ;;
    --run-time) RUN_TIME=$2; shift 2 ;;
    --users) USERS=$2; shift 2 ;;
    --debug) PROFILE=debug; shift ;;
    -h|--help) sed -n '2,13p' "$0"; exit 0 ;;
    *) echo "local-fleet: unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
done

scripts/setup-run.sh
if [ "$PROFILE" = release ]; then
  echo "local-fleet: building (release)"
  cargo build --release --bins -q
else
  cargo build --bins -q
fi
BIN=${CARGO_TARGET_DIR:-target}/$PROFILE

DIR=${LOCAL_FLEET_DIR:-.local-fleet}
rm -rf "$DIR"
mkdir -p "$DIR"

port() { # a default port, or a free one when it is taken (always a free one with LOCAL_FLEET_FREE_PORTS=1)
  python3 - "$1" "${LOCAL_FLEET_FREE_PORTS:-0}" <<'PY'
import socket, sys
want = 0 if sys.argv[2] == "1" else int(sys.argv[1])
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
try:
    s.bind(("127.0.0.1", want))
except OSError:
    s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])
PY
}
ETCD_PORT=$(port 2379); ETCD_PEER=$(port 2380); MASTER_PORT=$(port 5557); WEB_PORT=$(port 8089)
BRIDGE_PORT=$(port 8080); W1_PORT=$(port 3000); W2_PORT=$(port 3001); SHOP_PORT=$(port 8000)

PIDS=()
cleanup() {
  trap - EXIT INT TERM
  echo
  echo "local-fleet: stopping"
  # Workers first (they leave the master and etcd), then the rest; only our own pids.
  [ -n "${SLEEP_PID:-}" ] && kill "$SLEEP_PID" 2>/dev/null
  for p in "${PIDS[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  for _ in $(seq 50); do
    alive=0
    for p in "${PIDS[@]}"; do kill -0 "$p" 2>/dev/null && alive=1; done
    [ $alive -eq 0 ] && break
    sleep 0.1
  done
  for p in "${PIDS[@]}"; do kill -KILL "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
}
trap cleanup EXIT
trap 'exit 130' INT TERM

start() { # name, command...
  local name=$1; shift
  "$@" > "$DIR/$name.log" 2>&1 &
  PIDS=("$!" "${PIDS[@]}")
}

wait_http() { # url, what
  for _ in $(seq 100); do
    curl -sf "$1" > /dev/null 2>&1 && return 0
    sleep 0.2
  done
  echo "local-fleet: $2 did not come up; see $DIR/" >&2
  exit 1
}

start etcd .venv/bin/etcd --name local --data-dir "$DIR/etcd" \
  --listen-client-urls "http://127.0.0.1:$ETCD_PORT" --advertise-client-urls "http://127.0.0.1:$ETCD_PORT" \
  --listen-peer-urls "http://127.0.0.1:$ETCD_PEER" --initial-advertise-peer-urls "http://127.0.0.1:$ETCD_PEER" \
  --initial-cluster "local=http://127.0.0.1:$ETCD_PEER" --log-level warn
wait_http "http://127.0.0.1:$ETCD_PORT/health" etcd

start shop "$BIN/master-bridge" demo-target --listen 127.0.0.1 --port "$SHOP_PORT"
start master .venv/bin/locust -f deploy/locustfile.py --master \
  --master-bind-host 127.0.0.1 --master-bind-port "$MASTER_PORT" \
  --web-host 127.0.0.1 --web-port "$WEB_PORT"
export LOCUST_HTTP_ETCD="127.0.0.1:$ETCD_PORT" LOCUST_HTTP_MASTER_HOST=127.0.0.1 LOCUST_HTTP_MASTER_PORT="$MASTER_PORT"
export LOCUST_HTTP_LOCUST_WEB="http://127.0.0.1:$WEB_PORT"
# A fresh fleet token for this fleet, in a file only we can read; workers and the bridge read it
# from LOCUST_HTTP_TOKEN_FILE (never from a flag, which would show in `ps`).
( umask 077; python3 -c 'import secrets; print(secrets.token_hex(32))' > "$DIR/fleet-token" )
export LOCUST_HTTP_TOKEN_FILE="$DIR/fleet-token"
start bridge "$BIN/master-bridge" --web-host 127.0.0.1 --web-port "$BRIDGE_PORT" --data-dir "$DIR/bridge"
start worker1 "$BIN/worker" --host 127.0.0.1 --port "$W1_PORT" --label pool=local
start worker2 "$BIN/worker" --host 127.0.0.1 --port "$W2_PORT" --label pool=local
wait_http "http://127.0.0.1:$SHOP_PORT/health" "the demo shop"
wait_http "http://127.0.0.1:$WEB_PORT/worker-count" "the Locust master"
wait_http "http://127.0.0.1:$BRIDGE_PORT/api/workers" "the bridge"

# examples/shop.json, aimed at the demo shop.
python3 - "$SHOP_PORT" > "$DIR/shop.json" <<'PY'
import json, sys
plan = json.load(open("examples/shop.json"))
plan["host"] = f"http://127.0.0.1:{sys.argv[1]}"
print(json.dumps(plan))
PY

for _ in $(seq 100); do
  n=$(curl -sf "http://127.0.0.1:$BRIDGE_PORT/api/workers" | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))' || echo 0)
  [ "$n" -ge 2 ] && break
  sleep 0.2
done

if [ $HEADLESS -eq 1 ]; then
  echo "local-fleet: running $USERS users for $RUN_TIME against the demo shop"
  "$BIN/master-bridge" run "$DIR/shop.json" -u "$USERS" -r "$USERS" -t "$RUN_TIME" --data-dir "$DIR/oneshot" --log warn
  exit $?
fi

PLAN_ID=$(curl -sf -X POST -H 'content-type: application/json' --data @"$DIR/shop.json" \
  "http://127.0.0.1:$BRIDGE_PORT/api/plans" | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
curl -sf -X POST -H 'content-type: application/json' --data '{}' \
  "http://127.0.0.1:$BRIDGE_PORT/api/plans/$PLAN_ID/push" > /dev/null

cat <<TXT

locust-http is up (logs in $DIR/):
  locust-http web UI  http://127.0.0.1:$BRIDGE_PORT/
  master-bridge API   http://127.0.0.1:$BRIDGE_PORT/api/workers   (plans, runs, /metrics)
  Locust master UI    http://127.0.0.1:$WEB_PORT
  demo shop           http://127.0.0.1:$SHOP_PORT
  etcd                127.0.0.1:$ETCD_PORT
  fleet token         $DIR/fleet-token (LOCUST_HTTP_TOKEN_FILE for more workers)
  workers             127.0.0.1:$W1_PORT, 127.0.0.1:$W2_PORT (plan "shop" pushed, id $PLAN_ID)

Start a run from the web UI (Runs page) or the Locust UI, or:
  curl -X POST -H 'content-type: application/json' \\
    -d '{"plan": "$PLAN_ID", "users": 10, "spawn_rate": 10, "run_time": "30s"}' \\
    http://127.0.0.1:$BRIDGE_PORT/api/runs
Ctrl-C stops everything.
TXT
# `wait` (unlike a foreground sleep) lets the INT/TERM trap run at once.
while true; do
  sleep 3600 &
  SLEEP_PID=$!
  wait "$SLEEP_PID" || true
done
