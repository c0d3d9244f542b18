#!/usr/bin/env bash
# Starts/stops a private Docker engine for the tests, and makes the test
# image from busybox (no registry is needed):
#   dockerd.sh start   → prints nothing; socket at $BERTH_TEST_DOCKER_DIR/docker.sock
#   dockerd.sh stop    → stops it if this script started it
# Idempotent: `start` reuses a live engine on the socket, `stop` leaves alone
# one it did not start. Exits 0 without an engine when dockerd is not
# installed (the tests then skip, or fail under CI=true).
set -euo pipefail
dir=${BERTH_TEST_DOCKER_DIR:-/tmp/berth-test-dockerd}
sock=$dir/docker.sock
# The same engine also listens on TCP with TLS (client certificates required),
# with a CA and certificates made here: $dir/tls/{ca,cert,key,server-cert,server-key}.pem
tls_port=${BERTH_TEST_DOCKER_TLS_PORT:-23760}
docker_cli() { docker -H "unix://$sock" "$@"; }
alive() { [ -S "$sock" ] && docker_cli version >/dev/null 2>&1; }

make_certs() {
  local t=$dir/tls
  [ -f "$t/cert.pem" ] && return 0
  mkdir -p "$t"
  (
    cd "$t"
    openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=berth-test-ca -keyout ca-key.pem -out ca.pem
    openssl req -newkey rsa:2048 -nodes -subj /CN=localhost -keyout server-key.pem -out server.csr
    printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n' >server.ext
    openssl x509 -req -in server.csr -CA ca.pem -CAkey ca-key.pem -CAcreateserial -days 2 \
      -extfile server.ext -out server-cert.pem
    openssl req -newkey rsa:2048 -nodes -subj /CN=berth-client -keyout key.pem -out client.csr
    printf 'extendedKeyUsage=clientAuth\n' >client.ext
    openssl x509 -req -in client.csr -CA ca.pem -CAkey ca-key.pem -CAcreateserial -days 2 \
      -extfile client.ext -out cert.pem
  ) >/dev/null 2>&1
}

case "${1:-}" in
start)
  if ! command -v dockerd >/dev/null; then
    echo "dockerd.sh: dockerd not installed; Docker tests will skip" >&2
    exit 0
  fi
  mkdir -p "$dir"
  if ! alive; then
    [ "$(id -u)" = 0 ] || { echo "dockerd.sh: need root to run dockerd" >&2; exit 0; }
    make_certs
    # A dockerd that was SIGKILLed leaves its pid file, and a new one refuses
    # to start while it is there.
    # Its containerd outlives it and holds its socket: gone too, as a
    # supervisor would see to.
    pkill -f "containerd --config $dir/exec/" 2>/dev/null && sleep 0.5 || true
    rm -f "$dir/exec/containerd/containerd.pid"
    # (Killed and not yet reaped, it is a zombie: as gone as a missing one.)
    if [ -f "$dir/docker.pid" ]; then
      pid=$(cat "$dir/docker.pid")
      if [ ! -r "/proc/$pid/status" ] || grep -q '^State:[[:space:]]*Z' "/proc/$pid/status"; then rm -f "$dir/docker.pid"; fi
    fi
    dockerd --host "unix://$sock" --data-root "$dir/data" --exec-root "$dir/exec" \
      --host "tcp://127.0.0.1:$tls_port" --tlsverify --tlscacert "$dir/tls/ca.pem" \
      --tlscert "$dir/tls/server-cert.pem" --tlskey "$dir/tls/server-key.pem" \
      --pidfile "$dir/docker.pid" --bridge=none --iptables=false --ip-masq=false \
      >"$dir/dockerd.log" 2>&1 &
    echo started >"$dir/owned"
    for _ in $(seq 1 100); do alive && break; sleep 0.2; done
    alive || { echo "dockerd.sh: dockerd did not come up:" >&2; tail -20 "$dir/dockerd.log" >&2; exit 1; }
  fi
  if ! docker_cli image inspect berth-busybox:test >/dev/null 2>&1; then
    rootfs=$(mktemp -d)
    mkdir -p "$rootfs/bin" "$rootfs/tmp" "$rootfs/www"
    cp "$(command -v busybox)" "$rootfs/bin/busybox"
    for applet in sh sleep httpd echo cat ls true false trap kill; do ln -s busybox "$rootfs/bin/$applet"; done
    echo "hello from berth" >"$rootfs/www/index.html"
    tar -C "$rootfs" -c . | docker_cli import - berth-busybox:test >/dev/null
    rm -rf "$rootfs"
  fi
  ;;
stop)
  if [ -f "$dir/owned" ] && [ -f "$dir/docker.pid" ]; then
    pid=$(cat "$dir/docker.pid")
    # Paused ones unpaused first: once, Docker 20.10's `rm -f` of a paused
    # container whose healthcheck exec was frozen with it hung for 12 min,
    # until its freezer cgroup was thawed by hand (not reproduced since).
    docker_cli ps -q --filter status=paused 2>/dev/null | xargs -r timeout 30 docker -H "unix://$sock" unpause >/dev/null 2>&1 || true
    docker_cli ps -aq 2>/dev/null | xargs -r timeout 60 docker -H "unix://$sock" rm -f >/dev/null 2>&1 || true
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
    # dockerd leaves its containerd behind when killed before it could clean up.
    pkill -f "containerd --config $dir/exec/" 2>/dev/null || true
    rm -f "$dir/owned"
  fi
  ;;
*)
  echo "usage: $0 start|stop" >&2
  exit 2
  ;;
esac
