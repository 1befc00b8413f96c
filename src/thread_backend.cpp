// src/thread_backend.cpp — the thread backend: a node's attempt runs on the executor's
// thread that picked it up (or, with a timeout, on a thread of its own: attempt.hpp).
#include "attempt.hpp"
#include "node_backend.hpp"

#include <loom/registry.hpp>

#include <chrono>

namespace loom::detail {

LOOM_FUNC const node_policy& policy_of(const graph_node& n) {
  static const node_policy plain{};
  return n.info != nullptr && n.info->policy != nullptr ? n.info->policy(n.entity) : plain;
}

LOOM_FUNC std::uint32_t node_backend::submit(frame& f, std::uint32_t node, const node_policy&, std::uint32_t) {
  throw error("node " + f.path_of(node) + ": this backend does not submit jobs");
}

LOOM_FUNC job_poll node_backend::poll(std::uint32_t ticket) {
  return {job_poll::state::failed, "job ticket " + std::to_string(ticket) + ": this backend does not submit jobs", {}};
}

LOOM_FUNC std::size_t node_backend::items_per_job(std::size_t) const { return 0; }

LOOM_FUNC std::vector<std::uint32_t> node_backend::submit_items(frame& f, std::uint32_t node, map_run&, std::uint32_t,
                                                                const node_policy&) {
  throw error("map node " + f.path_of(node) + ": this backend does not submit jobs");
}

LOOM_FUNC job_poll node_backend::poll_items(std::uint32_t ticket, frame&, std::uint32_t, map_run&, std::size_t,
                                            std::size_t, std::uint32_t, const keep_items_fn&) {
  return poll(ticket);
}

LOOM_FUNC void node_backend::cancel(std::uint32_t) {}

namespace {

/// One attempt at a task node or a dynamic node's body with retries or a timeout: on
/// copies of its inputs (a retry has them again), in a graph of that one node, so that
/// an attempt abandoned by its timeout owns everything it touches.
struct copied_attempt {
  graph g;
  std::unique_ptr<any_value[]> slots;
  std::unique_ptr<graph> sub;

  copied_attempt(const frame& f, const graph_node& n) : g(single_node_graph(*n.info)) {
    g.nodes[0].entity = n.entity;
    slots.reset(new any_value[g.slot_count]);
    for (std::uint32_t i = 0; i < n.input_count; ++i) slots[i] = copy_binding(*f.g, f.g->input_of(n, i), f.slots.get());
  }
  void run() {
    const graph_node& only = g.nodes[0];
    node_io io(g, only, slots.get());
    if (only.kind == node_kind::dynamic) {
      sub = only.expand(only.entity, io);
    } else {
      only.run(only.entity, io);
    }
  }
};

class thread_backend final : public node_backend {
 public:
  [[nodiscard]] bool out_of_process() const override { return false; }

  bool run_task(frame& f, std::uint32_t node, const node_policy& policy) override {
    const graph_node& n = f.g->nodes[node];
    if (policy.plain()) {
      node_io io(*f.g, n, f.slots.get());
      n.run(n.entity, io);
      return false;
    }
    attempt(f, node, policy);
    return false;
  }

  std::unique_ptr<graph> expand(frame& f, std::uint32_t node, const node_policy& policy) override {
    const graph_node& n = f.g->nodes[node];
    if (policy.plain()) {
      node_io io(*f.g, n, f.slots.get());
      return n.expand(n.entity, io);
    }
    return attempt(f, node, policy);
  }

  /// The items one after the other on this thread. A recorded run keeps their outputs
  /// as they finish, at most every map_checkpoint_interval (what a crash loses is what
  /// finished since the last record).
  void run_items(frame& f, std::uint32_t node, map_run& run, std::size_t begin, std::size_t end, std::uint32_t,
                 const keep_items_fn& keep) override {
    const graph_node& n = f.g->nodes[node];
    const map_spec& spec = f.g->maps[n.map];
    const map_ops& ops = *n.info->map;
    // Not yet here: an item's timeout (its attempt would need a thread of its own, and
    // would still write into the shared output lists when abandoned).
    node_policy policy = policy_of(n);
    policy.timeout = std::chrono::milliseconds(0);
    const bool recorded = run.phase != nullptr;
    const auto interval = f.run->options->map_checkpoint_interval;
    const auto started = std::chrono::steady_clock::now();
    auto last_kept = started;
    std::size_t kept_to = begin;  // the items before it are in a checkpoint
    const auto cancelled = [&] {
      return run.stop.load(std::memory_order_relaxed) || f.run->failed.load(std::memory_order_relaxed);
    };
    for (std::size_t k = begin; k < end; ++k) {
      if (cancelled()) break;
      if (run.reused(k)) continue;
      std::uint32_t attempts = 0;
      const attempt_result result = attempt_in_line(
          policy, [&] { ops.run_item(n.entity, run.inputs.data(), spec.mapped, k, spec.partial, run.outputs.data()); },
          cancelled, attempts);
      if (result.ok()) {
        run.item_succeeded(k);
      } else {
        run.item_failed(k, result.error, spec.partial);
      }
      if (!recorded) continue;
      run.item_attempts(k, attempts);
      // (A clock read, about 30 ns here, after every item of a recorded map.)
      if (std::chrono::steady_clock::now() - last_kept >= interval) {
        keep(kept_to, k + 1);
        kept_to = k + 1;
        last_kept = std::chrono::steady_clock::now();
      }
    }
    // A chunk that took a while keeps its last items too (a quick one does not: the node's
    // outputs are kept whole when it ends, and are all a resume needs then).
    if (recorded && kept_to < end && std::chrono::steady_clock::now() - started >= interval) keep(kept_to, end);
  }

 private:
  /// One attempt on copies of the inputs (attempt.hpp): with a timeout, the run does not
  /// wait for it past the timeout, and whatever its thread does afterwards goes nowhere.
  static std::unique_ptr<graph> attempt(frame& f, std::uint32_t node, const node_policy& policy) {
    const graph_node& n = f.g->nodes[node];
    auto a = std::make_shared<copied_attempt>(f, n);
    const attempt_result result = attempt_once(policy.timeout, [a] { a->run(); });
    if (!result.ok()) {
      throw error(result.abandoned ? result.error + " (the attempt's thread is left to finish; its result is dropped)"
                                   : result.error);
    }
    for (std::uint32_t o = 0; o < n.output_count; ++o) {
      f.slots[n.first_slot + o] = std::move(a->slots[a->g.nodes[0].first_slot + o]);
    }
    return std::move(a->sub);
  }
};

}  // namespace

LOOM_FUNC std::unique_ptr<node_backend> make_thread_backend() { return std::make_unique<thread_backend>(); }

}  // namespace loom::detail
