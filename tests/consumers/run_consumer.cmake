# Configure, build and run one consumer project in a scratch directory.
#
#   cmake -DMODE=add_subdirectory|find_package
#         -DLOOM_SOURCE_DIR=<loom source tree> -DCONSUMER_DIR=<consumer project>
#         -DWORK_DIR=<scratch directory, wiped first>
#         -DGENERATOR=<...> [-DMAKE_PROGRAM=<...>] -DCXX_COMPILER=<...>
#         [-DCXX_COMPILER_LAUNCHER=<...>] [-DCXX_FLAGS=<...>] [-DCONFIG=<...>]
#         [-DFORWARD=<NAME=value|NAME=value...>]   (cache entries, '|'-separated)
#         -P run_consumer.cmake
#
# For find_package, Loom itself is first configured (tests, examples, benchmarks
# off; install rules on) and `cmake --install`ed into WORK_DIR/prefix; the consumer
# then finds it through CMAKE_PREFIX_PATH. Any failing step fails with its output.
cmake_minimum_required(VERSION 3.22)

foreach(var IN ITEMS MODE LOOM_SOURCE_DIR CONSUMER_DIR WORK_DIR GENERATOR CXX_COMPILER)
  if(NOT DEFINED ${var} OR "${${var}}" STREQUAL "")
    message(FATAL_ERROR "run_consumer.cmake: ${var} is not set")
  endif()
endforeach()
if(NOT MODE MATCHES "^(add_subdirectory|find_package)$")
  message(FATAL_ERROR "run_consumer.cmake: unknown MODE '${MODE}'")
endif()

# Run a command; on failure, stop with the command line and everything it printed.
function(run step)
  string(REPLACE ";" " " cmdline "${ARGN}")
  message(STATUS "[${MODE}] ${step}: ${cmdline}")
  execute_process(COMMAND ${ARGN}
    RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE out)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "[${MODE}] ${step} failed (${rc}):\n  ${cmdline}\n${out}")
  endif()
  set(last_output "${out}" PARENT_SCOPE)
endfunction()

# The toolchain of the parent build, so that the consumer is built the same way.
set(toolchain_args -G "${GENERATOR}" "-DCMAKE_CXX_COMPILER=${CXX_COMPILER}")
if(MAKE_PROGRAM)
  list(APPEND toolchain_args "-DCMAKE_MAKE_PROGRAM=${MAKE_PROGRAM}")
endif()
if(CXX_COMPILER_LAUNCHER)
  list(APPEND toolchain_args "-DCMAKE_CXX_COMPILER_LAUNCHER=${CXX_COMPILER_LAUNCHER}")
endif()
if(CXX_FLAGS)
  list(APPEND toolchain_args "-DCMAKE_CXX_FLAGS=${CXX_FLAGS}")
endif()
if(CONFIG)
  list(APPEND toolchain_args "-DCMAKE_BUILD_TYPE=${CONFIG}")
  set(config_args --config "${CONFIG}")
  set(ctest_config_args -C "${CONFIG}")
else()
  set(config_args "")
  set(ctest_config_args "")
endif()
# Where the parent found Boost, fmt, nlohmann_json... ('|' stands for ';').
set(prefix_path "")
if(FORWARD)
  string(REPLACE "|" ";" forward "${FORWARD}")
  foreach(entry IN LISTS forward)
    if(entry MATCHES "^CMAKE_PREFIX_PATH=(.*)$")
      set(prefix_path "${CMAKE_MATCH_1}")
    elseif(NOT entry STREQUAL "")
      list(APPEND toolchain_args "-D${entry}")
    endif()
  endforeach()
  string(REPLACE "," ";" prefix_path "${prefix_path}")
endif()

file(REMOVE_RECURSE "${WORK_DIR}")
file(MAKE_DIRECTORY "${WORK_DIR}")
set(consumer_build "${WORK_DIR}/consumer-build")
set(consumer_args "")

