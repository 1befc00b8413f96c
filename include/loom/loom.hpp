// loom/loom.hpp — everything: tasks, workflows, promises, the type system and the
// executor. Including the pieces you use is cheaper to compile. The runtime they call
// is compiled into loom::runtime; with LOOM_HEADER_ONLY (loom::header_only) this header
// brings its sources instead (loom/detail/config.hpp).
#pragma once

#include <loom/cli.hpp>
#include <loom/dot.hpp>
#include <loom/dynamic.hpp>
#include <loom/entity.hpp>
#include <loom/error.hpp>
#include <loom/executor.hpp>
#include <loom/futures_file.hpp>
#include <loom/object_store.hpp>
#include <loom/process_backend.hpp>
#include <loom/registry.hpp>
#include <loom/state_store.hpp>
#include <loom/fixed_string.hpp>
#include <loom/literal.hpp>
#include <loom/map.hpp>
#include <loom/promise.hpp>
#include <loom/task.hpp>
#include <loom/type_descriptor.hpp>
#include <loom/workflow.hpp>

#ifdef LOOM_HEADER_ONLY
#include <loom_runtime_sources.hpp>  // src/, on the include path of loom::header_only
#endif
