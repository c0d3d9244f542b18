#!/usr/bin/env bash
# Builds the libFuzzer targets (if needed) and runs each one in turn for a
# fixed budget; exits non-zero if any finds anything (crash, leak,
# UB, timeout, OOM). For CI:
#
#   tests/fuzz/run.sh 20            # 20 s per target
#   tests/fuzz/run.sh -runs=100000  # 100 000 executions per target
#   TARGETS="request labels" tests/fuzz/run.sh 60
#
# Each target first replays the reproducers of past findings
# (tests/fuzz/regressions/<target>/), then fuzzes from its seeds
# (tests/fuzz/corpus/<target>/, never written) and the inputs earlier runs
# found (<build>/fuzz/corpus/<target>/).
# A finding is left in <build>/fuzz/artifacts/<target>/ (path printed).
# Environment: BUILD_DIR (default <repo>/build-fuzz), JOBS (build, default 2),
# FUZZ_JOBS (targets run at once, default 2), TARGETS (default: all),
# FUZZ_ARGS (extra libFuzzer flags).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
build="${BUILD_DIR:-$root/build-fuzz}"
budget="${1:-20}"
case "$budget" in
  -runs=*) limit=("$budget") ;;
  *[!0-9]*|'') echo "usage: $0 [SECONDS | -runs=N]" >&2; exit 2 ;;
  *) limit=("-max_total_time=$budget") ;;
esac

if [[ ! -f "$build/CMakeCache.txt" ]]; then
  CC="${CC:-clang}" CXX="${CXX:-clang++}" cmake -S "$root" -B "$build" -DBERTH_FUZZ=ON -DBERTH_BUILD_TESTS=OFF \
    -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
fi
cmake --build "$build" -j"${JOBS:-2}" --target berth_fuzz

targets="${TARGETS:-$(sed -n 's/^set(BERTH_FUZZ_TARGETS_LIST \(.*\))$/\1/p' "$here/CMakeLists.txt")}"
# Leaks are findings too; a run stops at its first finding. (UBSan's options,
# with ubsan.supp, are compiled in: fuzz_options.cpp.)
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1:symbolize=1}"
# One target: its report goes to <build>/fuzz/<target>.report, its status
# is the exit code. Targets run ${FUZZ_JOBS:-2} at a time, reports in order.
fuzz_one() {
  local t=$1 seeds="$here/corpus/$1" work="$build/fuzz/corpus/$1" artifacts="$build/fuzz/artifacts/$1"
  local log="$build/fuzz/$1.log"
  mkdir -p "$work" "$artifacts"
  echo "=== $t (${limit[*]})"
  # Past findings first: each reproducer once (regressions/<target>/).
  if compgen -G "$here/regressions/$t/*" >/dev/null; then
    if ! "$build/fuzz/${t}_fuzz" "$here/regressions/$t/"* >"$log" 2>&1; then
      echo "!!! $t: a past finding is back (log $log)"
      grep -E 'ERROR|runtime error|Assertion|SUMMARY|Running:' "$log" | head -20
      return 1
    fi
  fi
  # -timeout: one input over 10 s is a hang; -rss_limit_mb: 2 GiB is an OOM.
  if "$build/fuzz/${t}_fuzz" "${limit[@]}" -timeout=10 -rss_limit_mb=2048 -max_len=8192 \
       -print_final_stats=1 -artifact_prefix="$artifacts/" ${FUZZ_ARGS:-} "$work" "$seeds" >"$log" 2>&1; then
    grep -E '^(Done|stat::number_of_executed_units|stat::average_exec_per_sec|stat::peak_rss_mb)|cov: .*ft:' \
      "$log" | tail -5
  else
    echo "!!! $t: finding (log $log)"
    grep -E 'ERROR|runtime error|SUMMARY|Test unit written|deadly signal' "$log" | head -20
    return 1
  fi
}
mkdir -p "$build/fuzz"
declare -A pid_of
for t in $targets; do
  while (( $(jobs -rp | wc -l) >= ${FUZZ_JOBS:-2} )); do wait -n || true; done
  fuzz_one "$t" >"$build/fuzz/$t.report" 2>&1 &
  pid_of[$t]=$!
done
failed=()
for t in $targets; do
  wait "${pid_of[$t]}" || failed+=("$t")
  cat "$build/fuzz/$t.report"
done
if ((${#failed[@]})); then
  echo "fuzz findings in: ${failed[*]}"
  exit 1
fi
echo "fuzz: all targets ran without findings"
