#!/usr/bin/env bash
# tools/fuzz.sh [SECONDS] — builds Loom's libFuzzer targets (fuzz/, docs/fuzzing.md) in
# build/fuzz with clang++ (-fsanitize=fuzzer,address,undefined) and runs each for SECONDS
# (default 60; LOOM_FUZZ_SECONDS overrides) on a scratch copy of its seed corpus
# (fuzz/corpus/<target>/), so the repository is not modified. Exits non-zero if any
# target crashes, leaks, runs out of memory or times out on an input, naming the target
# and where the input that did it was saved.
#
#   LOOM_FUZZ_TARGETS="fuzz_literal fuzz_cli_values"  runs only these
#   LOOM_FUZZ_BUILD_DIR=DIR                             builds there (default build/fuzz)
#   LOOM_FUZZ_WORK=DIR                                  keeps corpora, logs and crashes there
#                                                       (default: a new directory under $TMPDIR)
set -uo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
seconds=${LOOM_FUZZ_SECONDS:-${1:-60}}
build=${LOOM_FUZZ_BUILD_DIR:-$root/build/fuzz}
all_targets=(fuzz_futures_file fuzz_literal fuzz_pack_record fuzz_object_header fuzz_map_items fuzz_subdag_rows fuzz_cli_values)
read -r -a targets <<< "${LOOM_FUZZ_TARGETS:-${all_targets[*]}}"

if ! [[ "$seconds" =~ ^[0-9]+$ ]] || [ "$seconds" -eq 0 ]; then
  echo "tools/fuzz.sh: SECONDS must be a positive number of seconds, got '$seconds'" >&2
  exit 2
fi

set -e
cmake -S "$root" -B "$build" -G Ninja \
  -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -g" \
  -DCMAKE_CXX_COMPILER=clang++ -DCMAKE_C_COMPILER=clang -DLOOM_FUZZ=ON \
  -DLOOM_BUILD_TESTS=OFF -DLOOM_BUILD_EXAMPLES=OFF -DLOOM_BUILD_BENCHMARKS=OFF \
  -DLOOM_BUILD_CODEGEN=OFF -DLOOM_BUILD_TOOLS=OFF -DLOOM_INSTALL=OFF >/dev/null
cmake --build "$build" --target loom_fuzzers -j"$(nproc)"
set +e

work=${LOOM_FUZZ_WORK:-$(mktemp -d "${TMPDIR:-/tmp}/loom-fuzz.XXXXXX")}
mkdir -p "$work"
# Any error report aborts the run (libFuzzer saves the input); leaks are errors too.
export ASAN_OPTIONS="abort_on_error=1:detect_leaks=1:symbolize=1:detect_stack_use_after_return=1${ASAN_OPTIONS:+:$ASAN_OPTIONS}"
export UBSAN_OPTIONS="halt_on_error=1:abort_on_error=1:print_stacktrace=1${UBSAN_OPTIONS:+:$UBSAN_OPTIONS}"
# (The targets keep their scratch stores under /dev/shm: LOOM_FUZZ_SCRATCH=DIR moves them.)

failed=()
for target in "${targets[@]}"; do
  binary="$build/fuzz/$target"
  if [ ! -x "$binary" ]; then
    echo "tools/fuzz.sh: no target $target (known: ${all_targets[*]})" >&2
    failed+=("$target")
    continue
  fi
  dir="$work/$target"
  rm -rf "$dir"
  mkdir -p "$dir/crashes"
  cp -r "$root/fuzz/corpus/$target" "$dir/corpus"
  dict=()
  [ -f "$root/fuzz/$target.dict" ] && dict=(-dict="$root/fuzz/$target.dict")
  "$binary" "$dir/corpus" "${dict[@]}" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
    -artifact_prefix="$dir/crashes/" -print_final_stats=1 >"$dir/log" 2>&1
  status=$?
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$dir/log" | tail -1)
  last=$(grep -E '^#[0-9]+' "$dir/log" | tail -1)
  cov=$(sed -n 's/.* cov: \([0-9]*\).*/\1/p' <<<"$last")
  ft=$(sed -n 's/.* ft: \([0-9]*\).*/\1/p' <<<"$last")
  corp=$(sed -n 's/.* corp: \([^ ]*\).*/\1/p' <<<"$last")
  if [ "$status" -eq 0 ]; then
    printf '%-20s ok      %s s, %s executions, coverage %s edges, %s features, corpus %s\n' \
      "$target" "$seconds" "${execs:-?}" "${cov:-?}" "${ft:-?}" "${corp:-?}"
  else
    failed+=("$target")
    printf '%-20s FAILED  (exit %s) after %s executions, coverage %s edges\n' "$target" "$status" "${execs:-?}" "${cov:-?}"
    grep -m 3 -E 'ERROR: |runtime error:|loom fuzz:|deadly signal|out-of-memory|timeout' "$dir/log" | sed 's/^/    /'
    grep -m 1 'Test unit written to' "$dir/log" | sed 's/^/    /'
    echo "    log: $dir/log"
    echo "    reproduce: $binary <input>"
  fi
done

if [ "${#failed[@]}" -ne 0 ]; then
  echo "tools/fuzz.sh: failed: ${failed[*]} (corpora, logs and crashing inputs in $work)" >&2
  exit 1
fi
echo "tools/fuzz.sh: every target ran $seconds s without a failure (corpora and logs in $work)"
