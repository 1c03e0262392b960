#!/usr/bin/env bash
# Throughput and memory benchmark of the worker, against wrk in the same run.
#
#   bench/run.sh [--duration 10] [--connections 50] [--idle-users 10000]
#
# Prints, in one run: requests/s and CPU microseconds per request of wrk and of the worker (and
# of oha when installed), their ratios, the worker's CPU per request on two runtime threads
# against one, RSS per idle user with the socket count at 5,000 and --idle-users users, and the
# time to start 100,000 users.
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

# CPU seconds (user + system) a command and its children used, written to $1.
cpu_of() {
  local out=$1; shift
  python3 -c '
import resource, subprocess, sys
subprocess.run(sys.argv[2:])
r = resource.getrusage(resource.RUSAGE_CHILDREN)
open(sys.argv[1], "w").write(f"{r.ru_utime + r.ru_stime:.3f}\n")
' "$out" "$@"
}
us_per_req() { python3 -c "print(f'{float($1) * 1e6 / max(float($2), 1):.2f}')"; }

echo "== wrk: 1 thread, $CONNECTIONS connections, ${DURATION}s, core $GEN_CORE (nginx on core $SRV_CORE)"
WRK_OUT=$(cpu_of "$WORK/wrk.cpu" taskset -c "$GEN_CORE" wrk -t1 -c"$CONNECTIONS" -d"${DURATION}s" "http://127.0.0.1:$NGINX_PORT/")
WRK_RPS=$(echo "$WRK_OUT" | awk '/Requests\/sec/ {print $2}')
WRK_REQS=$(echo "$WRK_OUT" | awk '/requests in/ {print $1}')
WRK_US=$(us_per_req "$(cat "$WORK/wrk.cpu")" "$WRK_REQS")
echo "$WRK_OUT" | sed 's/^/   /'
echo "   CPU per request: ${WRK_US} us"

OHA_LINE=""
if command -v oha >/dev/null; then
  echo "== oha (optional peer): $CONNECTIONS connections, ${DURATION}s, core $GEN_CORE"
  OHA_OUT=$(cpu_of "$WORK/oha.cpu" taskset -c "$GEN_CORE" oha --no-tui -c "$CONNECTIONS" -z "${DURATION}s" "http://127.0.0.1:$NGINX_PORT/")
  OHA_RPS=$(echo "$OHA_OUT" | awk '/Requests\/sec/ {print $2}')
  OHA_REQS=$(python3 -c "print(int(float($OHA_RPS) * $DURATION))")
  OHA_US=$(us_per_req "$(cat "$WORK/oha.cpu")" "$OHA_REQS")
  OHA_LINE="oha ${OHA_RPS} req/s at ${OHA_US} us/request"
  echo "   $OHA_LINE"
else
  echo "== oha not installed (cargo install oha): skipped as an optional peer"
fi

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
# worker_bench THREADS CORES PREFIX [PLAN]: one `worker run` of $CONNECTIONS users without think
# time, counted by a headless master; sets REQS, WORKER_RPS, FAILS and WORKER_US.
worker_bench() {
  local threads=$1 cores=$2 prefix=$3 plan=${4:-$WORK/get.json} mport
  mport=$(free_port)
  run_master "$CONNECTIONS" "$((DURATION + 2))s" "$WORK/$prefix" "$mport" &
  local master=$!
  PIDS+=($master)
  echo "== worker run: $CONNECTIONS users, no think time, cores $cores, --threads $threads"
  cpu_of "$WORK/$prefix.cpu" taskset -c "$cores" target/release/worker run "$plan" --threads "$threads" --master-port "$mport" --log warn &
  local wrap=$!
  PIDS+=($wrap)
  wait "$master" || true
  wait "$wrap" || true
  read -r REQS WORKER_RPS FAILS < <(awk -F, '$2=="Aggregated" {print $3, $10, $4}' "$WORK/${prefix}_stats.csv")
  WORKER_RPS=$(python3 -c "print(f'{float($WORKER_RPS):.0f}')")
  WORKER_US=$(us_per_req "$(cat "$WORK/$prefix.cpu")" "$REQS")
  echo "   requests $REQS, failures $FAILS, requests/s $WORKER_RPS (the master's Aggregated row), CPU per request ${WORKER_US} us (whole process, ramp and report included)"
}
worker_bench 1 "$GEN_CORE" tp
RATIO=$(python3 -c "print(f'{float($WORKER_RPS)/float($WRK_RPS):.2f}')")
CPU_RATIO=$(python3 -c "print(f'{float($WORKER_US)/float($WRK_US):.2f}')")
echo
echo "throughput: wrk ${WRK_RPS} req/s, worker ${WORKER_RPS} req/s, ratio ${RATIO} (target >= 0.8)"
echo "CPU per request: wrk ${WRK_US} us, worker ${WORKER_US} us, ratio ${CPU_RATIO} (target <= 1.25)"
[ -n "$OHA_LINE" ] && echo "peer: $OHA_LINE"

