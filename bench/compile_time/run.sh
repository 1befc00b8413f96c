#!/usr/bin/env bash
# Compile cost of static workflows: generates a workflow of N nodes (gen_workflow.py)
# for each N, compiles it with each compiler, and prints a markdown table of the
# median wall time, CPU time and peak memory (max RSS) over REPEATS compilations.
#
#   bench/compile_time/run.sh                 # N = 0 50 200 500, g++ and clang++, 3 runs
#   bench/compile_time/run.sh 100 300         # other sizes
#   REPEATS=5 COMPILERS="g++" bench/compile_time/run.sh
#
# Environment:
#   REPEATS      compilations per (N, compiler); the median is reported (default 3)
#   COMPILERS    compilers to use (default "g++ clang++")
#   CXXFLAGS     flags (default "-std=c++20 -O2")
#   LOOM_INCLUDE the include directory to measure (default: this checkout's include/)
#   OUT_DIR      where generated sources and binaries go (default: build/bench_compile_time)
#   TIMEOUT      seconds before one compilation is abandoned (default 900)
#   WAIT_QUIET   seconds to wait for an idle machine before each compilation (default 300)
#
# Each compilation is `$CXX $CXXFLAGS -I $LOOM_INCLUDE gen_N.cpp -o gen_N` (compile and
# link) under `/usr/bin/time`. A successful build is run once and its output compared
# across compilers. The bar (from the issue): 200 nodes in at most 20 s and 2 GiB on
# each compiler; the last column applies it to every row. N = 0 is the baseline: the
# same header and tasks without a workflow.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
# shellcheck source-path=SCRIPTDIR source=../common.sh
source "$here/../common.sh"
REPEATS="${REPEATS:-3}"
COMPILERS="${COMPILERS:-g++ clang++}"
CXXFLAGS="${CXXFLAGS:--std=c++20 -O2}"
LOOM_INCLUDE="${LOOM_INCLUDE:-$root/include}"
OUT_DIR="${OUT_DIR:-$root/build/bench_compile_time}"
sizes=("$@")
[ ${#sizes[@]} -gt 0 ] || sizes=(0 50 200 500)

require_time
mkdir -p "$OUT_DIR"

echo "| N nodes | compiler | wall time (s) | CPU time (s) | peak memory (MiB) | wall times of the runs (s) | within 20 s and 2 GiB? |"
echo "|--------:|----------|--------------:|-------------:|------------------:|---------------------------:|------------------------|"
for n in "${sizes[@]}"; do
  src="$OUT_DIR/gen_$n.cpp"
  python3 "$here/gen_workflow.py" "$n" "$src"
  reference_output=""
  for cxx in $COMPILERS; do
    tag="$(basename "$cxx")"
    exe="$OUT_DIR/gen_${n}_$tag"
    log="$OUT_DIR/gen_${n}_$tag.log"
    times=()
    cpus=()
    mems=()
    failure=""
    busy_note=""
    for ((r = 1; r <= REPEATS; ++r)); do
      wait_quiet
      # shellcheck disable=SC2086
      if measure "$log" "$cxx" $CXXFLAGS -I "$LOOM_INCLUDE" "$src" -o "$exe"; then
        times+=("$m_wall")
        cpus+=("$m_cpu")
        mems+=("$m_kb")
      else
        # The reason: the first "error:" line and the compiler's note on a limit.
        failure="$(grep -m1 -E 'error:' "$log" | sed -E 's/^.*error: //' || true)"
        note="$(grep -m1 -E 'note: .*(limit|steps)' "$log" | sed -E 's/^.*note: //' || true)"
        [ -n "$note" ] && failure="$failure ($note)"
        [ -n "$failure" ] || failure="failed or timed out, see $log"
        failure="compile error after $m_wall s, $(mib_of "$m_kb") MiB: $failure"
        break
      fi
    done
    if [ -n "$failure" ]; then
      echo "| $n | $tag | – | – | – | – | **fails**: ${failure//|/\\|} |"
      continue
    fi
    t="$(printf '%s\n' "${times[@]}" | median)"
    cpu="$(printf '%s\n' "${cpus[@]}" | median)"
    kb="$(printf '%s\n' "${mems[@]}" | median)"
    mib="$(mib_of "$kb")"
    output="$("$exe")"
    if [ -z "$reference_output" ]; then
      reference_output="$output"
    elif [ "$output" != "$reference_output" ]; then
      echo "run.sh: N=$n: $tag's binary printed '$output', expected '$reference_output'" >&2
      exit 1
    fi
    verdict="$(awk -v t="$t" -v k="$kb" 'BEGIN {print (t <= 20 && k <= 2 * 1024 * 1024) ? "within" : "**over**"}')"
    all="$(printf '%s ' "${times[@]}")"
    echo "| $n | $tag | $t | $cpu | $mib | ${all% }$busy_note | $verdict |"
  done
done
echo
echo "Medians of $REPEATS compilations (compile and link) each; flags: $CXXFLAGS; load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)."
