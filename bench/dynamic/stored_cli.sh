#!/usr/bin/env bash
# Whole processes of a workflow binary: the 200,001-node count_characters run
# (`run start_wf` on two random 50,000-letter strings) in memory and with --store, each
# in a fresh process as a user runs it, REPS times each, interleaved. Prints every time
# and the medians.
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
memory=()
stored=()
for ((i = 0; i < reps; i++)); do
  start=$(date +%s%N)
  out_memory=$("$binary" run start_wf --i0 "$s1" --i1 "$s2" --threads "$threads" --quiet)
  memory+=("$(ms "$start")")
  rm -rf "$work/store"
  start=$(date +%s%N)
  out_stored=$("$binary" run start_wf --i0 "$s1" --i1 "$s2" --threads "$threads" --quiet --store "$work/store" \
    --execution-id "bench-$i" 2>/dev/null)
  stored+=("$(ms "$start")")
  if [[ "$out_memory" != "$out_stored" ]]; then
    echo "the stored run printed $out_stored, the in-memory run $out_memory" >&2
    exit 1
  fi
done
echo "# $binary: count_characters on 2 x $length letters ($((4 * length + 1)) nodes), --threads $threads, $reps fresh processes each"
echo "# machine: $(nproc) CPUs; load average: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "in memory (ms): ${memory[*]}"
echo "--store   (ms): ${stored[*]}"
m=$(median "${memory[@]}")
s=$(median "${stored[@]}")
echo "medians: in memory $m ms, --store $s ms, ratio $(awk -v s="$s" -v m="$m" 'BEGIN {printf "%.1f", s / m}')x"
