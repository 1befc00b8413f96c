// loom/loom.hpp — everything: tasks, workflows, promises, the type system and the
// executor. Including the pieces you use is cheaper to compile.
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
#include <loom/fixed_string.hpp>
#include <loom/literal.hpp>
#include <loom/map.hpp>
#include <loom/promise.hpp>
#include <loom/task.hpp>
#include <loom/type_descriptor.hpp>
#include <loom/workflow.hpp>
