# shellcheck shell=bash disable=SC2034
# Shell helpers shared by the benchmark scripts (sourced, not run). They set variables
# the sourcing script reads (busy_note, m_wall, m_cpu, m_kb).

# The machine may be shared (other builds): before each measurement, wait_quiet waits
# up to WAIT_QUIET seconds (default 300) until the CPUs were less than 25% busy over
# one second. If they never were, it gives up and sets busy_note to say how busy they
# were, so that the table shows which numbers come from a loaded machine.
busy_percent() {
  local a1 a2 a3 a4 a5 a6 a7 b1 b2 b3 b4 b5 b6 b7
  read -r _ a1 a2 a3 a4 a5 a6 a7 _ </proc/stat
  sleep 1
  read -r _ b1 b2 b3 b4 b5 b6 b7 _ </proc/stat
  local busy=$(((b1 + b2 + b3 + b6 + b7) - (a1 + a2 + a3 + a6 + a7)))
  local idle=$(((b4 + b5) - (a4 + a5)))
  echo $((100 * busy / (busy + idle + 1)))
}
busy_note=""
wait_quiet() {
  local waited=0 limit="${WAIT_QUIET:-300}" pct
  while pct="$(busy_percent)" && [ "$pct" -ge 25 ]; do
    if [ "$waited" -ge "$limit" ]; then
      busy_note=" (machine ${pct}% busy at start)"
      return
    fi
    sleep 4
    waited=$((waited + 5))
  done
}

# median: of the numbers on stdin, one a line.
median() {
  sort -g | awk '{v[NR] = $1} END {if (NR == 0) exit; print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2}'
}

# measure LOG CMD...: runs CMD under /usr/bin/time (output to LOG) and sets
# m_wall (s), m_cpu (user + sys, s), m_kb (peak RSS, KB); returns CMD's status.
measure() {
  local log="$1" stats="$1.time" status=0 usr sys
  shift
  timeout "${TIMEOUT:-900}" /usr/bin/time -f "%e %M %U %S" -o "$stats" "$@" >"$log" 2>&1 || status=$?
  if read -r m_wall m_kb usr sys < <(grep -E '^[0-9.]+ [0-9]+ [0-9.]+ [0-9.]+$' "$stats"); then
    m_cpu="$(awk -v u="$usr" -v s="$sys" 'BEGIN {print u + s}')"
  else
    m_wall="?"; m_kb="?"; m_cpu="?"
  fi
  return "$status"
}

# mib_of KB: rounded MiB, or "?".
mib_of() { awk -v k="$1" 'BEGIN {if (k ~ /^[0-9]+$/) printf "%.0f", k / 1024; else printf "?"}'; }

require_time() {
  if [ ! -x /usr/bin/time ]; then
    echo "$(basename "$0"): /usr/bin/time is missing (apt-get install -y time)" >&2
    exit 1
  fi
}
