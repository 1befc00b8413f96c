# Runs one compile-fail snippet through the compiler and checks the outcome.
#
#   cmake -D COMPILER=<c++> -D SOURCE=<snippet.cpp> -D MODE=fail|control
#         [-D INCLUDE_DIRS=<dir>|<dir>...] [-D DEFINITIONS=<def>|<def>...]
#         [-D IMPLICIT_INCLUDE_DIRS=<dir>|<dir>...] -P check.cmake
#
# MODE=fail:    the snippet must fail to compile; the compiler output must contain every
#               `// expect: <text>` of the snippet (plain substring match) and exactly one
#               line with `error:` (one misuse, one readable error: no cascade).
# MODE=control: the snippet, compiled with -DLOOM_COMPILE_FAIL_CONTROL, must compile:
#               this proves the failure above is the misuse and not something unrelated.
#
# Lists are separated by `|` so that they survive the ctest command line unsplit.
cmake_minimum_required(VERSION 3.22)

foreach(required COMPILER SOURCE MODE)
  if(NOT DEFINED ${required} OR "${${required}}" STREQUAL "")
    message(FATAL_ERROR "check.cmake: -D ${required}=... is required")
  endif()
endforeach()
if(NOT MODE STREQUAL "fail" AND NOT MODE STREQUAL "control")
  message(FATAL_ERROR "check.cmake: MODE must be `fail` or `control`, not `${MODE}`")
endif()

string(REPLACE "|" ";" include_dirs "${INCLUDE_DIRS}")
string(REPLACE "|" ";" definitions "${DEFINITIONS}")
string(REPLACE "|" ";" implicit_dirs "${IMPLICIT_INCLUDE_DIRS}")

set(command "${COMPILER}" -std=c++20 -fsyntax-only -fdiagnostics-color=never)
list(REMOVE_DUPLICATES include_dirs)
foreach(dir IN LISTS include_dirs)
  # The compiler's own directories (e.g. /usr/include) must stay system directories:
  # an explicit -I for them breaks the #include_next of the C++ standard library.
  if(dir STREQUAL "" OR dir IN_LIST implicit_dirs)
    continue()
  endif()
  list(APPEND command "-I${dir}")
endforeach()
foreach(definition IN LISTS definitions)
  if(NOT definition STREQUAL "")
    list(APPEND command "-D${definition}")
  endif()
endforeach()
if(MODE STREQUAL "control")
  list(APPEND command -DLOOM_COMPILE_FAIL_CONTROL)
endif()
list(APPEND command "${SOURCE}")

execute_process(COMMAND ${command}
                RESULT_VARIABLE result
                OUTPUT_VARIABLE output
                ERROR_VARIABLE output)

string(REPLACE ";" " " command_line "${command}")
set(report "command: ${command_line}\n---- compiler output ----\n${output}-------------------------")

# Prints the command and the compiler output verbatim (a FATAL_ERROR message would be
# re-wrapped), then fails with `why`.
function(fail why)
  message(NOTICE "${report}")
  message(FATAL_ERROR "${why}")
endfunction()

if(MODE STREQUAL "control")
  if(NOT result EQUAL 0)
    fail("The control of ${SOURCE} must compile, but the compiler failed (${result}).")
  endif()
  message(STATUS "control compiles: ${SOURCE}")
  return()
endif()

if(result EQUAL 0)
  fail("${SOURCE} must fail to compile, but it compiled.")
endif()

# Splits `text` into lines without CMake's list splitting (`;` and `[` are ordinary
# characters in compiler output and in expectations).
function(split_lines text out_count)
  set(count 0)
  set(rest "${text}")
  while(NOT rest STREQUAL "")
    string(FIND "${rest}" "\n" newline)
    if(newline EQUAL -1)
      set(line "${rest}")
      set(rest "")
    else()
      string(SUBSTRING "${rest}" 0 ${newline} line)
      math(EXPR after "${newline} + 1")
      string(SUBSTRING "${rest}" ${after} -1 rest)
    endif()
    set(line_${count} "${line}" PARENT_SCOPE)
    math(EXPR count "${count} + 1")
  endwhile()
  set(${out_count} ${count} PARENT_SCOPE)
endfunction()

# The expectations: the snippet's `// expect: <text>` lines, matched as plain substrings.
file(READ "${SOURCE}" source_text)
string(REPLACE "\r\n" "\n" source_text "${source_text}")
split_lines("${source_text}" source_line_count)
set(expectations_count 0)
set(missing "")
string(LENGTH "// expect: " marker_length)
foreach(i RANGE ${source_line_count})
  if(i EQUAL source_line_count)
    break()
  endif()
  string(STRIP "${line_${i}}" line)
  string(FIND "${line}" "// expect: " marker)
  if(NOT marker EQUAL 0)
    continue()
  endif()
  string(SUBSTRING "${line}" ${marker_length} -1 expected)
  if(expected STREQUAL "")
    continue()
  endif()
  math(EXPR expectations_count "${expectations_count} + 1")
  string(FIND "${output}" "${expected}" found)
  if(found EQUAL -1)
    string(APPEND missing "\n  ${expected}")
  endif()
endforeach()

if(expectations_count EQUAL 0)
  fail("${SOURCE} has no `// expect: <text>` line: a compile-fail snippet must say what the error reads.")
endif()
if(NOT missing STREQUAL "")
  fail("The compiler output for ${SOURCE} lacks these expected strings:${missing}")
endif()

# One misuse, one error: count the output lines that say `error:`.
split_lines("${output}" output_line_count)
set(error_lines 0)
foreach(i RANGE ${output_line_count})
  if(i EQUAL output_line_count)
    break()
  endif()
  string(FIND "${line_${i}}" "error:" at)
  if(NOT at EQUAL -1)
    math(EXPR error_lines "${error_lines} + 1")
  endif()
endforeach()
if(NOT error_lines EQUAL 1)
  fail("${SOURCE} must give exactly one error, but the compiler output has ${error_lines} lines with `error:`.")
endif()

message(STATUS "fails as expected (${expectations_count} expectations, one error): ${SOURCE}")
