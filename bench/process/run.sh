#!/usr/bin/env bash
# Per-node overhead of the process backend (bench_process_fanout measure), on an idle
# machine: waits until the CPUs are less than 25% busy (bench/common.sh), then measures
# a fan-out of NODES trivial task nodes (default 1000) with the thread backend and the
# process backend (its nodes forked by the fork server, and spawned), and the floor
# (spawn + wait of the same binary doing nothing), on 1 and 2 threads. docs/process-backend.md has the results.
#
#   bench/process/run.sh build/bench/process/bench_process_fanout
#
# Environment: NODES (1000), REPS (3), THREADS (1,2), WAIT_QUIET (see bench/common.sh).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source-path=SCRIPTDIR source=../common.sh
source "$here/../common.sh"
binary="${1:?usage: bench/process/run.sh PATH/TO/bench_process_fanout}"
wait_quiet
echo "# command: $binary measure --nodes ${NODES:-1000} --reps ${REPS:-3} --threads ${THREADS:-1,2}${busy_note}"
"$binary" measure --nodes "${NODES:-1000}" --reps "${REPS:-3}" --threads "${THREADS:-1,2}"
echo "# load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
