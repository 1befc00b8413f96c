#!/usr/bin/env bash
# Compile time and peak memory of bench/overhead/overhead.cpp (four workflows of 1,000 to
# 4,096 nodes) with its static_asserts on the four compile-time plans (as built by CMake:
# clang++ gets -fconstexpr-steps=8388608) and without them (-DLOOM_BENCH_NO_STATIC_PLANS),
# for each compiler; medians of REPEATS compilations (compile and link, -std=c++20 -O2
# -DNDEBUG).
#
#   bench/overhead/compile_cost.sh
#
# Environment: COMPILERS (default "g++ clang++"), REPEATS (3), LOOM_INCLUDE, OUT_DIR,
# TIMEOUT, WAIT_QUIET (see bench/common.sh).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
# shellcheck source-path=SCRIPTDIR source=../common.sh
source "$here/../common.sh"
REPEATS="${REPEATS:-3}"
COMPILERS="${COMPILERS:-g++ clang++}"
LOOM_INCLUDE="${LOOM_INCLUDE:-$root/include}"
OUT_DIR="${OUT_DIR:-$root/build/bench_overhead_compile}"
require_time
mkdir -p "$OUT_DIR"

echo "| compiler | plans evaluated | wall time (s) | CPU time (s) | peak memory (MiB) |"
echo "|----------|-----------------|--------------:|-------------:|------------------:|"
for cxx in $COMPILERS; do
  tag="$(basename "$cxx")"
  for plans in no yes; do
    extra=(-DLOOM_BENCH_NO_STATIC_PLANS)
    if [ "$plans" = yes ]; then
      extra=()
      case "$tag" in clang*) extra=(-fconstexpr-steps=8388608) ;; esac
    fi
    times=(); cpus=(); mems=(); busy_note=""; failed=""
    for ((r = 1; r <= REPEATS; ++r)); do
      wait_quiet
      log="$OUT_DIR/overhead_${tag}_$plans.log"
      if measure "$log" "$cxx" -std=c++20 -O2 -DNDEBUG "${extra[@]}" -I "$LOOM_INCLUDE" "$here/overhead.cpp" \
           -o "$OUT_DIR/bench_overhead_$tag"; then
        times+=("$m_wall"); cpus+=("$m_cpu"); mems+=("$m_kb")
      else
        failed="fails after $m_wall s, $(mib_of "$m_kb") MiB (see $log)"
        break
      fi
    done
    label="no"
    [ "$plans" = yes ] && label="yes (4 plans, 10,120 nodes)"
    if [ -n "$failed" ]; then
      echo "| $tag | $label | $failed | | |"
    else
      echo "| $tag | $label | $(printf '%s\n' "${times[@]}" | median)$busy_note | $(printf '%s\n' "${cpus[@]}" | median) | $(mib_of "$(printf '%s\n' "${mems[@]}" | median)") |"
    fi
  done
done
echo
echo "Medians of $REPEATS compilations each; load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)."
