// src/task_node.cpp — the handler of task nodes: one attempt through the run's backend
// (submitted as a job, then collected, on a backend that submits jobs), then its
// outputs kept (and cached, for a cached task).
#include "execution_context.hpp"
#include "node_backend.hpp"
#include "node_handler.hpp"

namespace loom::detail {

LOOM_FUNC node_outcome run_task_node(node_call& call) {
  run_state& run = call.run();
  if (call.job == 0 && run.backend->submits_jobs()) {
    return node_outcome::submitted(run.backend->submit(call.f, call.node, call.policy, call.attempt));
  }
  // (A job's: collects its outputs.)
  if (run.backend->run_task(call.f, call.node, call.policy)) {
    run.context->outputs_stored(call.f, call.node);  // its process kept them
  } else {
    run.context->outputs_ready(call.f, call.node);
  }
  if (!call.cache_key.empty()) run.context->keep_cached(call.f, call.node, call.cache_key);
  return node_outcome::done();
}

}  // namespace loom::detail
