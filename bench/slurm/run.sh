#!/usr/bin/env bash
# The Slurm backend against raw sbatch, in one run, on the same machine and the same
# local cluster (tools/slurm-local.sh): nodes per second on a fan-out of N trivial tasks
# (default 1,000), and the controller calls each case makes (sdiag). Prints markdown
# tables; docs/benchmarks-slurm.md has the results and how to read them.
#
#   bash bench/slurm/run.sh [PATH/TO/bench_slurm]   # as root (sdiag --reset, the cluster)
#
# (default binary: build/bench-rel/bench/slurm/bench_slurm). The cases, in this order,
# all of them REPS times over (interleaved: the machine may be shared):
#   thread   Loom, fan_sum (N nodes of x + 1, then their sum), --backend thread
#   process  the same, --backend process (a process of this machine per node)
#   sbatch1  raw sbatch: N submissions of `#!/bin/sh / true` from one thread, then
#            `squeue -h --name=NAME` every 0.5 s until it is empty: the ceiling
#   slurm    Loom, fan_sum, --backend slurm (a job per node: N + 2 jobs)
#   sbatch2  raw sbatch from two threads (Loom submits from its --threads threads)
#   map      Loom, map_sum (wf.map over N items, then the sum), --backend slurm; with
#            --slurm-items-per-job K for each K of ITEMS_PER_JOB when the binary has
#            that option (job arrays); else (or if the binary refuses it: exit 2) with
#            the binary's own chunks
#   workers  Loom, fan_sum, --backend slurm --slurm-workers W --slurm-worker-slots S for
#            each WxS (or W: one slot) of WORKERS, when the binary has those options
#            (pilot jobs: long-lived jobs that run the nodes in forks); skipped otherwise;
#            WxSxK adds --slurm-worker-nodes-per-process K (K = 1: a fork per node)
# Loom's runs keep their store in the scratch directory (--store: the Slurm backend needs
# one; the others get one too, alike). Each run is timed from its command's start to its
# end, with `sdiag --reset` before it and `sdiag` after it; before it, the script waits
# (untimed) until the cluster has no job left and the machine is idle (bench/common.sh).
#
# The cluster: the one in LOOM_SLURM_DIR (default /tmp/loom-slurm, port LOOM_SLURM_PORT,
# default 6817); started with `tools/slurm-local.sh up` if it does not run, and then
# stopped at the end (left running if it ran before).
#
# Environment: N (1000), REPS (3), CASES (the list above), ITEMS_PER_JOB ("1 100"),
# WORKERS ("4 2x4 2x4x1"), THREADS (the driver's --threads: nproc), LIVENESS_MS
# (--slurm-liveness-ms: 5000, Loom's default), TIMEOUT (seconds per run: 900), WAIT_QUIET
# (seconds to wait for an idle machine before each run: 120), WORK (scratch directory the
# jobs see: a new one under /tmp, removed at the end unless KEEP=1 or WORK was given),
# BUILT_FROM (printed: what the binary was built from, when not this tree).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
# shellcheck source-path=SCRIPTDIR source=../common.sh
source "$here/../common.sh"

binary="$(realpath "${1:-$root/build/bench-rel/bench/slurm/bench_slurm}")"
[[ -x $binary ]] || { echo "run.sh: no binary $binary (build the target bench_slurm)" >&2; exit 2; }
require_time
[[ $(id -u) -eq 0 ]] || { echo "run.sh: must run as root (sdiag --reset; tools/slurm-local.sh up)" >&2; exit 2; }
N=${N:-1000}
REPS=${REPS:-3}
CASES=${CASES:-thread process sbatch1 slurm sbatch2 map workers}
ITEMS_PER_JOB=${ITEMS_PER_JOB:-1 100}
WORKERS=${WORKERS:-4 2x4 2x4x1}
THREADS=${THREADS:-$(nproc)}
LIVENESS_MS=${LIVENESS_MS:-5000}
TIMEOUT=${TIMEOUT:-900}
export WAIT_QUIET=${WAIT_QUIET:-120}
cluster_dir=${LOOM_SLURM_DIR:-/tmp/loom-slurm}
slurm_local="$root/tools/slurm-local.sh"
expected=$((N * (N + 1) / 2))
help_text=$("$binary" --help 2>&1 || true)

