#!/usr/bin/env bash
# The conformance kit on procdir.so as a plugin author runs it: the installed
# berth-conformance runner, the plugin built out of tree, and a command that
# makes a stopped container (examples/plugin-c/README.md); then the same
# plugin built against earlier minors' headers.
#   plugin_c_conformance.sh <out dir of build_plugin_c.sh> <berth source dir>
set -euo pipefail
out=$(realpath "$1") src=$(realpath "$2")
work=$(mktemp -d /tmp/berth-procdir-conf-XXXXXX)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/services"
printf '{"dir": "%s", "poll_ms": 50}\n' "$work/services" >"$work/procdir.json"
conformance() {  # <plugin.so>
  "$out/prefix/bin/berth-conformance" "$1" "$work/procdir.json" \
    --make-stopped "$src/examples/plugin-c/conformance/make-service.sh $work/services" \
    --remove "rm -rf '$work/services/'\"\$BERTH_REF\"" \
    --event-timeout-ms 5000
}
conformance "$out/cmake/procdir.so"
# The same source built against the headers ABI 1.1 and 1.2 shipped (frozen
# in tests/abi; procdir.c needs 1.1's call_wait): old binaries still pass.
for minor in 1.1 1.2; do
  cc -std=c11 -O2 -Wall -Wextra -Werror -fPIC -shared -fvisibility=hidden -Wl,--no-undefined \
    -I "$src/tests/abi/$minor" -o "$work/procdir-$minor.so" "$src/examples/plugin-c/procdir.c" -pthread
  echo "--- procdir.c built against the ABI $minor header"
  conformance "$work/procdir-$minor.so"
done
