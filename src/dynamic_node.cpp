// src/dynamic_node.cpp — the handler of dynamic nodes: its body runs (through the run's
// backend) and builds a sub-DAG, which goes through its futures file and then runs in a
// child frame. On resume, a futures file written before runs instead of the body.
#include "execution_context.hpp"
#include "node_backend.hpp"
#include "node_handler.hpp"

#include <string>

namespace loom::detail {

LOOM_FUNC node_outcome run_dynamic_node(node_call& call) {
  frame& f = call.f;
  run_state& run = call.run();
  execution_context& context = *run.context;
  // A cached dynamic node's outputs are known when its sub-DAG is done.
  if (!call.cache_key.empty()) context.remember_cache_key(f, call.node, call.cache_key);
  if (std::string too_deep = depth_exceeded(f); !too_deep.empty()) return node_outcome::failed(std::move(too_deep));
  if (context.resuming() && call.job == 0) {
    if (std::unique_ptr<graph> sub = context.stored_futures(f, call.node)) {
      const graph& g = *sub;
      return node_outcome::enter(g, std::move(sub));
    }
  }
  if (call.job == 0 && run.backend->submits_jobs()) {
    return node_outcome::submitted(run.backend->submit(f, call.node, call.policy, call.attempt));
  }
  std::unique_ptr<graph> sub = run.backend->expand(f, call.node, call.policy);  // (a job's: reads its futures file)
  if (!run.backend->out_of_process()) {  // (out of process, it came through its file, read with the limit)
    const auto limit = run.limits.max_dynamic_nodes;
    if (sub->nodes.size() > limit) {
      return node_outcome::failed("dynamic workflow produced " + std::to_string(sub->nodes.size()) +
                                  " nodes, over the limit of " + std::to_string(limit) + " nodes per futures file");
    }
    std::shared_ptr<const graph> ran = context.through_futures_file(f, call.node, std::move(sub));
    const graph& g = *ran;
    return node_outcome::enter(g, std::move(ran));
  }
  const graph& g = *sub;
  return node_outcome::enter(g, std::move(sub));
}

}  // namespace loom::detail
