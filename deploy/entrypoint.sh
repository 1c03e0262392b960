#!/bin/sh
# Entrypoint of the locust-http image (deploy/Containerfile).
# Fleet worker (`worker` with no other argument): advertise this container's own address unless
# LOCUST_HTTP_HOST / LOCUST_HTTP_ADVERTISE is set, so `--scale worker=N` gives N distinct etcd keys
# (today the worker's key is <prefix><host>:<port> and --host is required).
# TODO(issue 15 item 1): once the worker detects its address itself, this branch becomes a no-op.
set -eu
if [ "${1:-}" = "worker" ] && [ "$#" -eq 1 ] && [ -z "${LOCUST_HTTP_HOST:-}" ]; then
    LOCUST_HTTP_HOST="${LOCUST_HTTP_ADVERTISE:-$(hostname -i | cut -d' ' -f1)}"
    export LOCUST_HTTP_HOST
fi
exec "$@"
