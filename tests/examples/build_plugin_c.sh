#!/usr/bin/env bash
# Installs berth from the build tree into a scratch prefix, then builds
# examples/plugin-c against that prefix only: with find_package(berth-sdk)
# and with pkg-config. Both must produce a loadable procdir.so. Then the C++
# subscriber example against the same prefix: the client headers install too.
#   build_plugin_c.sh <berth build dir> <berth source dir> <out dir>
# It also checks that the installed berthd serves the installed plugins.
set -euo pipefail
build=$(realpath "$1") src=$(realpath "$2") out=$(realpath -m "$3")
rm -rf "$out" && mkdir -p "$out"
cmake --install "$build" --prefix "$out/prefix" >/dev/null
# The installed daemon finds the installed plugins by itself (bin/../lib/berth/plugins).
log=$(BERTH_RUNTIME_DIR="$out/rt" timeout -s TERM 2 "$out/prefix/bin/berthd" 2>&1 || true)
grep -q "providers: .*sim(sim)" <<<"$log" || { echo "installed berthd did not load its plugins:"; echo "$log"; exit 1; }
# 1. CMake, out of tree: nothing of the source tree on the include path.
cmake -S "$src/examples/plugin-c" -B "$out/cmake" -DCMAKE_PREFIX_PATH="$out/prefix" \
  -DCMAKE_C_FLAGS="-Werror" >/dev/null
cmake --build "$out/cmake" >/dev/null
test -f "$out/cmake/procdir.so"
# 2. pkg-config.
PKG_CONFIG_PATH="$(dirname "$(find "$out/prefix" -name berth-sdk.pc)")" \
  make -s -C "$src/examples/plugin-c" OUT="$out" CFLAGS="-O2 -Wall -Wextra -Wpedantic -Werror"
test -f "$out/procdir.so"
# 3. A client too: examples/subscriber-cpp against the installed berth::client
#    (berth/client.hpp, berth/follow.hpp) and the system's RapidJSON and cppzmq.
cmake -S "$src/examples/subscriber-cpp" -B "$out/subscriber" -DCMAKE_PREFIX_PATH="$out/prefix" \
  -DCMAKE_CXX_FLAGS="-Werror -Wall -Wextra" >/dev/null
cmake --build "$out/subscriber" >/dev/null
test -x "$out/subscriber/berth-subscriber"
# 4. The plugin author's guide, installed, links only to what the install
#    ships (and, laid out alike, to what the source tree has).
check_links() {  # <guide.md>
  local guide=$1 dir missing=0
  dir=$(dirname "$guide")
  while read -r target; do
    target=${target%%#*}
    [ -z "$target" ] && continue
    [ -e "$dir/$target" ] || { echo "$guide links to missing $target"; missing=1; }
  done < <(grep -o '](\([^)]*\))' "$guide" | sed 's/^](\(.*\))$/\1/' | grep -v '^https\?:')
  return $missing
}
guide=$(find "$out/prefix/share/doc" -path '*/sdk/README.md' | head -1)
[ -n "$guide" ] || { echo "the SDK guide is not installed"; exit 1; }
check_links "$guide"
check_links "$src/sdk/README.md"
echo "procdir.so built both ways, berth-subscriber once, in $out"
