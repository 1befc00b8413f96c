# The test "warnings: g++ -O3 workflow TU": compiles one workflow translation unit
# (warnings_workflow_tu.cpp) as a user's optimized build does, and fails if g++ warns
# with -Wrestrict. g++ 12 inlines Loom's string concatenations at -O2/-O3 and some
# shapes of them (`"o" + std::to_string(i)`) give false "__builtin_memcpy ... may
# overlap" warnings (GCC bug 105329); the headers build those strings another way
# (loom/detail/strings.hpp). The warning comes from the optimizer: the TU is compiled
# to an object (-c -o /dev/null), not just parsed.
#
#   cmake -DCXX=g++ -DSOURCE=tu.cpp -DSTD=-std=c++20 -DOPTIONS="-O3|-DNDEBUG"
#         -DLOOM_INCLUDE=include -DINCLUDES="dir|dir" -DDEFINES="NAME|NAME=VALUE"
#         -DIMPLICIT="dir|dir" -P warnings_gcc.cmake
#
# Lists are '|'-separated: the loom target's usage requirements, joined by the test.
# As in a user's build: Loom's headers with -I, its dependencies' with -isystem, the
# compiler's own include directories (IMPLICIT) not at all.
cmake_minimum_required(VERSION 3.22)  # -P: the policies of the project (if(IN_LIST))

foreach(var CXX SOURCE STD OPTIONS LOOM_INCLUDE)
  if(NOT DEFINED ${var} OR "${${var}}" STREQUAL "")
    message(FATAL_ERROR "warnings_gcc.cmake: -D${var}=... is required")
  endif()
endforeach()

string(REPLACE "|" ";" options "${OPTIONS}")
string(REPLACE "|" ";" includes "${INCLUDES}")
string(REPLACE "|" ";" defines "${DEFINES}")
string(REPLACE "|" ";" implicit "${IMPLICIT}")
list(REMOVE_DUPLICATES includes)
set(command "${CXX}" "${STD}" ${options} -Wall -Wextra -Werror=restrict "-I${LOOM_INCLUDE}")
foreach(dir IN LISTS includes)
  if(NOT dir STREQUAL "" AND NOT dir STREQUAL LOOM_INCLUDE AND NOT dir IN_LIST implicit)
    list(APPEND command -isystem "${dir}")
  endif()
endforeach()
foreach(def IN LISTS defines)
  if(NOT def STREQUAL "")
    list(APPEND command "-D${def}")
  endif()
endforeach()
list(APPEND command -c "${SOURCE}" -o /dev/null)

list(JOIN command " " shown)
message("${shown}")
execute_process(COMMAND ${command} RESULT_VARIABLE result OUTPUT_VARIABLE out ERROR_VARIABLE err)
string(REGEX MATCHALL "\\[-W(error=)?restrict\\]" restrict_warnings "${out}${err}")
list(LENGTH restrict_warnings restrict_count)
if(NOT result EQUAL 0 OR restrict_count GREATER 0)
  message("${out}${err}")
  message(FATAL_ERROR "${restrict_count} -Wrestrict warning(s); the compiler exited with ${result}")
endif()
# Other warnings do not fail this test, but are shown.
if(NOT "${out}${err}" STREQUAL "")
  message("${out}${err}")
endif()
message("no -Wrestrict warning")
