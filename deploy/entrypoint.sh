#!/bin/sh
# Entrypoint of the locust-http image (deploy/Containerfile): runs the given command. A fleet
# worker needs nothing but LOCUST_HTTP_ETCD: it finds its own address from its route to etcd
# (or LOCUST_HTTP_ADVERTISE) and registers under a fresh unique id, so `--scale worker=N` gives
# N workers.
set -eu
exec "$@"
