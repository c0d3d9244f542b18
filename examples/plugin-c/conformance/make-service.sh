#!/bin/sh
# For berth-conformance: makes one fresh, stopped procdir service under DIR
# and prints its name (the ref the suite uses).
#   make-service.sh DIR
set -eu
dir=$1
name=svc-$$-$(date +%s%N)
mkdir -p "$dir/$name"
printf '#!/bin/sh\ntrap "exit 0" TERM\nwhile :; do sleep 0.05; done\n' >"$dir/$name/run"
chmod +x "$dir/$name/run"
echo "$name"
