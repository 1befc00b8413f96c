# Tests of the process backend (one process per node), included by tests/CMakeLists.txt.
# loom_process_tasks is a workflow binary with misbehaving tasks; loom_process_tests runs
# workflows whose node processes are itself (its main hands `exec-node` over before
# Catch2 sees the command line), and runs loom_process_tasks.
add_executable(loom_process_tasks process_tasks_main.cpp)
target_link_libraries(loom_process_tasks PRIVATE loom::loom)
add_executable(loom_process_tests test_process_backend.cpp test_process_backend_cli.cpp)
target_link_libraries(loom_process_tests PRIVATE loom::loom Catch2::Catch2)
target_compile_definitions(loom_process_tests PRIVATE
  LOOM_PROCESS_TASKS_BINARY="$<TARGET_FILE:loom_process_tasks>")
add_dependencies(loom_process_tests loom_process_tasks)
catch_discover_tests(loom_process_tests TEST_PREFIX "process: ")

# Every example prints the same with --backend process as without it.
if(LOOM_BUILD_EXAMPLES)
  function(loom_backend_parity target)
    add_test(NAME "process: example ${target} ${ARGV1} ${ARGV2}: the same stdout on both backends"
      COMMAND ${CMAKE_COMMAND} -P ${CMAKE_CURRENT_SOURCE_DIR}/backend_parity.cmake --
              $<TARGET_FILE:${target}> ${ARGN})
  endfunction()
  # common_characters has no command line of its own: a test-only wrapper gives it one.
  add_executable(process_common_characters process_common_characters.cpp)
  target_link_libraries(process_common_characters PRIVATE loom::loom)
  loom_backend_parity(count_characters run start_wf --threads 2)  # the seed's call: Pear, Earth
  # A wf.when with a map in its then-branch, down each branch.
  foreach(n IN ITEMS 4 -3)
    add_test(NAME "process: p_branched --i0 ${n} (a wf.when, a map in a branch): the same stdout on both backends"
      COMMAND ${CMAKE_COMMAND} -P ${CMAKE_CURRENT_SOURCE_DIR}/backend_parity.cmake --
              $<TARGET_FILE:loom_process_tasks> run p_branched --i0 ${n} --threads 2)
  endforeach()
  loom_backend_parity(count_characters run count_characters --s1 ab --s2 B)
  loom_backend_parity(merge_sort run merge_sort --numbers [31,4,15,9,26,5,35,8] --threshold 4)
  loom_backend_parity(process_common_characters run start_wf --s1 Pineapple --s2 Apples)
  loom_backend_parity(routes run plan_route
    --route "[{\"by\":\"walk\",\"metres\":500},{\"by\":\"bike\",\"metres\":2000,\"note\":\"hilly\"}]"
    --speeds "{\"walk\":1.25,\"bike\":5.0}")
endif()