work=${WORK:-$(mktemp -d /tmp/bench-slurm.XXXXXX)}
mkdir -p "$work"
started_cluster=0
finish() {
  if ((started_cluster)); then bash "$slurm_local" down "$cluster_dir" >&2 || true; fi
  if [[ ${KEEP:-0} != 1 && -z ${WORK:-} ]]; then rm -rf "$work"; fi
}
trap finish EXIT

if bash "$slurm_local" status "$cluster_dir" >/dev/null 2>&1; then
  echo "run.sh: the cluster in $cluster_dir runs already; it is left running" >&2
else
  bash "$slurm_local" up "$cluster_dir" >&2
  started_cluster=1
fi
# shellcheck disable=SC1091
source "$cluster_dir/env"
export SLURM_CONF

now() { date +%s.%N; }
# The machine's CPU counters (/proc/stat, first line): "busy total" jiffies.
cpu_jiffies() { awk '/^cpu / {print $2 + $3 + $4 + $7 + $8, $2 + $3 + $4 + $5 + $6 + $7 + $8}' /proc/stat; }
calc() { awk "BEGIN {printf \"$1\", $2}"; }
# The median of the numbers given as words; their "min-max".
med() { tr ' ' '\n' | grep -v '^$' | median; }
range_of() { tr ' ' '\n' | grep -v '^$' | sort -g | awk 'NR == 1 {a = $1} {b = $1} END {print a "-" b}'; }

# Waits (up to 120 s, untimed) until the cluster has no job pending or running.
wait_idle_cluster() {
  for ((i = 0; i < 240; i++)); do
    [[ -z $(squeue -h -o %i 2>/dev/null) ]] && return 0
    sleep 0.5
  done
  echo "run.sh: the cluster still has jobs after 120 s: $(squeue -h -o '%i %j %T' | head -5 | tr '\n' ';')" >&2
}

# The RPC counts of an sdiag output, by message type: "TYPE COUNT" lines.
rpc_counts() {
  awk '/Remote Procedure Call statistics by message type/ {f = 1; next}
       /Remote Procedure Call statistics by user/ {f = 0}
       f && /count:/ {match($0, /count:[0-9]+/); print $1, substr($0, RSTART + 6, RLENGTH - 6)}' "$1"
}
# Sum of the counts of the types matching the regular expression $2 (of file $1).
rpc_sum() { rpc_counts "$1" | awk -v re="$2" '$1 ~ re {s += $2} END {print s + 0}'; }
sdiag_field() { awk -F: -v k="$2" '$1 == k {gsub(/ /, "", $2); print $2}' "$1"; }

# Message types that the cluster's own daemons send about the jobs (slurmd: a batch
# script ended, epilogs, registration), not a client such as sbatch, squeue or the driver.
daemon_re='^(REQUEST_COMPLETE_BATCH_SCRIPT|MESSAGE_EPILOG_COMPLETE|MESSAGE_NODE_REGISTRATION_STATUS|REQUEST_COMPLETE_PROLOG|REQUEST_STEP_COMPLETE|MESSAGE_COMPOSITE|REQUEST_JOB_STEP_CREATE|REQUEST_STEP_LAYOUT)$'
submit_re='^REQUEST_SUBMIT_BATCH_JOB$'
info_re='^REQUEST_JOB_INFO(_SINGLE)?$|^REQUEST_JOB_USER_INFO$'
cancel_re='^(REQUEST_CANCEL_JOB_STEP|REQUEST_KILL_JOB|REQUEST_CANCEL_JOB)$'
self_re='^REQUEST_STATS_INFO$'  # sdiag itself

