#!/usr/bin/env bash
# The conformance kit on procdir.so as a plugin author runs it: the installed
# berth-conformance runner, the plugin built out of tree, and a command that
# makes a stopped container (examples/plugin-c/README.md).
#   plugin_c_conformance.sh <out dir of build_plugin_c.sh> <berth source dir>
set -euo pipefail
out=$(realpath "$1") src=$(realpath "$2")
work=$(mktemp -d /tmp/berth-procdir-conf-XXXXXX)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/services"
printf '{"dir": "%s", "poll_ms": 50}\n' "$work/services" >"$work/procdir.json"
"$out/prefix/bin/berth-conformance" "$out/cmake/procdir.so" "$work/procdir.json" \
  --make-stopped "$src/examples/plugin-c/conformance/make-service.sh $work/services" \
  --remove "rm -rf '$work/services/'\"\$BERTH_REF\"" \
  --event-timeout-ms 5000
