#!/usr/bin/env bash
# Whole processes of a workflow binary: the 200,001-node count_characters run
# (`run start_wf` on two random 50,000-letter strings) in memory and with --store, each
# in a fresh process as a user runs it, REPS times each, interleaved, with the runtime's
# huge-page advice and without it (LOOM_HUGE_PAGES=0). Prints every time and the medians.
#
#   bash bench/dynamic/stored_cli.sh build/bench/dynamic/bench_dynamic_cli [THREADS (2)] [REPS (5)] [LENGTH (50000)]
set -euo pipefail
binary=${1:?usage: stored_cli.sh BINARY [THREADS] [REPS] [LENGTH]}
threads=${2:-2}
reps=${3:-5}
length=${4:-50000}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
letters() { python3 -c "import random, string; print(''.join(random.choices(string.ascii_lowercase, k=$length)))"; }
s1=$(letters)
s2=$(letters)
ms() { echo $(( ($(date +%s%N) - $1) / 1000000 )); }
median() { printf '%s\n' "$@" | sort -n | awk '{a[NR]=$1} END {print a[int((NR + 1) / 2)]}'; }
# Each run twice: with the runtime's huge-page advice (the default) and without
# (LOOM_HUGE_PAGES=0; loom/detail/huge_pages.hpp), interleaved.
memory=()
stored=()
memory_small=()
stored_small=()
for ((i = 0; i < reps; i++)); do
  for pages in huge small; do
    setting=1
    [[ $pages == small ]] && setting=0
    start=$(date +%s%N)
    out_memory=$(LOOM_HUGE_PAGES=$setting "$binary" run start_wf --i0 "$s1" --i1 "$s2" --threads "$threads" --quiet)
    took_memory=$(ms "$start")
    rm -rf "$work/store"
    start=$(date +%s%N)
    out_stored=$(LOOM_HUGE_PAGES=$setting "$binary" run start_wf --i0 "$s1" --i1 "$s2" --threads "$threads" --quiet \
      --store "$work/store" --execution-id "bench-$i" 2>/dev/null)
    took_stored=$(ms "$start")
    if [[ $pages == huge ]]; then
      memory+=("$took_memory")
      stored+=("$took_stored")
    else
      memory_small+=("$took_memory")
      stored_small+=("$took_stored")
    fi
    if [[ "$out_memory" != "$out_stored" ]]; then
      echo "the stored run printed $out_stored, the in-memory run $out_memory" >&2
      exit 1
    fi
  done
done
echo "# $binary: count_characters on 2 x $length letters ($((4 * length + 1)) nodes), --threads $threads, $reps fresh processes each"
echo "# machine: $(nproc) CPUs; load average: $(cut -d' ' -f1-3 /proc/loadavg)"
report() {
  local label=$1
  shift
  local -a m=("${@:1:$reps}") st=("${@:$((reps + 1))}")
  echo "$label in memory (ms): ${m[*]}"
  echo "$label --store   (ms): ${st[*]}"
  local mm ss
  mm=$(median "${m[@]}")
  ss=$(median "${st[@]}")
  echo "$label medians: in memory $mm ms, --store $ss ms, ratio $(awk -v s="$ss" -v m="$mm" 'BEGIN {printf "%.1f", s / m}')x"
}
report "huge pages (default):" "${memory[@]}" "${stored[@]}"
report "LOOM_HUGE_PAGES=0:   " "${memory_small[@]}" "${stored_small[@]}"
