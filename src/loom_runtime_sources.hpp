// src/loom_runtime_sources.hpp — the runtime's sources, for LOOM_HEADER_ONLY builds
// (CMake target loom::header_only): <loom/loom.hpp> includes this, and every function
// below is `inline` (LOOM_FUNC, loom/detail/config.hpp). A normal build compiles each
// source once into loom::runtime instead.
#pragma once

#include "error.cpp"
#include "strings.cpp"
#include "type_descriptor.cpp"
#include "literal.cpp"
#include "any_value.cpp"
#include "graph.cpp"
#include "registry.cpp"
#include "graph_recorder.cpp"
#include "checksum.cpp"
#include "sha256.cpp"
#include "object_store.cpp"
#include "recorder.cpp"
#include "futures_document.cpp"
#include "futures_file.cpp"
#include "process_backend.cpp"
#include "dot.cpp"
#include "cli.cpp"
#include "state_store.cpp"
#include "execution_context.cpp"
#include "thread_backend.cpp"
#include "process_node_backend.cpp"
#include "task_node.cpp"
#include "when_node.cpp"
#include "workflow_node.cpp"
#include "dynamic_node.cpp"
#include "map_node.cpp"
#include "scheduler.cpp"
#include "executor.cpp"
