#!/usr/bin/env bash
# Throughput and memory benchmark of the worker, against wrk in the same run.
#
#   bench/run.sh [--duration 10] [--connections 50] [--idle-users 10000]
#
# Installs what it needs (Debian's nginx and wrk; the project venv with Locust), builds the
# worker in release mode, starts nginx with one worker process on core 1 and then, on core 0:
#   1. wrk -t1 -c<connections> against nginx;
#   2. `worker run` with a one-step GET plan and <connections> users (a headless Locust master,
#      on core 1, counts the requests);
# and prints both requests/s and the ratio. Then it starts <idle-users> users idling in think
# time and prints the worker's RSS. Everything listens on 127.0.0.1 only, on free ports.
set -euo pipefail
cd "$(dirname "$0")/.."

DURATION=10
CONNECTIONS=50
IDLE_USERS=10000
while [ $# -gt 0 ]; do
  case "$1" in
    --duration) DURATION=$2; shift 2 ;;
    --connections) CONNECTIONS=$2; shift 2 ;;
    --idle-users) IDLE_USERS=$2; shift 2 ;;
    *) echo "usage: bench/run.sh [--duration S] [--connections N] [--idle-users N]" >&2; exit 2 ;;
  esac
done

if ! command -v nginx >/dev/null || ! command -v wrk >/dev/null; then
  echo "bench: installing nginx and wrk (Debian packages)"
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO=sudo
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq nginx-light wrk >/dev/null
fi
scripts/setup.sh >/dev/null
cargo build --release --bin worker -q

ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
CORES=$(nproc)
GEN_CORE=0
SRV_CORE=$(( CORES > 1 ? 1 : 0 ))
WORK=$(mktemp -d)
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# ---- the target: nginx, one worker process, on its own core
NGINX_PORT=$(free_port)
mkdir -p "$WORK/nginx"
cat > "$WORK/nginx/nginx.conf" <<CONF
worker_processes 1;
daemon off;
pid $WORK/nginx/nginx.pid;
error_log $WORK/nginx/error.log;
worker_rlimit_nofile 65536;
events { worker_connections 30000; }
http {
  access_log off;
  keepalive_requests 1000000;
  server {
    listen 127.0.0.1:$NGINX_PORT;
    location / { return 200 "ok"; }
  }
}
CONF
taskset -c "$SRV_CORE" nginx -c "$WORK/nginx/nginx.conf" -p "$WORK/nginx" &
PIDS+=($!)
for _ in $(seq 50); do curl -sf "http://127.0.0.1:$NGINX_PORT/" >/dev/null 2>&1 && break; sleep 0.1; done

echo "== wrk: 1 thread, $CONNECTIONS connections, ${DURATION}s, core $GEN_CORE (nginx on core $SRV_CORE)"
WRK_OUT=$(taskset -c "$GEN_CORE" wrk -t1 -c"$CONNECTIONS" -d"${DURATION}s" "http://127.0.0.1:$NGINX_PORT/")
WRK_RPS=$(echo "$WRK_OUT" | awk '/Requests\/sec/ {print $2}')
echo "$WRK_OUT" | sed 's/^/   /'

# ---- the worker, with a headless master counting
cat > "$WORK/get.json" <<PLAN
{"name": "bench", "host": "http://127.0.0.1:$NGINX_PORT",
 "transactions": [{"name": "get", "steps": [{"name": "get", "method": "GET", "url": "/"}]}]}
PLAN
run_master() { # users, run time, csv prefix, port
  taskset -c "$SRV_CORE" .venv/bin/locust -f deploy/locustfile.py --master --headless \
    --master-bind-host 127.0.0.1 --master-bind-port "$4" --web-host 127.0.0.1 --web-port "$(free_port)" \
    --expect-workers 1 -u "$1" -r "$1" -t "$2" --csv "$3" --only-summary > "$3.master.log" 2>&1
}
MPORT=$(free_port)
run_master "$CONNECTIONS" "$((DURATION + 2))s" "$WORK/tp" "$MPORT" &
MASTER=$!
PIDS+=($MASTER)
echo "== worker run: $CONNECTIONS users, no think time, core $GEN_CORE"
taskset -c "$GEN_CORE" target/release/worker run "$WORK/get.json" --master-port "$MPORT" --log warn &
PIDS+=($!)
wait "$MASTER" || true
# Requests/s over the steady part: requests / (last - first) as the master computed them.
read -r REQS WORKER_RPS FAILS < <(awk -F, '$2=="Aggregated" {print $3, $10, $4}' "$WORK/tp_stats.csv")
echo "   requests $REQS, failures $FAILS, requests/s $WORKER_RPS (the master's Aggregated row)"

RATIO=$(python3 -c "print(f'{float($WORKER_RPS)/float($WRK_RPS):.2f}')")
echo
echo "throughput: wrk ${WRK_RPS} req/s, worker ${WORKER_RPS} req/s, ratio ${RATIO} (target >= 0.8)"

# ---- memory with many idle users (three runs: the figure depends on how many connections the
# burst of first requests opens, so each run prints its socket count too)
cat > "$WORK/idle.json" <<PLAN
{"name": "idle", "host": "http://127.0.0.1:$NGINX_PORT", "think_time": {"constant": "1h"},
 "transactions": [{"name": "get", "steps": [{"name": "get", "method": "GET", "url": "/"}]}]}
PLAN
MAX_RSS=0
for run in 1 2 3; do
  MPORT=$(free_port)
  run_master "$IDLE_USERS" "20s" "$WORK/idle$run" "$MPORT" &
  MASTER=$!
  PIDS+=($MASTER)
  target/release/worker run "$WORK/idle.json" --master-port "$MPORT" --log warn &
  WPID=$!
  PIDS+=($WPID)
  for _ in $(seq 150); do
    sleep 0.1
    USERS=$(awk -F, 'NR>1 {u=$2} END {print u+0}' "$WORK/idle${run}_stats_history.csv" 2>/dev/null || echo 0)
    [ "${USERS:-0}" -ge "$IDLE_USERS" ] && break
  done
  sleep 3
  RSS_KB=$(awk '/VmRSS/ {print $2}' "/proc/$WPID/status")
  SOCKETS=$(find "/proc/$WPID/fd" -lname 'socket:*' 2>/dev/null | wc -l)
  echo "   run $run: ${IDLE_USERS} idle users, RSS $((RSS_KB / 1024)) MiB, $SOCKETS open sockets"
  [ "$RSS_KB" -gt "$MAX_RSS" ] && MAX_RSS=$RSS_KB
  wait "$MASTER" || true
  wait "$WPID" 2>/dev/null || true
done
echo "memory: ${IDLE_USERS} users idling in think time, worker RSS at most $((MAX_RSS / 1024)) MiB over 3 runs (target < 200 MB)"
