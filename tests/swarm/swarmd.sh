#!/usr/bin/env bash
# A private dockerd of its own in single-node Swarm mode, for swarm.so's
# tests (apart from the shared test dockerd, whose containers Swarm would
# otherwise share a node with):  swarmd.sh start | stop
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
export BERTH_TEST_DOCKER_DIR=${BERTH_TEST_SWARM_DIR:-/tmp/berth-test-swarm}
export BERTH_TEST_DOCKER_TLS_PORT=${BERTH_TEST_SWARM_TLS_PORT:-23762}
sock=$BERTH_TEST_DOCKER_DIR/docker.sock
case "${1:-}" in
start)
  "$here/../docker/dockerd.sh" start
  [ -S "$sock" ] || exit 0  # no dockerd here: the tests skip, or fail under CI=true
  state=$(docker -H "unix://$sock" info --format '{{.Swarm.LocalNodeState}}')
  if [ "$state" != active ]; then
    docker -H "unix://$sock" swarm init --advertise-addr 127.0.0.1 >/dev/null
  fi
  ;;
stop)
  if [ -S "$sock" ] && [ -f "$BERTH_TEST_DOCKER_DIR/owned" ]; then
    docker -H "unix://$sock" service ls -q | xargs -r docker -H "unix://$sock" service rm >/dev/null 2>&1 || true
  fi
  "$here/../docker/dockerd.sh" stop
  ;;
*)
  echo "usage: $0 start|stop" >&2
  exit 2
  ;;
esac
