#!/usr/bin/env bash
# Starts/stops a private rootful Podman API service for the tests (Docker's
# compatible API on a unix socket), and makes the test image from busybox:
#   podman.sh start   → socket at $BERTH_TEST_PODMAN_DIR/podman.sock
#   podman.sh stop    → stops the service (and its containers) if this script started it
#   podman.sh cli ARGS → the podman CLI on the same storage
# Its storage, run root and events log live in that directory, apart from
# any other Podman on the machine. Exits 0 without a service when podman is
# not installed (the tests then skip, or fail under CI=true).
set -euo pipefail
dir=${BERTH_TEST_PODMAN_DIR:-/tmp/berth-test-podman}
sock=$dir/podman.sock
# The sandbox's hard limit on open files (20000 here) is below what Podman
# gives a container by default (1048576): every container the tests make
# passes --ulimit nofile=1024:20000 --ulimit nproc=1024:1024 (see
# plugins/docker/README.md, "Podman"); podman run takes them from here.
conf=$dir/containers.conf
podman_cli() {
  CONTAINERS_CONF=$conf podman --root "$dir/root" --runroot "$dir/run" --storage-driver vfs \
    --cgroup-manager cgroupfs --events-backend file --tmpdir "$dir/tmp" "$@"
}
alive() { [ -S "$sock" ] && curl -sf --max-time 2 --unix-socket "$sock" http://d/_ping >/dev/null 2>&1; }

case "${1:-}" in
start)
  if ! command -v podman >/dev/null; then
    echo "podman.sh: podman not installed; Podman tests will skip" >&2
    exit 0
  fi
  [ "$(id -u)" = 0 ] || { echo "podman.sh: need root for rootful podman" >&2; exit 0; }
  mkdir -p "$dir/tmp"
  cat >"$conf" <<CONF
[containers]
default_ulimits = ["nofile=1024:20000", "nproc=1024:1024"]
netns = "none"
[engine]
cgroup_manager = "cgroupfs"
events_logger = "file"
events_logfile_path = "$dir/events.log"
CONF
  if ! alive; then
    rm -f "$sock"
    # exec: the pid written below is the service's own, not a subshell's.
    (exec env CONTAINERS_CONF="$conf" podman --root "$dir/root" --runroot "$dir/run" \
      --storage-driver vfs --cgroup-manager cgroupfs --events-backend file --tmpdir "$dir/tmp" \
      system service --time 0 "unix://$sock") >"$dir/service.log" 2>&1 &
    echo $! >"$dir/service.pid"
    echo started >"$dir/owned"
    for _ in $(seq 1 100); do alive && break; sleep 0.1; done
    alive || { echo "podman.sh: service did not come up:" >&2; tail -20 "$dir/service.log" >&2; exit 1; }
  fi
  if ! podman_cli image exists berth-busybox:test; then
    rootfs=$(mktemp -d)
    mkdir -p "$rootfs/bin" "$rootfs/tmp" "$rootfs/www"
    cp "$(command -v busybox)" "$rootfs/bin/busybox"
    for applet in sh sleep httpd echo cat ls true false trap kill; do ln -s busybox "$rootfs/bin/$applet"; done
    echo "hello from berth" >"$rootfs/www/index.html"
    tar -C "$rootfs" -c . | podman_cli import - berth-busybox:test >/dev/null
    rm -rf "$rootfs"
  fi
  ;;
stop)
  if [ -f "$dir/owned" ] && [ -f "$dir/service.pid" ]; then
    podman_cli rm -af -t 0 >/dev/null 2>&1 || true
    pid=$(cat "$dir/service.pid")
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    rm -f "$dir/owned" "$sock"
  fi
  ;;
cli)
  shift
  podman_cli "$@"
  ;;
*)
  echo "usage: $0 start|stop|cli ARGS" >&2
  exit 2
  ;;
esac
