// loom/backend.hpp — where the nodes of a run execute (run_options::backend).
#pragma once

#include <cstdint>
#include <string_view>

namespace loom {

/// Where the nodes of a run execute.
enum class execution_backend : std::uint8_t {
  /// On the executor's threads, in this process (the default).
  thread,
  /// Each task node, and each dynamic node's body, in a fresh process of the node
  /// program (see run_options::node_program); at most as many at a time as the
  /// executor has threads. Static workflow nodes are structure only: they stay here.
  process,
};

inline std::string_view backend_name(execution_backend b) {
  return b == execution_backend::process ? "process" : "thread";
}

}  // namespace loom
