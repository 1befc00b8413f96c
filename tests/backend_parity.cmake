# cmake -P backend_parity.cmake -- PROGRAM ARGS...
# Runs `PROGRAM ARGS...` and `PROGRAM ARGS... --backend process`; both must succeed and
# print exactly the same stdout (the process backend's nodes run in processes of
# PROGRAM; only results go to stdout).
set(args "")
set(seen_separator OFF)
math(EXPR last "${CMAKE_ARGC} - 1")
foreach(i RANGE ${last})
  if(seen_separator)
    list(APPEND args "${CMAKE_ARGV${i}}")
  elseif("${CMAKE_ARGV${i}}" STREQUAL "--")
    set(seen_separator ON)
  endif()
endforeach()
if(NOT args)
  message(FATAL_ERROR "usage: cmake -P backend_parity.cmake -- PROGRAM ARGS...")
endif()

foreach(backend thread process)
  execute_process(COMMAND ${args} --backend ${backend}
    RESULT_VARIABLE code OUTPUT_VARIABLE out ERROR_VARIABLE err TIMEOUT 120)
  if(NOT code EQUAL 0)
    message(FATAL_ERROR "--backend ${backend}: exit code ${code}\nstdout: ${out}\nstderr: ${err}")
  endif()
  if(out STREQUAL "")
    message(FATAL_ERROR "--backend ${backend}: printed nothing\nstderr: ${err}")
  endif()
  set(out_${backend} "${out}")
endforeach()
if(NOT out_thread STREQUAL out_process)
  message(FATAL_ERROR "the backends differ:\n--backend thread:  ${out_thread}--backend process: ${out_process}")
endif()
message(STATUS "both backends printed: ${out_process}")
