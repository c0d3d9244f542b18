#!/usr/bin/env bash
# berthd's /metrics, scraped by the real Prometheus server: berthd with sim.so
# and metrics_listen, a subscriber and a few commands; promtool checks the
# exposition; Prometheus scrapes it and its query API must return the figures.
#   prometheus.sh <berthd> <berthctl> <sim.so>
set -euo pipefail
berthd=$1 berthctl=$2 sim=$3
for tool in prometheus promtool curl python3; do
  command -v $tool >/dev/null || { echo "missing $tool (apt-get install prometheus curl)"; exit 1; }
done
work=$(mktemp -d /tmp/berth-prom-XXXXXX)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
mport=$(free_port) pport=$(free_port)

cat >"$work/berthd.json" <<JSON
{"runtime_dir": "$work/rt", "metrics_listen": "127.0.0.1:$mport", "heartbeat_ms": 200,
 "providers": [{"name": "sim", "plugin": "$sim"}]}
JSON
"$berthd" --config "$work/berthd.json" >"$work/berthd.log" 2>&1 & pids+=($!)
for _ in $(seq 100); do grep -q " ready" "$work/berthd.log" && break; sleep 0.05; done
grep -q "metrics on http://127.0.0.1:$mport/metrics" "$work/berthd.log" || { cat "$work/berthd.log"; exit 1; }

ctl() { "$berthctl" --runtime-dir "$work/rt" "$@"; }
ctl events >/dev/null 2>&1 & pids+=($!)
ctl stop web -t 1 >/dev/null
ctl start web >/dev/null
ctl status no-such-container >/dev/null 2>&1 && { echo "status of a missing container succeeded"; exit 1; }

metrics=$(curl -sf "http://127.0.0.1:$mport/metrics")
lint=$(promtool check metrics <<<"$metrics" 2>&1) || { echo "promtool check metrics failed:"; echo "$lint"; exit 1; }
[ -z "$lint" ] || { echo "promtool: $lint"; exit 1; }
curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$mport/nope" | grep -q 404

cat >"$work/prometheus.yml" <<YAML
global: {scrape_interval: 1s}
scrape_configs:
  - job_name: berthd
    static_configs: [{targets: ["127.0.0.1:$mport"]}]
YAML
prometheus --config.file="$work/prometheus.yml" --storage.tsdb.path="$work/tsdb" \
  --web.listen-address="127.0.0.1:$pport" >"$work/prometheus.log" 2>&1 & pids+=($!)

# One instant query: prints the first sample's value, or nothing.
query() {
  curl -sf --get "http://127.0.0.1:$pport/api/v1/query" --data-urlencode "query=$1" 2>/dev/null |
    python3 -c 'import json,sys; r=json.load(sys.stdin)["data"]["result"]; print(r[0]["value"][1] if r else "")' 2>/dev/null || true
}
want() {  # <promql> <expected value>
  local got=""
  for _ in $(seq 150); do
    got=$(query "$1")
    [ "$got" = "$2" ] && { echo "ok: $1 = $got"; return 0; }
    sleep 0.2
  done
  echo "FAIL: $1 = '$got', expected $2"; tail -5 "$work/prometheus.log"; exit 1
}
want 'up{job="berthd"}' 1
want 'berth_events_published_total{provider="sim",type="exited"}' 1
want 'berth_events_published_total{provider="sim",type="started"}' 1
want 'berth_commands_total{op="stop",code="ok"}' 1
want 'berth_commands_total{op="status",code="not_found"}' 1
want 'berth_command_duration_seconds_count{op="start"}' 1
want 'berth_provider_up{provider="sim"}' 1
want 'berth_subscribers' 1
want 'berth_queue_capacity' 65536
echo "prometheus scraped berthd: all figures as expected"
