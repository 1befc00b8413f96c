# Golden-file test of loom-codegen: runs it on one sample and compares what it writes
# with tests/codegen/expected/<sample>.{inc,json,stderr} (paths under the samples
# directory are written as <samples>/..., so the files hold for any checkout).
#
#   cmake -DCODEGEN=<loom-codegen> -DSAMPLE=<name> -DSAMPLES=<dir> -DEXPECTED=<dir>
#         -DWORK=<scratch dir> -DCXX=<compiler> -DINCLUDE=<loom include dir>
#         [-DEXPECT_FAILURE=ON] [-DUPDATE=ON] -P check_golden.cmake
#
# UPDATE=ON (or LOOM_UPDATE_GOLDEN=1 in the environment) rewrites the expected files
# instead: review the diff before committing.
cmake_minimum_required(VERSION 3.22)
if("$ENV{LOOM_UPDATE_GOLDEN}")
  set(UPDATE ON)
endif()

file(MAKE_DIRECTORY "${WORK}")
set(inc "${WORK}/${SAMPLE}.inc")
set(manifest "${WORK}/${SAMPLE}.json")
file(REMOVE "${inc}" "${manifest}")
execute_process(
  COMMAND "${CODEGEN}" "${SAMPLES}/${SAMPLE}.cpp" --output "${inc}" --manifest "${manifest}"
          -- "${CXX}" -std=c++20 "-I${INCLUDE}" -DLOOM_GENERATED
  RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)

function(normalized path_or_text var)
  string(REPLACE "${SAMPLES}/" "<samples>/" text "${path_or_text}")
  set(${var} "${text}" PARENT_SCOPE)
endfunction()

function(compare what actual expected_file)
  normalized("${actual}" actual)
  if(UPDATE)
    file(WRITE "${expected_file}" "${actual}")
    message(STATUS "updated ${expected_file}")
    return()
  endif()
  if(NOT EXISTS "${expected_file}")
    message(FATAL_ERROR "${expected_file} does not exist (run with -DUPDATE=ON to create it). ${what}:\n${actual}")
  endif()
  file(READ "${expected_file}" expected)
  if(NOT actual STREQUAL expected)
    file(WRITE "${WORK}/${SAMPLE}.${what}.actual" "${actual}")
    execute_process(COMMAND diff -u "${expected_file}" "${WORK}/${SAMPLE}.${what}.actual" OUTPUT_VARIABLE diff)
    message(FATAL_ERROR "${what} of ${SAMPLE} differs from ${expected_file}:\n${diff}")
  endif()
endfunction()

if(EXPECT_FAILURE)
  if(rc EQUAL 0)
    message(FATAL_ERROR "loom-codegen accepted ${SAMPLE}.cpp, which it must reject")
  endif()
  if(EXISTS "${inc}")
    message(FATAL_ERROR "loom-codegen rejected ${SAMPLE}.cpp but still wrote ${inc}")
  endif()
  compare(stderr "${err}" "${EXPECTED}/${SAMPLE}.stderr")
else()
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "loom-codegen failed on ${SAMPLE}.cpp (${rc}):\n${out}${err}")
  endif()
  file(READ "${inc}" generated)
  file(READ "${manifest}" manifest_text)
  compare(inc "${generated}" "${EXPECTED}/${SAMPLE}.inc")
  compare(json "${manifest_text}" "${EXPECTED}/${SAMPLE}.json")
endif()