# Per case (by id): its label, and each run's values, space-separated.
declare -A r_label r_kind r_wall r_busy r_cpu r_started r_total r_submits r_info r_cancel r_other r_daemon r_per5 r_types
order=()
per_run=()
rep=0
last_rc=0
# run_case ID LABEL OUTPUT-CHECK COMMAND...: one measured run of a case (its exit status
# in last_rc).
run_case() {
  local id=$1 label=$2 check=$3 rc=0
  shift 3
  echo "run.sh: repetition $rep, $label ..." >&2
  wait_idle_cluster
  busy_note=""
  wait_quiet
  local held t0 t1 wall b0 j0 b1 j1 stem="$work/$id.r$rep"
  held=$(squeue -h -t all -o %i | wc -l)
  sdiag --reset >/dev/null
  read -r b0 j0 < <(cpu_jiffies)
  t0=$(now)
  /usr/bin/time -f "%U %S" -o "$stem.time" timeout "$TIMEOUT" "$@" >"$stem.out" 2>"$stem.err" || rc=$?
  t1=$(now)
  read -r b1 j1 < <(cpu_jiffies)
  sdiag >"$stem.sdiag"
  last_rc=$rc
  wall=$(calc "%.2f" "$t1 - $t0")
  local note="${busy_note# }" ok=1
  if ((rc != 0)) || ! grep -q -- "$check" "$stem.out"; then
    ok=0
    note="FAILED (exit $rc): $(tail -n 3 "$stem.err" | tr '\n' ' ' | cut -c1-200) ${note}"
    echo "run.sh: $label failed (exit $rc); see $stem.err" >&2
  fi
  local diag="$stem.sdiag" total submits info cancel daemon other started per5 rate busy
  total=$(rpc_counts "$diag" | awk -v re="$self_re" '$1 !~ re {s += $2} END {print s + 0}')
  submits=$(rpc_sum "$diag" "$submit_re")
  info=$(rpc_sum "$diag" "$info_re")
  cancel=$(rpc_sum "$diag" "$cancel_re")
  daemon=$(rpc_sum "$diag" "$daemon_re")
  other=$((total - submits - info - cancel - daemon))
  started=$(sdiag_field "$diag" "Jobs started")
  per5=$(calc "%.2f" "($total - $submits - $daemon) * 5 / ($t1 - $t0)")
  rate=$(calc "%.1f" "$N / ($t1 - $t0)")
  busy=$(calc "%.0f" "100 * ($b1 - $b0) / ($j1 - $j0 + 1)")
  # The client's CPU time: the driver (or the raw submitter) and the commands it waited
  # for (sbatch, squeue, and the process backend's node processes), not the jobs.
  local client_cpu
  client_cpu=$(awk 'NF == 2 && $1 ~ /^[0-9.]+$/ {printf "%.2f", $1 + $2}' "$stem.time")
  if [[ $id == sbatch* ]]; then
    note="submissions $(sed -n 's/.*submitted_s=\([0-9.]*\).*/\1/p' "$stem.out") s; ${note}"
  elif [[ $id == slurm && -d $work/store-$id-r$rep ]]; then
    # The job scripts are written just before their sbatch: from the fan-out's first to
    # its last (the 2nd to the next-to-last script; the first is the dynamic body's, the
    # last the sum's), about how long Loom took to submit the N jobs.
    note="submissions ~$(find "$work/store-$id-r$rep" -name 'job-a*.sh' -printf '%T@\n' | sort -g |
      awk '{t[NR] = $1} END {if (NR > 3) printf "%.1f", t[NR - 1] - t[2]; else printf "?"}') s; ${note}"
  fi
  if [[ -z ${r_label[$id]:-} ]]; then
    order+=("$id")
    r_label[$id]=$label
    r_kind[$id]=cluster
    if [[ $id == thread || $id == process ]]; then r_kind[$id]=local; fi
  fi
  if ((ok)); then  # a failed run counts in no median
    r_wall[$id]+=" $wall"
    r_busy[$id]+=" $busy"
    r_cpu[$id]+=" ${client_cpu:-0}"
    r_started[$id]+=" $started"
    r_total[$id]+=" $total"
    r_submits[$id]+=" $submits"
    r_info[$id]+=" $info"
    r_cancel[$id]+=" $cancel"
    r_other[$id]+=" $other"
    r_daemon[$id]+=" $daemon"
    r_per5[$id]+=" $per5"
    r_types[$id]=$(rpc_counts "$diag" | awk -v re="$self_re" '$1 !~ re {printf "%s%s %s", sep, $1, $2; sep = ", "}')
  fi
  per_run+=("| $rep | $label | $wall | $rate | $busy% | ${client_cpu:-?} | $started | $total | $submits | $info | $cancel | $other | $daemon | $per5 | $held | ${note%; } |")
}

