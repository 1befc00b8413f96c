#!/usr/bin/env bash
# A real, single-node Slurm on this machine, for Loom's Slurm tests and benchmarks:
# munged, slurmctld and slurmd started without systemd, everything (configuration,
# keys, state, logs, PID files) under one directory, stopped by PID.
#
#   bash tools/slurm-local.sh up   [DIR]   # install what is missing, start, wait until a job runs
#   bash tools/slurm-local.sh down [DIR]   # stop the three daemons started from DIR
#   bash tools/slurm-local.sh status [DIR]
#   bash tools/slurm-local.sh controller-stop|controller-start [DIR]  # the Slurm tests' outages
#   bash tools/slurm-local.sh node-kill|node-start [DIR]              # (slurmd: SIGKILL, then again)
#
# DIR defaults to $LOOM_SLURM_DIR, else /tmp/loom-slurm. Client commands (sbatch,
# squeue, scontrol) find this cluster through SLURM_CONF: `source DIR/env` sets it.
# The daemons listen on $LOOM_SLURM_PORT and the port after it (default 6817, 6818), so
# that the test suite's cluster and one of your own can run side by side;
# $LOOM_SLURM_MAX_ARRAY_SIZE sets MaxArraySize (default 10001; the tests' cluster has a
# small one, so that a 1,000-item map needs several job arrays).
#
# The cluster: one node, "localhost" (NodeHostname=localhost, NodeAddr=127.0.0.1, so the
# machine's own host name does not matter), advertising 16 CPUs whatever the machine has
# (short jobs do not wait for a free CPU), partition "debug" with OverSubscribe=FORCE,
# batch_sched_delay=0, no accounting (no sacct), no cgroups. Memory limits (--mem) are
# enforced without cgroups: slurmstepd samples the job's processes every second
# (jobacct_gather/linux) and kills a job over its limit (OverMemoryKill): it ends
# OUT_OF_MEMORY. Must run as root (slurmd starts jobs as their users).
set -euo pipefail

action=${1:-}
dir=${2:-${LOOM_SLURM_DIR:-/tmp/loom-slurm}}
cpus=${LOOM_SLURM_CPUS:-16}
max_array_size=${LOOM_SLURM_MAX_ARRAY_SIZE:-10001}
[[ $max_array_size =~ ^[0-9]+$ ]] || { echo "slurm-local.sh: LOOM_SLURM_MAX_ARRAY_SIZE must be a number" >&2; exit 2; }
port=${LOOM_SLURM_PORT:-6817}
[[ $port =~ ^[0-9]+$ ]] || { echo "slurm-local.sh: LOOM_SLURM_PORT must be a number" >&2; exit 2; }

die() {
  echo "slurm-local.sh: $*" >&2
  exit 1
}

