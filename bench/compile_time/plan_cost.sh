#!/usr/bin/env bash
# What evaluating a static workflow's compile-time plan costs as the workflow grows,
# for the shapes of bench/overhead (shapes.cpp: a chain of N nodes; a reduction tree
# over L leaves, 2L nodes). Two tables:
#
#   1. the largest chain and tree whose plan each compiler evaluates within its default
#      constexpr limits (g++: -fconstexpr-ops-limit=33554432; clang++:
#      -fconstexpr-steps=1048576), found by bisection (to within 2%);
#   2. front-end time and peak memory of evaluating the plan of chains of growing
#      length with the limits lifted (median of REPEATS runs).
#
#   bench/compile_time/plan_cost.sh                   # chains of 1000 2000 4000 8000
#   bench/compile_time/plan_cost.sh 500 1000          # other lengths for table 2
#   TABLES=1 bench/compile_time/plan_cost.sh          # only table 1
#
# Environment: COMPILERS (default "g++ clang++"), REPEATS (3), LOOM_INCLUDE, OUT_DIR,
# TIMEOUT, WAIT_QUIET, TABLES ("1 2"). Every compilation is -std=c++20 -O0 -fsyntax-only:
# the plan is evaluated by the front end, so code generation would only add noise.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
# shellcheck source-path=SCRIPTDIR source=../common.sh
source "$here/../common.sh"
REPEATS="${REPEATS:-3}"
COMPILERS="${COMPILERS:-g++ clang++}"
LOOM_INCLUDE="${LOOM_INCLUDE:-$root/include}"
OUT_DIR="${OUT_DIR:-$root/build/bench_compile_time}"
TABLES="${TABLES:-1 2}"
lengths=("$@")
[ ${#lengths[@]} -gt 0 ] || lengths=(1000 2000 4000 8000)

require_time
mkdir -p "$OUT_DIR"
flags=(-std=c++20 -O0 -fsyntax-only -I "$LOOM_INCLUDE" "$here/shapes.cpp")

unlimited() {
  case "$(basename "$1")" in
    clang*) echo "-fconstexpr-steps=2147483647" ;;
    *) echo "-fconstexpr-ops-limit=1099511627776" ;;
  esac
}

compiles() {  # compiles CXX SHAPE SIZE: does the plan fit the default limits?
  "$1" "${flags[@]}" "-D$2=$3" >/dev/null 2>&1
}

largest() {  # largest CXX SHAPE LO HI: LO compiles; HI does not (or is the cap)
  local cxx="$1" shape="$2" lo="$3" hi="$4" mid
  compiles "$cxx" "$shape" "$lo" || { echo "< $lo"; return; }
  if compiles "$cxx" "$shape" "$hi"; then echo ">= $hi"; return; fi
  while [ $((hi - lo)) -gt $((lo / 50 + 1)) ]; do
    mid=$(((lo + hi) / 2))
    if compiles "$cxx" "$shape" "$mid"; then lo=$mid; else hi=$mid; fi
  done
  echo "$lo"
}

if [[ " $TABLES " == *" 1 "* ]]; then
  echo "| compiler | default limit | longest chain (nodes) | widest tree (leaves; nodes = 2 × leaves) |"
  echo "|----------|---------------|----------------------:|-----------------------------------------:|"
  for cxx in $COMPILERS; do
    case "$(basename "$cxx")" in
      clang*) limit="-fconstexpr-steps=1048576" ;;
      *) limit="-fconstexpr-ops-limit=33554432" ;;
    esac
    chain="$(largest "$cxx" CHAIN 16 32768)"
    tree="$(largest "$cxx" TREE 8 16384)"
    echo "| $(basename "$cxx") | $limit | $chain | $tree |"
  done
  echo
  echo "Bisection to within 2%; the next size tried fails with the compiler's constexpr limit error."
  echo
fi

if [[ " $TABLES " == *" 2 "* ]]; then
  echo "| compiler | chain (nodes) | front-end wall time (s) | CPU time (s) | peak memory (MiB) |"
  echo "|----------|--------------:|------------------------:|-------------:|------------------:|"
  for cxx in $COMPILERS; do
    tag="$(basename "$cxx")"
    for n in "${lengths[@]}"; do
      times=(); cpus=(); mems=(); busy_note=""; failed=""
      for ((r = 1; r <= REPEATS; ++r)); do
        wait_quiet
        if measure "$OUT_DIR/plan_${tag}_$n.log" "$cxx" "${flags[@]}" "-DCHAIN=$n" "$(unlimited "$cxx")"; then
          times+=("$m_wall"); cpus+=("$m_cpu"); mems+=("$m_kb")
        else
          failed="fails after $m_wall s, $(mib_of "$m_kb") MiB (see $OUT_DIR/plan_${tag}_$n.log)"
          break
        fi
      done
      if [ -n "$failed" ]; then
        echo "| $tag | $n | $failed | | |"
        continue
      fi
      echo "| $tag | $n | $(printf '%s\n' "${times[@]}" | median)$busy_note | $(printf '%s\n' "${cpus[@]}" | median) | $(mib_of "$(printf '%s\n' "${mems[@]}" | median)") |"
    done
  done
  echo
  echo "Medians of $REPEATS runs of \`CXX -std=c++20 -O0 -fsyntax-only -DCHAIN=N shapes.cpp\` with the constexpr limit lifted; load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)."
fi