# ---- the cost of a second load thread (each thread is its own single-threaded runtime whose
# users stay on it). Measured twice:
#  - on the generator's core: what the second runtime thread itself costs per request;
#  - on both cores, where the second thread shares core 1 with nginx and the master: on this
#    2-core machine that adds the cost of the two fighting over one core (shown for the record).
if [ "$CORES" -gt 1 ]; then
  ONE_US=$WORKER_US
  worker_bench 2 "$GEN_CORE" tp2
  THREADS_RATIO=$(python3 -c "print(f'{float($WORKER_US)/float($ONE_US):.2f}')")
  worker_bench 1 "$GEN_CORE,$SRV_CORE" tp1b
  SHARED_ONE_US=$WORKER_US
  worker_bench 2 "$GEN_CORE,$SRV_CORE" tp2b
  SHARED_RATIO=$(python3 -c "print(f'{float($WORKER_US)/float($SHARED_ONE_US):.2f}')")
  echo "threads: CPU per request on core $GEN_CORE: --threads 1 ${ONE_US} us, --threads 2 $(us_per_req "$(cat "$WORK/tp2.cpu")" "$(awk -F, '$2=="Aggregated" {print $3}' "$WORK/tp2_stats.csv")") us, ratio ${THREADS_RATIO} (target <= 1.10)"
  echo "threads: on cores $GEN_CORE,$SRV_CORE (sharing core $SRV_CORE with nginx): --threads 1 ${SHARED_ONE_US} us, --threads 2 ${WORKER_US} us, ratio ${SHARED_RATIO} (for the record)"
fi

# ---- memory with many idle users, each holding its own connection
cat > "$WORK/idle.json" <<PLAN
{"name": "idle", "host": "http://127.0.0.1:$NGINX_PORT", "think_time": {"constant": "1h"},
 "transactions": [{"name": "get", "steps": [{"name": "get", "method": "GET", "url": "/"}]}]}
PLAN
for users in 5000 "$IDLE_USERS"; do
  target/release/worker run "$WORK/idle.json" --headless -u "$users" -t 15s > "$WORK/idle$users.log" 2>&1 &
  WPID=$!
  PIDS+=($WPID)
  for _ in $(seq 100); do
    sleep 0.1
    grep -q "users started" "$WORK/idle$users.log" && break
  done
  sleep 4
  RSS_KB=$(awk '/VmRSS/ {print $2}' "/proc/$WPID/status")
  SOCKETS=$(find "/proc/$WPID/fd" -lname 'socket:*' 2>/dev/null | wc -l)
  PER_USER=$(python3 -c "print(f'{$RSS_KB * 1024 / $users / 1000:.1f}')")
  echo "memory: $users idle users, RSS $((RSS_KB / 1024)) MiB, ${PER_USER} KB per user (whole process RSS / users), $SOCKETS open sockets (target <= 8 KB per user, one connection each)"
  kill "$WPID" 2>/dev/null || true
  wait "$WPID" 2>/dev/null || true
done

# ---- spawning 100,000 users (each waits for a rate-limiter slot, so no request goes out)
cat > "$WORK/spawn.json" <<PLAN
{"name": "spawn", "host": "http://127.0.0.1:$NGINX_PORT", "max_rps": 0.001,
 "transactions": [{"name": "get", "steps": [{"name": "get", "method": "GET", "url": "/"}]}]}
PLAN
SPAWN=$(target/release/worker run "$WORK/spawn.json" --headless -u 100000 -t 3s 2>&1 | grep "users started" || true)
echo "spawn: ${SPAWN:-not measured} (target < 2 s)"