install_missing() {
  local missing=()
  for p in slurm-wlm munge; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  if ((${#missing[@]})); then
    echo "slurm-local.sh: installing ${missing[*]}" >&2
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  fi
}

# The PID recorded in FILE if that process still runs, else nothing.
live_pid() {
  local file=$1 pid
  [[ -s $file ]] || return 0
  pid=$(<"$file")
  [[ $pid =~ ^[0-9]+$ ]] && kill -0 "$pid" 2>/dev/null && echo "$pid"
  return 0
}

# Waits up to $2 seconds for `$1` (a command line) to succeed.
wait_for() {
  local what=$1 seconds=$2
  for ((i = 0; i < seconds * 10; i++)); do
    if eval "$what" >/dev/null 2>&1; then return 0; fi
    sleep 0.1
  done
  return 1
}

write_config() {
  local memory_mb
  memory_mb=$(awk '/MemTotal/ {print int($2 / 1024)}' /proc/meminfo)
  cat >"$dir/slurm.conf" <<EOF
# Written by tools/slurm-local.sh: a single-node cluster for Loom's tests.
ClusterName=loom
SlurmctldHost=localhost(127.0.0.1)
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
AuthInfo=socket=$dir/munge/munge.socket
CryptoType=crypto/munge
MpiDefault=none
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/linux
JobAcctGatherFrequency=task=1
JobAcctGatherParams=OverMemoryKill
AccountingStorageType=accounting_storage/none
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU_Memory
DefMemPerCPU=512
SchedulerType=sched/backfill
SchedulerParameters=batch_sched_delay=0,sched_min_interval=0
MaxArraySize=$max_array_size
MaxJobCount=100000
ReturnToService=2
SlurmdParameters=config_overrides
StateSaveLocation=$dir/state
SlurmdSpoolDir=$dir/spool
SlurmctldPidFile=$dir/slurmctld.pid
SlurmdPidFile=$dir/slurmd.pid
SlurmctldLogFile=$dir/log/slurmctld.log
SlurmdLogFile=$dir/log/slurmd.log
SlurmctldPort=$port
SlurmdPort=$((port + 1))
SlurmctldTimeout=30
SlurmdTimeout=60
InactiveLimit=0
KillWait=5
MinJobAge=300
NodeName=localhost NodeHostname=localhost NodeAddr=127.0.0.1 CPUs=$cpus RealMemory=$memory_mb State=UNKNOWN
PartitionName=debug Nodes=localhost Default=YES MaxTime=INFINITE State=UP OverSubscribe=FORCE
EOF
  echo "export SLURM_CONF=$dir/slurm.conf" >"$dir/env"
}

up() {
  [[ $(id -u) -eq 0 ]] || die "must run as root (slurmd starts jobs as their users)"
  install_missing
  mkdir -p "$dir"/{munge,state,spool,log}
  if [[ -n $(live_pid "$dir/slurmctld.pid") || -n $(live_pid "$dir/slurmd.pid") ]]; then
    die "a cluster started from $dir still runs: bash tools/slurm-local.sh down $dir"
  fi
  write_config
  export SLURM_CONF=$dir/slurm.conf

  # munged: its own key, socket and PID file (not the system's /etc/munge, /run/munge).
  chmod 700 "$dir/munge"
  [[ -s $dir/munge/munge.key ]] || dd if=/dev/urandom of="$dir/munge/munge.key" bs=1024 count=1 status=none
  chmod 400 "$dir/munge/munge.key"
  if [[ -z $(live_pid "$dir/munge/munged.pid") ]]; then
    munged --force --key-file="$dir/munge/munge.key" --socket="$dir/munge/munge.socket" \
      --pid-file="$dir/munge/munged.pid" --log-file="$dir/log/munged.log" --seed-file="$dir/munge/munged.seed" ||
      die "munged did not start: $(tail -n 5 "$dir/log/munged.log" 2>/dev/null)"
  fi
  wait_for "munge --socket='$dir/munge/munge.socket' -n </dev/null | unmunge --socket='$dir/munge/munge.socket'" 10 ||
    die "munged does not answer on $dir/munge/munge.socket: $(tail -n 5 "$dir/log/munged.log" 2>/dev/null)"

  # slurmctld first, and only once it answers, slurmd (it registers with the controller).
  slurmctld -f "$SLURM_CONF" -i || die "slurmctld did not start: $(tail -n 20 "$dir/log/slurmctld.log" 2>/dev/null)"
  wait_for "scontrol ping | grep -q UP" 30 ||
    die "slurmctld does not answer scontrol ping: $(tail -n 20 "$dir/log/slurmctld.log" 2>/dev/null)"
  slurmd -f "$SLURM_CONF" -N localhost || die "slurmd did not start: $(tail -n 20 "$dir/log/slurmd.log" 2>/dev/null)"
  wait_for "sinfo -h -n localhost -o %T | grep -Eq '^(idle|mixed|allocated)'" 30 ||
    die "node localhost is not up: $(sinfo -h -o '%T %E' 2>&1); $(tail -n 20 "$dir/log/slurmd.log" 2>/dev/null)"

  # A job runs end to end, or the cluster is not up.
  local out
  out=$(cd "$dir" && timeout 60 sbatch --wait --quiet --output="$dir/log/check-%j.out" --wrap "echo slurm-local-ok" 2>&1) ||
    die "a test job did not run: $out"
  grep -qs slurm-local-ok "$dir"/log/check-*.out || die "a test job ran but wrote nothing to $dir/log"
  echo "slurm-local.sh: up in $dir (slurmctld $(live_pid "$dir/slurmctld.pid"), slurmd $(live_pid "$dir/slurmd.pid"), munged $(live_pid "$dir/munge/munged.pid")); source $dir/env"
}

stop_pid_file() {
  local name=$1 file=$2 pid
  pid=$(live_pid "$file")
  [[ -n $pid ]] || return 0
  kill -TERM "$pid" 2>/dev/null || true
  for ((i = 0; i < 100; i++)); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  if kill -0 "$pid" 2>/dev/null; then
    echo "slurm-local.sh: $name ($pid) did not stop in 10 s: SIGKILL" >&2
    kill -KILL "$pid" 2>/dev/null || true
  fi
  rm -f "$file"
}

down() {
  # slurmd first (it stops its jobs' step daemons), then the controller, then munged.
  stop_pid_file slurmd "$dir/slurmd.pid"
  stop_pid_file slurmctld "$dir/slurmctld.pid"
  stop_pid_file munged "$dir/munge/munged.pid"
  echo "slurm-local.sh: down ($dir)"
}

status() {
  local all=0
  for d in "slurmctld:$dir/slurmctld.pid" "slurmd:$dir/slurmd.pid" "munged:$dir/munge/munged.pid"; do
    local pid
    pid=$(live_pid "${d#*:}")
    echo "${d%%:*}: ${pid:-not running}"
    [[ -n $pid ]] || all=1
  done
  return $all
}

# The controller or the node daemon alone, for tests of outages: the running jobs and
# the controller's state (StateSaveLocation) survive.
controller_start() {
  export SLURM_CONF=$dir/slurm.conf
  [[ -z $(live_pid "$dir/slurmctld.pid") ]] || die "slurmctld already runs"
  slurmctld -f "$SLURM_CONF" || die "slurmctld did not start: $(tail -n 20 "$dir/log/slurmctld.log" 2>/dev/null)"
  wait_for "scontrol ping | grep -q UP" 30 || die "slurmctld does not answer scontrol ping"
  echo "slurm-local.sh: slurmctld $(live_pid "$dir/slurmctld.pid")"
}

node_start() {
  export SLURM_CONF=$dir/slurm.conf
  [[ -z $(live_pid "$dir/slurmd.pid") ]] || die "slurmd already runs"
  slurmd -f "$SLURM_CONF" -N localhost || die "slurmd did not start: $(tail -n 20 "$dir/log/slurmd.log" 2>/dev/null)"
  wait_for "sinfo -h -n localhost -o %T | grep -Eq '^(idle|mixed|allocated)'" 60 ||
    die "node localhost is not back: $(sinfo -h -o '%T %E' 2>&1)"
  echo "slurm-local.sh: slurmd $(live_pid "$dir/slurmd.pid")"
}

node_kill() {
  local pid
  pid=$(live_pid "$dir/slurmd.pid")
  [[ -n $pid ]] || die "slurmd does not run"
  kill -KILL "$pid"
  while kill -0 "$pid" 2>/dev/null; do sleep 0.1; done
  rm -f "$dir/slurmd.pid"
}

case "$action" in
  up) up ;;
  down) down ;;
  status) status ;;
  controller-stop) stop_pid_file slurmctld "$dir/slurmctld.pid" ;;
  controller-start) controller_start ;;
  node-kill) node_kill ;;
  node-start) node_start ;;
  *)
    echo "usage: bash tools/slurm-local.sh up|down|status|controller-stop|controller-start|node-kill|node-start [DIR]" >&2
    exit 2
    ;;
esac