loom_case() {  # loom_case ID LABEL ENTITY BACKEND [more options]
  local id=$1 label=$2 entity=$3 backend=$4
  shift 4
  run_case "$id" "$label" "{\"o0\":$expected}" \
    "$binary" run "$entity" --n "$N" --backend "$backend" --store "$work/store-$id-r$rep" \
    --execution-id "bench-$id-r$rep-$$" --threads "$THREADS" --quiet "$@"
  if [[ $backend == slurm ]]; then scancel --name="loom:bench-$id-r$rep-$$" 2>/dev/null || true; fi
}

echo "# bench/slurm/run.sh, $(date -u '+%Y-%m-%d %H:%M UTC')"
echo "# machine: $(nproc) CPUs online, $(awk -F': ' '/model name/ {print $2; exit}' /proc/cpuinfo), $(awk '/MemTotal/ {printf "%.1f GiB", $2 / 1048576}' /proc/meminfo), $(uname -sr)"
echo "# Slurm: $(sinfo --version), the cluster of tools/slurm-local.sh in $cluster_dir:"
echo "#   $(grep -E '^(SchedulerType|SchedulerParameters|SelectTypeParameters|DefMemPerCPU|JobAcctGatherType|MinJobAge|MaxArraySize)=' "$SLURM_CONF" | tr '\n' ' ')"
echo "#   $(grep -E '^NodeName=' "$SLURM_CONF" | grep -oE '(CPUs|RealMemory)=[0-9]*' | tr '\n' ' ')partition $(grep -E '^PartitionName=' "$SLURM_CONF" | grep -o 'OverSubscribe=[A-Z:0-9]*')"
echo "# Loom: binary $binary, built $(date -u -r "$binary" "+%Y-%m-%d %H:%M:%S UTC")${BUILT_FROM:+ from $BUILT_FROM}; this tree: HEAD $(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo "?")$(git -C "$root" diff --quiet HEAD -- src include 2>/dev/null || echo " + uncommitted changes in src/ include/")"
echo "# N=$N, $REPS repetition(s) of: $CASES; driver --threads $THREADS, --slurm-liveness-ms $LIVENESS_MS"
echo "# load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"

for ((rep = 1; rep <= REPS; rep++)); do
  for c in $CASES; do
    case $c in
      thread) loom_case thread "Loom, thread backend" fan_sum thread ;;
      process) loom_case process "Loom, process backend" fan_sum process ;;
      slurm) loom_case slurm "Loom, Slurm, job per node" fan_sum slurm --slurm-liveness-ms "$LIVENESS_MS" ;;
      sbatch1 | sbatch2)
        run_case "$c" "raw sbatch, ${c#sbatch} submitter$([[ $c == sbatch2 ]] && echo s)" "total_s=" \
          "$binary" sbatch --n "$N" --dir "$work/$c.r$rep" --name "bench-$c-r$rep-$$" --submitters "${c#sbatch}" --poll-ms 500
        scancel --name="bench-$c-r$rep-$$" 2>/dev/null || true
        ;;
      map)
        fallback=1
        if grep -q -- --slurm-items-per-job <<<"$help_text"; then
          fallback=0
          for k in $ITEMS_PER_JOB; do
            loom_case "map$k" "Loom, Slurm, map, $k item(s) per array element" map_sum slurm \
              --slurm-liveness-ms "$LIVENESS_MS" --slurm-items-per-job "$k"
            if ((last_rc == 2)); then fallback=1; break; fi  # the option refused: a usage error
          done
        fi
        if ((fallback)); then
          loom_case map "Loom, Slurm, map (the binary's chunks: no --slurm-items-per-job)" map_sum slurm \
            --slurm-liveness-ms "$LIVENESS_MS"
        fi
        ;;
      workers)
        if grep -q -- --slurm-workers <<<"$help_text"; then
          for w in $WORKERS; do  # W, WxS (W workers of S slots) or WxSxK (K nodes per process)
            IFS=x read -r count slots per_process <<<"$w"
            slots=${slots:-1}
            label="Loom, Slurm, $count pilot workers x $slots slot(s)"
            more=()
            if [[ -n $per_process ]]; then
              if grep -q -- --slurm-worker-nodes-per-process <<<"$help_text"; then
                more=(--slurm-worker-nodes-per-process "$per_process")
                label+=", $per_process node(s) per process"
              elif ((rep == 1)); then
                echo "run.sh: the binary has no --slurm-worker-nodes-per-process: case $w skipped" >&2
                continue
              else
                continue
              fi
            fi
            loom_case "workers$w" "$label" fan_sum slurm \
              --slurm-liveness-ms "$LIVENESS_MS" --slurm-workers "$count" --slurm-worker-slots "$slots" ${more[@]+"${more[@]}"}
          done
        elif ((rep == 1)); then
          echo "run.sh: the binary has no --slurm-workers: no pilot-worker case" >&2
        fi
        ;;
      *) echo "run.sh: unknown case '$c'" >&2; exit 2 ;;
    esac
  done
