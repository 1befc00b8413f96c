#!/usr/bin/env bash
# The two commands of the README, for a fresh Debian 12 machine:
#
#   bash tools/dev.sh example   # install what is missing, build, run the main example
#   bash tools/dev.sh test      # install what is missing, build, run the whole test suite
#
# The test suite runs three times: built with g++, with clang++, and with clang++
# under AddressSanitizer + UndefinedBehaviorSanitizer; then the programs that drive the
# runtime's threads under ThreadSanitizer, and the libFuzzer targets for a bounded time
# each (tools/fuzz.sh). What does not depend on the
# compiler is built and run once, in the g++ suite: the benchmarks (built, to keep
# them compiling; run by hand), the consumer tests (Loom built as a subdirectory and
# installed, twice more) and the browser tests of `loom ui` (Debian's chromium, driven
# by puppeteer-core from npm).
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(cmake ninja-build g++ clang clang-14 llvm-14-dev libclang-14-dev libclang-rt-14-dev libboost-dev libfmt-dev nlohmann-json3-dev libsqlite3-dev libssl-dev libxxhash-dev catch2 python3 python3-jsonschema slurm-wlm munge libcpp-httplib-dev pkg-config libsimdjson-dev)
# Only for the test suite: the browser of loom ui's browser tests, and libFuzzer.
test_packages=(chromium libfuzzer-14-dev)

# install_missing [test]: the packages, and with `test` those of the test suite.
install_missing() {
  local missing=() wanted=("${packages[@]}")
  [[ ${1:-} == test ]] && wanted+=("${test_packages[@]}")
  for p in "${wanted[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  # node and npm for the browser tests: Debian's, unless a node (with its npm) is there.
  if [[ ${1:-} == test ]] && { ! command -v node >/dev/null || ! command -v npm >/dev/null; }; then
    missing+=(nodejs npm)
  fi
  if ((${#missing[@]})); then
    echo "dev.sh: installing ${missing[*]}" >&2
    local sudo=()
    [[ $(id -u) -eq 0 ]] || sudo=(sudo)
    "${sudo[@]}" apt-get update -qq
    DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  fi
}

jobs=$(nproc)

# configure+build+test one configuration; adds its counts to passed_all/failed_all.
# With suite_targets set, builds only those targets; with suite_tests set, runs only
# the tests whose names match it (a regular expression, ctest -R).
run_suite() {
  local dir=$1
  shift
  cmake -S . -B "$dir" -G Ninja "$@" >/dev/null
  if [[ -n ${suite_targets:-} ]]; then
    # shellcheck disable=SC2086  # (a list of target names)
    cmake --build "$dir" -j "$jobs" --target $suite_targets
  else
    cmake --build "$dir" -j "$jobs"
  fi
  local select=()
  [[ -n ${suite_tests:-} ]] && select+=(-R "$suite_tests")
  [[ -n ${suite_exclude:-} ]] && select+=(-E "$suite_exclude")
  local log="$dir/ctest.log" status=0
  (cd "$dir" && ctest --output-on-failure -j "$jobs" --timeout 600 "${select[@]}") 2>&1 | tee "$log" || status=1
  local summary
  summary=$(grep -E '^[0-9]+% tests passed' "$log" | tail -n 1)
  local failed total
  failed=$(sed -E 's/.* ([0-9]+) tests failed out of ([0-9]+).*/\1/' <<<"$summary")
  total=$(sed -E 's/.* out of ([0-9]+).*/\1/' <<<"$summary")
  passed_all=$((passed_all + total - failed))
  failed_all=$((failed_all + failed))
  return $status
}

case "${1:-}" in
  example)
    install_missing
    cmake -S . -B build/release -G Ninja -DCMAKE_BUILD_TYPE=Release \
      -DLOOM_BUILD_TESTS=OFF -DLOOM_BUILD_BENCHMARKS=OFF >/dev/null
    cmake --build build/release -j "$jobs" --target count_characters
    # The seed's example: start_wf(s1="Pear", s2="Earth") through the dynamic workflow
    # count_characters, run by name from the command line on its embedded defaults.
    echo "count_characters run start_wf   (defaults: --s1 Pear --s2 Earth)"
    ./build/release/examples/count_characters run start_wf
    ;;
  test)
    install_missing test
    passed_all=0
    failed_all=0
    status=0
    run_suite build/gcc -DCMAKE_BUILD_TYPE=Debug -DCMAKE_CXX_COMPILER=g++ -DLOOM_WERROR=ON -DLOOM_BROWSER_TESTS=ON || status=1
    run_suite build/clang -DCMAKE_BUILD_TYPE=Debug -DCMAKE_CXX_COMPILER=clang++ -DLOOM_WERROR=ON \
      -DLOOM_BUILD_BENCHMARKS=OFF -DLOOM_CONSUMER_TESTS=OFF || status=1
    run_suite build/sanitize -DCMAKE_BUILD_TYPE=Debug -DCMAKE_CXX_COMPILER=clang++ \
      -DLOOM_COMPILE_FAIL_TESTS=OFF -DLOOM_BUILD_BENCHMARKS=OFF \
      "-DCMAKE_CXX_FLAGS=-fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer" \
      "-DCMAKE_EXE_LINKER_FLAGS=-fsanitize=address,undefined" || status=1
    # ThreadSanitizer, on the programs whose tests drive the runtime's threads: the
    # scheduler, executor, dynamic and map nodes, stores, resume and the process backend
    # (a time-bounded subset: the whole suite under TSan would not fit CI's time). The
    # kill -9 loops (resume semantics, minutes each under TSan) run in the other suites.
    suite_targets="loom_tests loom_store_tests loom_process_tests" suite_tests='^(unit|store|process):' \
      suite_exclude='100 kill -9 of a mixed workflow|kill -9 at random moments' \
      TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1" \
      run_suite build/tsan -DCMAKE_BUILD_TYPE=Debug -DCMAKE_CXX_COMPILER=clang++ \
      -DLOOM_COMPILE_FAIL_TESTS=OFF -DLOOM_BUILD_BENCHMARKS=OFF -DLOOM_BUILD_EXAMPLES=OFF \
      "-DCMAKE_CXX_FLAGS=-fsanitize=thread -fno-omit-frame-pointer" \
      "-DCMAKE_EXE_LINKER_FLAGS=-fsanitize=thread" || status=1
    # The fuzz targets (fuzz/, docs/fuzzing.md): each runs LOOM_FUZZ_SECONDS (30) on its
    # seed corpus; a crash, leak or timeout fails the suite.
    fuzz_status=0
    bash tools/fuzz.sh "${LOOM_FUZZ_SECONDS:-30}" || fuzz_status=1
    echo
    if ((fuzz_status)); then
      echo "fuzz targets: FAILED (see above)"
      status=1
    else
      echo "fuzz targets: passed"
    fi
    echo "all suites (g++, clang++, ASan+UBSan, TSan subset):"
    echo "tests: ${passed_all} passed, ${failed_all} failed"
    exit $status
    ;;
  *)
    echo "usage: bash tools/dev.sh example|test" >&2
    exit 2
    ;;
esac
