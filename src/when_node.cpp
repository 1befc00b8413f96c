// src/when_node.cpp — the handler of the two ends of a wf.when (loom/when.hpp). A branch
// node gives its condition as its decision; a merge node gives the results of the side
// its branch node took (the other side's nodes were skipped by the scheduler).
#include "execution_context.hpp"
#include "node_handler.hpp"

namespace loom::detail {

LOOM_FUNC node_outcome run_when_node(node_call& call) {
  frame& f = call.f;
  const graph& g = *f.g;
  const graph_node& n = call.n();
  const binding& first = g.input_of(n, 0);
  if (n.kind == node_kind::branch) {
    f.slots[n.first_slot].emplace<bool>(read_binding<bool>(g, first, f.slots.get()));
  } else {
    const bool then_taken = f.slots[first.slot].get<bool>();  // read, not taken: the branch's nodes read it too
    const std::uint32_t results = 1 + (then_taken ? 0 : n.output_count);
    for (std::uint32_t o = 0; o < n.output_count; ++o) {
      f.slots[n.first_slot + o] = take_binding(g, g.input_of(n, results + o), f.slots.get());
    }
  }
  call.run().context->outputs_ready(f, call.node);
  return node_outcome::done();
}

}  // namespace loom::detail