done

raw_rate=""
if [[ -n ${r_wall[sbatch1]:-} ]]; then raw_rate=$(calc "%.3f" "$N / $(med <<<"${r_wall[sbatch1]}")"); fi
echo
echo "Medians of $REPS repetition(s) (a failed run counts in none):"
echo
echo "| case | wall s (min-max) | nodes/s | % of raw sbatch | CPUs busy | client CPU s | jobs started | controller RPCs | submits | job info | cancels | other client | slurmd | non-submit client RPCs per 5 s |"
echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
for id in "${order[@]}"; do
  if [[ -z ${r_wall[$id]:-} ]]; then
    echo "| ${r_label[$id]} | failed | | | | | | | | | | | | |"
    continue
  fi
  wall=$(med <<<"${r_wall[$id]}")
  rate=$(calc "%.1f" "$N / $wall")
  pct="-"
  if [[ -n $raw_rate && ${r_kind[$id]} == cluster ]]; then pct=$(calc "%.0f%%" "100 * $rate / $raw_rate"); fi
  printf '| %s | %s (%s) | %s | %s | %s%% | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n' "${r_label[$id]}" "$wall" \
    "$(range_of <<<"${r_wall[$id]}")" "$rate" "$pct" "$(med <<<"${r_busy[$id]}")" "$(med <<<"${r_cpu[$id]}")" \
    "$(med <<<"${r_started[$id]}")" \
    "$(med <<<"${r_total[$id]}")" "$(med <<<"${r_submits[$id]}")" "$(med <<<"${r_info[$id]}")" \
    "$(med <<<"${r_cancel[$id]}")" "$(med <<<"${r_other[$id]}")" "$(med <<<"${r_daemon[$id]}")" "$(med <<<"${r_per5[$id]}")"
done
cat <<'EOF'

nodes/s = N / median wall (the N trivial tasks; a Loom run has N + 2 nodes: the dynamic body and the sum too).
% of raw sbatch: of the nodes/s of raw sbatch from 1 submitter (its median wall).
controller RPCs: sdiag's count since its reset before the run (sdiag's own call left out). slurmd: the node
daemon's messages about jobs (a batch script ended, epilogs). non-submit client RPCs: controller RPCs - submits
- slurmd, per 5 s of wall time (one squeue = REQUEST_PARTITION_INFO + REQUEST_JOB_INFO).
CPUs busy: the whole machine's (/proc/stat) during the run: the driver, sbatch, the daemons, the jobs, and
anything else running on it. client CPU s: user + system time of the driver (or raw submitter) and of the
commands it waited for (sbatch, squeue; the process backend's node processes), not the Slurm jobs.

Every run, in the order they ran (jobs held: the jobs the controller knew at the start of the run, ended ones
included: MinJobAge keeps them 300 s, and every squeue reads them all):

| rep | case | wall s | nodes/s | CPUs busy | client CPU s | jobs started | controller RPCs | submits | job info | cancels | other client | slurmd | non-submit client RPCs per 5 s | jobs held | notes |
|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|
EOF
printf '%s\n' "${per_run[@]}"
echo
echo "RPCs by message type (the last good run of each case):"
for id in "${order[@]}"; do echo "- ${r_label[$id]}: ${r_types[$id]:-none}"; done
echo "# load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
