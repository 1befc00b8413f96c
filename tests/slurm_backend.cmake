# Tests of the Slurm backend on a real single-node cluster, included by
# tests/CMakeLists.txt. The CTest fixture "slurm" starts munged, slurmctld and slurmd
# with tools/slurm-local.sh (installing slurm-wlm and munge if they are missing: root
# only) in a directory of this build's own, on ports apart from a developer's cluster
# (6917, 6918), and stops them by PID after the last Slurm test.
string(MD5 loom_build_hash "${CMAKE_BINARY_DIR}")
string(SUBSTRING "${loom_build_hash}" 0 8 loom_build_hash)
set(LOOM_SLURM_TEST_DIR "/tmp/loom-slurm-ctest-${loom_build_hash}")
set(LOOM_SLURM_SCRIPT "${PROJECT_SOURCE_DIR}/tools/slurm-local.sh")

add_executable(loom_slurm_tests test_slurm_backend.cpp)
target_link_libraries(loom_slurm_tests PRIVATE loom::loom Catch2::Catch2)
target_compile_definitions(loom_slurm_tests PRIVATE
  LOOM_SLURM_LOCAL_SCRIPT="${LOOM_SLURM_SCRIPT}"
  LOOM_SLURM_TEST_DIR="${LOOM_SLURM_TEST_DIR}")

add_test(NAME "slurm: start the test cluster"
  COMMAND bash -c "bash \"$0\" down \"$1\" >/dev/null 2>&1; rm -rf \"$1\"; LOOM_SLURM_PORT=6917 LOOM_SLURM_MAX_ARRAY_SIZE=301 bash \"$0\" up \"$1\""
          ${LOOM_SLURM_SCRIPT} ${LOOM_SLURM_TEST_DIR})
set_tests_properties("slurm: start the test cluster" PROPERTIES FIXTURES_SETUP slurm TIMEOUT 600)
add_test(NAME "slurm: stop the test cluster" COMMAND bash ${LOOM_SLURM_SCRIPT} down ${LOOM_SLURM_TEST_DIR})
set_tests_properties("slurm: stop the test cluster" PROPERTIES FIXTURES_CLEANUP slurm)
catch_discover_tests(loom_slurm_tests TEST_SPEC "~[outage]" TEST_PREFIX "slurm: "
  PROPERTIES FIXTURES_REQUIRED slurm TIMEOUT 300)
# The daemons' outages would hold up the other Slurm tests: these run alone.
catch_discover_tests(loom_slurm_tests TEST_SPEC "[outage]" TEST_PREFIX "slurm: "
  PROPERTIES FIXTURES_REQUIRED slurm TIMEOUT 300 RUN_SERIAL ON)

# The command line: the seed's examples print the same with --backend slurm as on threads.
if(LOOM_BUILD_EXAMPLES)
  function(loom_slurm_parity target)
    set(name "slurm: example ${target} ${ARGN}: the same stdout with --backend slurm")
    add_test(NAME "${name}"
      COMMAND ${CMAKE_COMMAND} -DOTHER=slurm -DSTORE=${CMAKE_CURRENT_BINARY_DIR}/slurm-parity-${target}
              -P ${CMAKE_CURRENT_SOURCE_DIR}/backend_parity.cmake -- $<TARGET_FILE:${target}> ${ARGN})
    set_tests_properties("${name}" PROPERTIES FIXTURES_REQUIRED slurm TIMEOUT 300
      ENVIRONMENT "SLURM_CONF=${LOOM_SLURM_TEST_DIR}/slurm.conf")
  endfunction()
  loom_slurm_parity(count_characters run start_wf --threads 2)
  loom_slurm_parity(merge_sort run merge_sort --numbers [31,4,15,9,26,5,35,8] --threshold 4)
endif()
