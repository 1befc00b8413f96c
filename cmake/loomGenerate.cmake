# loom_generate(<target>): runs loom-codegen on every C++ source of <target> at build
# time and compiles each source with its generated code appended (serializers for the
# plain structs and enums in task signatures, input names from parameter names, defaults
# from default arguments, the registration of every task and workflow). Also writes
# <target>.loom.json beside the binary: the manifest of its tasks and workflows.
#
# How: each source S is compiled through a wrapper, loom_generated/<target>/S.loom.cpp,
# that includes S and then S.loom.inc (the generated code sees every type S declares).
# loom-codegen reads the wrapper with its own compile command (compile_commands.json),
# and writes a depfile: editing S or a header it includes regenerates; nothing else does.
#
# Call it after the target's sources are listed (add_executable / target_sources).
function(loom_generate target)
  if(NOT TARGET loom::codegen)
    message(FATAL_ERROR "loom_generate(${target}): loom-codegen is not available. It is built with Loom when "
                        "LOOM_BUILD_CODEGEN is ON and Clang 14 is installed (Debian: clang-14 llvm-14-dev libclang-14-dev).")
  endif()
  get_target_property(sources ${target} SOURCES)
  get_target_property(source_dir ${target} SOURCE_DIR)
  get_target_property(binary_dir ${target} BINARY_DIR)
  set(gen_dir "${binary_dir}/loom_generated/${target}")
  set(manifests "")
  foreach(src IN LISTS sources)
    if(NOT src MATCHES "\\.(cpp|cc|cxx|c\\+\\+)$")
      continue()
    endif()
    get_source_file_property(generated "${src}" TARGET_DIRECTORY ${target} GENERATED)
    if(generated)
      continue()  # our own wrappers (a second call), or another generator's output
    endif()
    get_filename_component(abs "${src}" ABSOLUTE BASE_DIR "${source_dir}")
    file(RELATIVE_PATH rel "${source_dir}" "${abs}")
    string(REPLACE "../" "__/" rel "${rel}")
    set(wrapper "${gen_dir}/${rel}.loom.cpp")
    set(inc "${gen_dir}/${rel}.loom.inc")
    set(manifest "${gen_dir}/${rel}.loom.json")
    set(depfile "${gen_dir}/${rel}.loom.d")
    file(CONFIGURE OUTPUT "${wrapper}" CONTENT
"// Written by loom_generate(${target}): ${rel} with the code loom-codegen generates for it.
#include \"${abs}\"
#ifndef LOOM_CODEGEN  // loom-codegen itself parses this file to produce what follows
#include \"${inc}\"
#endif
" @ONLY)
    add_custom_command(
      OUTPUT "${manifest}"
      BYPRODUCTS "${inc}"
      COMMAND loom::codegen "${wrapper}" -p "${CMAKE_BINARY_DIR}" --output "${inc}" --manifest "${manifest}"
              --depfile "${depfile}"
      DEPENDS "${abs}" "${wrapper}" loom::codegen
      DEPFILE "${depfile}"
      COMMENT "loom-codegen ${target}: ${rel}"
      VERBATIM)
    set_source_files_properties("${abs}" TARGET_DIRECTORY ${target} PROPERTIES HEADER_FILE_ONLY ON)
    set_source_files_properties("${wrapper}" TARGET_DIRECTORY ${target} PROPERTIES
      GENERATED ON OBJECT_DEPENDS "${manifest}")
    target_sources(${target} PRIVATE "${wrapper}")
    list(APPEND manifests "${manifest}")
  endforeach()
  if(NOT manifests)
    message(FATAL_ERROR "loom_generate(${target}): ${target} has no C++ source")
  endif()
  set(target_manifest "${binary_dir}/${target}.loom.json")
  add_custom_command(
    OUTPUT "${target_manifest}"
    COMMAND loom::codegen --merge "${target_manifest}" ${manifests}
    DEPENDS ${manifests} loom::codegen
    COMMENT "loom-codegen ${target}: manifest ${target}.loom.json"
    VERBATIM)
  target_sources(${target} PRIVATE "${target_manifest}")
  target_compile_definitions(${target} PRIVATE LOOM_GENERATED)
  # loom-codegen reads each wrapper's compile command from compile_commands.json.
  set_target_properties(${target} PROPERTIES EXPORT_COMPILE_COMMANDS ON)
endfunction()
