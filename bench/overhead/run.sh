#!/usr/bin/env bash
# Runs bench_overhead RUNS times (default 3) on an idle machine and prints one table:
# per configuration, the median over the runs (summarize.py). A run during which other
# processes kept the CPUs 10% busy or more is discarded and repeated (at most 3 × RUNS
# attempts), because with two cores the two-thread numbers depend on it.
#
#   bench/overhead/run.sh build/bench/bench_overhead
#
# Environment: RUNS (3), ROUNDS (7), SAMPLES (11), WAIT_QUIET (see bench/common.sh).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source-path=SCRIPTDIR source=../common.sh
source "$here/../common.sh"
binary="${1:?usage: bench/overhead/run.sh PATH/TO/bench_overhead}"
RUNS="${RUNS:-3}"
out="$(mktemp)"
trap 'rm -f "$out"' EXIT

kept=0
discarded=0
for ((attempt = 1; attempt <= 3 * RUNS && kept < RUNS; ++attempt)); do
  wait_quiet
  run="$("$binary" --rounds "${ROUNDS:-7}" --samples "${SAMPLES:-11}")"
  busy="$(sed -nE 's/.*CPUs ([0-9]+)% busy.*/\1/p' <<<"$run")"
  if [ -n "$busy" ] && [ "$busy" -ge 10 ]; then
    discarded=$((discarded + 1))
    continue
  fi
  printf '%s\n' "$run" >>"$out"
  kept=$((kept + 1))
done
python3 "$here/summarize.py" "$out"
echo "Runs discarded because the machine was busy: $discarded. Command per run: $binary --rounds ${ROUNDS:-7} --samples ${SAMPLES:-11}."
