// src/workflow_node.cpp — the handler of static workflow nodes (a workflow called from
// another): its graph runs in a child frame, one level deeper.
#include "node_handler.hpp"

#include <string>

namespace loom::detail {

LOOM_FUNC std::string depth_exceeded(const frame& f) {
  const auto limit = f.run->limits.max_depth;
  if (f.depth + 1 <= limit) return {};
  return "nesting depth limit exceeded: this node would run at depth " + std::to_string(f.depth + 1) + " (limit " +
         std::to_string(limit) + ")";
}

LOOM_FUNC node_outcome run_workflow_node(node_call& call) {
  if (std::string too_deep = depth_exceeded(call.f); !too_deep.empty()) return node_outcome::failed(std::move(too_deep));
  return node_outcome::enter(call.n().subgraph());
}

}  // namespace loom::detail
