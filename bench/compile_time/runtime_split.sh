#!/usr/bin/env bash
# Compile time of a workflow translation unit, before and after the runtime moved out
# of the headers (src/, loom::runtime), side by side in one run: the same source
# compiled against the headers of BEFORE (a git revision, checked out into a worktree
# under OUT_DIR) and of this checkout, alternately, REPEATS times each.
#
#   bench/compile_time/runtime_split.sh                      # examples/count_characters.cpp, g++ -O2
#   BEFORE=fe01975 SOURCES="examples/count_characters.cpp examples/merge_sort.cpp" REPEATS=5 bench/compile_time/runtime_split.sh
#
# Each compilation is `$CXX $CXXFLAGS -I <include> -c SOURCE -o /dev/null` under
# /usr/bin/time (the object only: linking is not the headers' cost). Prints a markdown
# table: median wall time, median CPU time (user + sys), peak memory, the preprocessed
# size in lines, and the ratio of the CPU times. The bar (from the issue): < 5 s.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
# shellcheck source-path=SCRIPTDIR source=../common.sh
source "$here/../common.sh"
BEFORE="${BEFORE:-fe01975}"  # the last commit with the header-only executor
SOURCES="${SOURCES:-examples/count_characters.cpp}"
REPEATS="${REPEATS:-3}"
CXX="${CXX:-g++}"
CXXFLAGS="${CXXFLAGS:--std=c++20 -O2}"
OUT_DIR="${OUT_DIR:-$root/build/bench_runtime_split}"
require_time
mkdir -p "$OUT_DIR"
before_tree="$OUT_DIR/before-$BEFORE"
if [ ! -d "$before_tree" ]; then
  git -C "$root" worktree add --detach "$before_tree" "$BEFORE" >/dev/null 2>&1
fi

echo "# $CXX $CXXFLAGS -c, $REPEATS compilations each, alternating; $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
echo "# load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
echo
echo "| source | headers | wall (s) | CPU (s) | peak memory (MiB) | preprocessed lines |"
echo "|---|---|---:|---:|---:|---:|"
for src in $SOURCES; do
  declare -A walls=() cpus=() mems=()
  for ((r = 1; r <= REPEATS; ++r)); do
    for which in before after; do
      tree="$root"
      [ "$which" = before ] && tree="$before_tree"
      wait_quiet
      # shellcheck disable=SC2086
      measure "$OUT_DIR/$which.log" "$CXX" $CXXFLAGS -I "$tree/include" -c "$root/$src" -o /dev/null || {
        echo "compilation failed ($which): see $OUT_DIR/$which.log" >&2
        exit 1
      }
      walls[$which]+="$m_wall "
      cpus[$which]+="$m_cpu "
      mems[$which]+="$m_kb "
    done
  done
  declare -A cpu_median=()
  for which in before after; do
    tree="$root"
    [ "$which" = before ] && tree="$before_tree"
    # shellcheck disable=SC2086
    lines=$("$CXX" $CXXFLAGS -I "$tree/include" -E "$root/$src" | wc -l)
    wall=$(tr ' ' '\n' <<<"${walls[$which]}" | grep . | median)
    cpu=$(tr ' ' '\n' <<<"${cpus[$which]}" | grep . | median)
    kb=$(tr ' ' '\n' <<<"${mems[$which]}" | grep . | median)
    cpu_median[$which]=$cpu
    label="header-only executor ($BEFORE)"
    [ "$which" = after ] && label="compiled runtime (this checkout)"
    echo "| $src | $label | $wall | $cpu | $(mib_of "${kb%.*}") | $lines |"
  done
  echo "| | after / before (CPU) | | $(awk -v a="${cpu_median[after]}" -v b="${cpu_median[before]}" 'BEGIN {printf "%.2f", a / b}') | | |"
  unset walls cpus mems cpu_median
done
[ -n "$busy_note" ] && echo && echo "note:$busy_note"
exit 0
