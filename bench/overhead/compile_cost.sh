#!/usr/bin/env bash
# Compile time and peak memory of bench/overhead/overhead.cpp (its four workflows of
# 1,000–4,096 nodes), without and with LOOM_BENCH_STATIC_PLANS (which evaluates the
# plans of the two ~1,000-node workflows, with the constexpr limits lifted), for each
# compiler; medians of REPEATS compilations (compile and link, -std=c++20 -O2 -DNDEBUG).
#
#   bench/overhead/compile_cost.sh
#
# Environment: COMPILERS (default "g++ clang++"), REPEATS (3), LOOM_INCLUDE, OUT_DIR,
# TIMEOUT, WAIT_QUIET (see bench/common.sh).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
# shellcheck source=../common.sh
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
  case "$tag" in
    clang*) unlimited="-fconstexpr-steps=2147483647" ;;
    *) unlimited="-fconstexpr-ops-limit=4294967296" ;;
  esac
  for plans in no yes; do
    extra=()
    [ "$plans" = yes ] && extra=(-DLOOM_BENCH_STATIC_PLANS "$unlimited")
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
    [ "$plans" = yes ] && label="1,000-node chain and 1,024-node tree"
    if [ -n "$failed" ]; then
      echo "| $tag | $label | $failed | | |"
    else
      echo "| $tag | $label | $(printf '%s\n' "${times[@]}" | median)$busy_note | $(printf '%s\n' "${cpus[@]}" | median) | $(mib_of "$(printf '%s\n' "${mems[@]}" | median)") |"
    fi
  done
done
echo
echo "Medians of $REPEATS compilations each; load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)."