if(MODE STREQUAL "find_package")
  set(loom_build "${WORK_DIR}/loom-build")
  set(prefix "${WORK_DIR}/prefix")
  set(loom_args ${toolchain_args})
  if(prefix_path)
    string(REPLACE ";" "\\;" escaped "${prefix_path}")
    list(APPEND loom_args "-DCMAKE_PREFIX_PATH=${escaped}")
  endif()
  run("configure Loom" "${CMAKE_COMMAND}" -S "${LOOM_SOURCE_DIR}" -B "${loom_build}" ${loom_args}
    -DLOOM_BUILD_TESTS=OFF -DLOOM_BUILD_EXAMPLES=OFF -DLOOM_BUILD_BENCHMARKS=OFF -DLOOM_INSTALL=ON
    "-DCMAKE_INSTALL_PREFIX=${prefix}")
  # An INTERFACE library: the build step only generates files, nothing is compiled.
  run("build Loom" "${CMAKE_COMMAND}" --build "${loom_build}" ${config_args})
  run("install Loom" "${CMAKE_COMMAND}" --install "${loom_build}" ${config_args} --prefix "${prefix}")
  if(NOT EXISTS "${prefix}/include/loom/loom.hpp")
    message(FATAL_ERROR "[${MODE}] cmake --install did not install include/loom/loom.hpp:\n${last_output}")
  endif()
  list(PREPEND prefix_path "${prefix}")
  list(APPEND consumer_args "-DLOOM_EXPECTED_PREFIX=${prefix}"
    # Only the freshly installed Loom may be found: no user/system package registry.
    -DCMAKE_FIND_USE_PACKAGE_REGISTRY=OFF -DCMAKE_FIND_USE_SYSTEM_PACKAGE_REGISTRY=OFF)
else()
  list(APPEND consumer_args "-DLOOM_SOURCE_DIR=${LOOM_SOURCE_DIR}")
endif()
if(prefix_path)
  string(REPLACE ";" "\\;" escaped "${prefix_path}")
  list(APPEND consumer_args "-DCMAKE_PREFIX_PATH=${escaped}")
endif()

run("configure consumer" "${CMAKE_COMMAND}" -S "${CONSUMER_DIR}" -B "${consumer_build}"
  ${toolchain_args} ${consumer_args})
if(MODE STREQUAL "find_package")
  # The consumer must have picked up the Loom just installed, not another one.
  file(STRINGS "${consumer_build}/CMakeCache.txt" loom_dir_line REGEX "^loom_DIR:")
  string(REGEX REPLACE "^loom_DIR:[A-Z]+=" "" found_dir "${loom_dir_line}")
  file(REAL_PATH "${prefix}" real_prefix)
  file(REAL_PATH "${found_dir}" real_found)
  string(FIND "${real_found}/" "${real_prefix}/" at)
  if(NOT at EQUAL 0)
    message(FATAL_ERROR "[${MODE}] the consumer found loom in '${found_dir}', not under ${prefix}")
  endif()
endif()
run("build consumer" "${CMAKE_COMMAND}" --build "${consumer_build}" ${config_args})

# Make sure only the consumer was compiled: Loom's tests/examples must not be built.
file(GLOB_RECURSE objects "${consumer_build}/*.o" "${consumer_build}/*.obj")
foreach(object IN LISTS objects)
  if(NOT object MATCHES "/consumer\\.dir/")
    message(FATAL_ERROR "[${MODE}] something besides the consumer was compiled: ${object}")
  endif()
endforeach()

if(CTEST_COMMAND)
  set(ctest "${CTEST_COMMAND}")
else()
  get_filename_component(cmake_bin "${CMAKE_COMMAND}" DIRECTORY)
  set(ctest "${cmake_bin}/ctest")
endif()
execute_process(COMMAND "${ctest}" --output-on-failure ${ctest_config_args}
  WORKING_DIRECTORY "${consumer_build}" RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE out)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "[${MODE}] running the consumer failed (${rc}):\n${out}")
endif()
message(STATUS "[${MODE}] consumer built and ran:\n${out}")
