// src/scheduler.cpp — the scheduler: see scheduler.hpp.
#include "scheduler.hpp"

#include "attempt.hpp"
#include "execution_context.hpp"
#include "node_backend.hpp"
#include "run_observer.hpp"

#include <loom/process_backend.hpp>

#include <chrono>
#include <exception>
#include <optional>
#include <utility>

namespace loom::detail {

LOOM_FUNC scheduler::scheduler(std::size_t threads) {
  if (threads == 0) threads = std::thread::hardware_concurrency();
  if (threads == 0) threads = 1;
  thread_count_ = threads;
  queues_ = std::make_unique<work_queues<work_item>>(threads);
  for (std::size_t i = 1; i < threads; ++i) {
    workers_.emplace_back([this, i] {
      queues_->adopt(i);
      work_until([this] { return stopping_.load(std::memory_order_acquire) && queues_->idle(); });
    });
  }
}

LOOM_FUNC scheduler::~scheduler() {
  queues_->set_and_wake([&] { stopping_.store(true, std::memory_order_release); });
  for (auto& w : workers_) w.join();
}

LOOM_FUNC void scheduler::run_graph(const graph& g, const run_options& options,
                                    const std::function<void(any_value*)>& fill,
                                    const std::function<void(any_value*)>& read) {
  execution_context context(options);
  const run_options& effective = context.options();
  std::unique_ptr<node_backend> backend;
  if (effective.backend == execution_backend::process) {
    backend = make_process_backend(effective.node_program.empty() ? "/proc/self/exe" : effective.node_program,
                                   effective.node_program.empty() ? self_program_name() : effective.node_program,
                                   context.private_store(), effective.process);
  } else if (effective.backend == execution_backend::slurm) {
    backend = make_slurm_backend(context, effective.node_program.empty() ? self_program_name() : effective.node_program);
  } else {
    backend = make_thread_backend();
  }
  run_observers observers;
  std::optional<progress_observer> progress;
  std::optional<trace_observer> trace;
  if (effective.progress != nullptr) observers.add(&progress.emplace(*effective.progress));
  if (effective.trace != nullptr) observers.add(&trace.emplace(*effective.trace));
  run_state state;
  state.limits = effective.limits;
  state.options = &effective;
  state.backend = backend.get();
  state.context = &context;
  state.observers = &observers;
  state.threads = thread_count_;
  state.queues = queues_.get();
  frame root(g, state, nullptr, 0);
  fill(root.slots.get());
  context.begin(root);
  if (context.recorded()) observers.add(&context);  // the recorder hears of every node
  observers.graph_entered("", g, nullptr);
  last_execution_id() = effective.execution_id;
  try {
    execute_to_end(root, state);
    context.succeeded(root);
  } catch (const std::exception& e) {
    context.failed(e.what());
    throw;
  }
  read(root.slots.get());
}

LOOM_FUNC void scheduler::execute_to_end(frame& root, run_state& state) {
  ready_list ready;
  if (!start_frame(root, ready)) complete_frame(root, ready);
  state.active.fetch_add(static_cast<std::int64_t>(ready.size()), std::memory_order_relaxed);
  if (ready.empty()) {
    state.done = true;
  } else {
    queues_->push(ready);
  }
  // The calling thread works too, until its run is over.
  work_until([&] { return state.done.load(std::memory_order_acquire); });
  if (state.failure) std::rethrow_exception(state.failure);
}

namespace {

/// The work items a thread has finished and not yet counted off their run's `active`:
/// counted off in one step when the thread goes on to another run's item or runs out of
/// items, not one shared write per item. Neither holds up the run's end: while the thread
/// goes on with the same run, that run has an item running, so it is not over.
struct finished_items {
  run_state* run = nullptr;
  std::int64_t count = 0;
};

finished_items& this_thread_finished() {
  static thread_local finished_items finished;
  return finished;
}

}  // namespace

/// Counts the calling thread's finished items off their run; the last ends the run.
LOOM_FUNC void scheduler::count_finished() {
  finished_items& finished = this_thread_finished();
  if (finished.run == nullptr) return;
  run_state& state = *finished.run;
  const std::int64_t count = std::exchange(finished.count, 0);
  finished.run = nullptr;
  if (state.active.fetch_sub(count, std::memory_order_acq_rel) == count) {
    state.queues->set_and_wake([&] { state.done.store(true, std::memory_order_release); });
  }
}

/// A retry waiting out its backoff is run at once when its run has failed (nothing to
/// wait for: it ends at once).
template <class Finished>
void scheduler::work_until(Finished&& finished) {
  queues_->work_until(
      finished, [this](const work_item& item) { execute(item); },
      [](const work_item& item) { return item.f->run->failed.load(std::memory_order_relaxed); },
      [] { count_finished(); });
  // Leaving with another run's finished items uncounted would hold that run up until
  // this thread runs something again, which it may never do (a caller whose run is
  // over returns, and its thread may end).
  count_finished();
}

/// Runs one node, then (without going through the queue) one of the nodes it made
/// ready, so that a chain runs on one thread with no scheduling cost.
LOOM_FUNC void scheduler::execute(work_item item) {
  ready_list ready;
  run_state& state = *item.f->run;
  if (this_thread_finished().run != &state) count_finished();
  while (true) {
    if (item.map != nullptr) {
      // Even when the run failed: the last chunk frees the map run.
      apply(item, node_policy{}, run_map_chunk(item), ready);
    } else if (!state.failed.load(std::memory_order_relaxed)) {
      run_node(item, ready);
    }
    if (ready.empty()) break;
    item = ready.back();
    ready.pop_back();
    if (!ready.empty()) {
      state.active.fetch_add(static_cast<std::int64_t>(ready.size()), std::memory_order_relaxed);
      queues_->push(ready);
      ready.clear();
    }
  }
  // A nested run on this thread (a task that runs a workflow) may have counted off and
  // left another run's items meanwhile.
  finished_items& finished = this_thread_finished();
  if (finished.run != &state) count_finished();
  finished.run = &state;
  ++finished.count;
}

LOOM_FUNC void scheduler::run_node(const work_item& item, ready_list& ready) {
  frame& f = *item.f;
  const run_observers& observers = *f.run->observers;
  const graph_node& n = f.g->nodes[item.node];
  if (item.job != 0) {
    poll_job(item, ready);
    return;
  }
  if (item.attempt == 0 && !observers.empty()) observers.node_picked(f, item.node);
  if (n.side != branch_side::none && !branch_taken(*f.g, n, f.slots.get())) {
    observers.node_skipped(f, item.node);  // in the branch of a wf.when not taken
    complete_node(f, item.node, ready);
    return;
  }
  const node_policy& policy = policy_of(n);
  apply(item, policy, attempt(item, policy), ready);
}

/// An attempt running as a job: asked again later while it runs (the item goes back to
/// the timed queue, no thread waits for it); once it has succeeded, its handler collects
/// what it wrote.
LOOM_FUNC void scheduler::poll_job(const work_item& item, ready_list& ready) {
  frame& f = *item.f;
  const node_policy& policy = policy_of(f.g->nodes[item.node]);
  job_poll polled = f.run->backend->poll(item.job);
  switch (polled.what) {
    case job_poll::state::running:
      f.run->active.fetch_add(1, std::memory_order_relaxed);  // this item's next look
      queues_->push_at(std::chrono::steady_clock::now() + polled.again, item);
      return;
    case job_poll::state::failed:
      apply(item, policy, node_outcome::attempt_failed(std::move(polled.error)), ready);
      return;
    case job_poll::state::stopped:
      apply(item, policy, node_outcome::failed(std::move(polled.error)), ready);
      return;
    case job_poll::state::succeeded:
      apply(item, policy, attempt(item, policy), ready);
      return;
  }
}

/// One attempt at a node: what resume or the cache already have, else its handler's
/// work (for an attempt whose job has succeeded: collecting what it wrote). Whatever
/// throws is a failed attempt.
LOOM_FUNC node_outcome scheduler::attempt(const work_item& item, const node_policy& policy) {
  frame& f = *item.f;
  const graph_node& n = f.g->nodes[item.node];
  execution_context& context = *f.run->context;
  try {
    node_call call{f, item.node, item.attempt, policy, {}, item.job};
    if (item.job != 0) {
      if (policy.cache && context.recorded()) call.cache_key = context.cache_key(f, item.node);
      return n.kind == node_kind::dynamic ? run_dynamic_node(call) : run_task_node(call);
    }
    if (context.recorded()) {
      if (item.attempt == 0 && context.resuming() && context.reuse_outputs(f, item.node)) return node_outcome::done();
      if (policy.cache && n.kind != node_kind::workflow) {
        call.cache_key = context.cache_key(f, item.node);
        if (item.attempt == 0 && !context.options().overwrite_cache && context.reuse_cached(f, item.node, call.cache_key)) {
          return node_outcome::done();
        }
      }
    }
    f.run->observers->attempt_started(f, item.node);
    switch (n.kind) {
      case node_kind::task: return run_task_node(call);
      case node_kind::branch:
      case node_kind::merge: return run_when_node(call);
      case node_kind::map: return start_map_node(call);
      case node_kind::workflow: return run_workflow_node(call);
      case node_kind::dynamic: return run_dynamic_node(call);
    }
    return node_outcome::failed("node of an unknown kind " + std::to_string(static_cast<int>(n.kind)));
  } catch (const std::exception& e) {
    return node_outcome::attempt_failed(e.what());
  } catch (...) {
    return node_outcome::attempt_failed("unknown exception (not derived from std::exception)");
  }
}

LOOM_FUNC void scheduler::apply(const work_item& item, const node_policy& policy, node_outcome outcome,
                                ready_list& ready) {
  frame& f = *item.f;
  switch (outcome.what) {
    case node_outcome::kind::succeeded:
      complete_node(f, item.node, ready);
      return;
    case node_outcome::kind::attempt_failed:
      if (!retry_later(item, policy, outcome.message)) fail(f, item.node, outcome.message);
      return;
    case node_outcome::kind::failed:
      fail(f, item.node, outcome.message);
      return;
    case node_outcome::kind::enter_graph:
      start_child(f, item.node, *outcome.child, std::move(outcome.owned), ready);
      return;
    case node_outcome::kind::fan_out: {
      // Chunks submitted as jobs are first looked at after a while, from the timed queue.
      const std::vector<std::uint32_t>& jobs = outcome.map->jobs;
      const auto chunk_item = [&](std::uint32_t c) {
        return work_item{&f, item.node, 0, outcome.map, c, jobs.empty() ? 0U : jobs[c]};
      };
      const auto first_look = std::chrono::steady_clock::now() + first_job_poll;
      if (outcome.chunks > 1) {
        ready_list others;
        others.reserve(outcome.chunks - 1);
        for (std::uint32_t c = 1; c < outcome.chunks; ++c) {
          const work_item chunk = chunk_item(c);
          if (chunk.job == 0) {
            others.push_back(chunk);
          } else {
            f.run->active.fetch_add(1, std::memory_order_relaxed);
            queues_->push_at(first_look, chunk);
          }
        }
        f.run->active.fetch_add(static_cast<std::int64_t>(others.size()), std::memory_order_relaxed);
        queues_->push(others);
      }
      // The first chunk runs next on this thread, as the node's own work item.
      if (const work_item first = chunk_item(0); first.job == 0) {
        ready.push_back(first);
      } else {
        f.run->active.fetch_add(1, std::memory_order_relaxed);
        queues_->push_at(first_look, first);
      }
      return;
    }
    case node_outcome::kind::submitted: {
      work_item poll = item;
      poll.job = outcome.job;
      f.run->active.fetch_add(1, std::memory_order_relaxed);  // the job's next look
      queues_->push_at(std::chrono::steady_clock::now() + (outcome.again.count() > 0 ? outcome.again : first_job_poll),
                       poll);
      return;
    }
    case node_outcome::kind::pending:
      return;
  }
}

/// After a failed attempt: schedules the next one after its backoff (true), or says
/// there is none left (false: the node fails). The wait holds no thread.
LOOM_FUNC bool scheduler::retry_later(const work_item& item, const node_policy& policy, const std::string& message) {
  const auto delay = retry_delay(policy, item.attempt);
  if (!delay) return false;
  frame& f = *item.f;
  run_state& state = *f.run;
  if (state.failed.load(std::memory_order_relaxed)) return false;
  state.observers->attempt_failed(f, item.node, item.attempt, policy.retries, message);
  state.active.fetch_add(1, std::memory_order_relaxed);  // the retry is work still to do
  work_item next = item;
  next.attempt = item.attempt + 1;
  next.job = 0;
  queues_->push_at(std::chrono::steady_clock::now() + *delay, next);
  // A failure between the check above and the push: its expedite may have looked
  // before this item was there.
  if (state.failed.load()) queues_->expedite_delayed();
  return true;
}

LOOM_FUNC void scheduler::start_child(frame& parent, std::uint32_t node, const graph& g,
                                      std::shared_ptr<const graph> owned, ready_list& ready) {
  run_state& run = *parent.run;
  auto* child = new frame(g, run, &parent, node);
  if (!run.observers->empty()) run.observers->graph_entered(parent.path_of(node), g, owned);
  if (owned != nullptr && run.context->recorded()) run.context->subdag_entered(*child);
  child->owned = std::move(owned);
  {
    std::lock_guard lock(run.mutex);
    run.children.insert(child);
  }
  const graph_node& n = parent.g->nodes[node];
  for (std::uint32_t i = 0; i < g.input_count; ++i) {
    child->slots[i] = copy_binding(*parent.g, parent.g->input_of(n, i), parent.slots.get());
  }
  if (!start_frame(*child, ready)) complete_frame(*child, ready);
}

/// Queues the frame's nodes that have no producers; false if the frame has no nodes.
LOOM_FUNC bool scheduler::start_frame(frame& f, ready_list& ready) {
  for (std::uint32_t i = 0; i < f.g->nodes.size(); ++i) {
    if (f.g->nodes[i].predecessor_count == 0) ready.push_back({&f, i});
  }
  return !f.g->nodes.empty();
}

LOOM_FUNC void scheduler::complete_node(frame& f, std::uint32_t node, ready_list& ready) {
  const graph_node& n = f.g->nodes[node];
  const run_observers& observers = *f.run->observers;
  if (!observers.empty()) observers.node_completed(f, node);
  if (n.successor_count == 0) {
    if (f.sinks_left.fetch_sub(1, std::memory_order_acq_rel) == 1) complete_frame(f, ready);
    return;
  }
  // Only sinks are counted, so once this node's last successor is counted down, the
  // frame may end on another thread: nothing of it (or of its graph) is read after.
  const std::uint32_t* successor = f.g->successors.data() + n.first_successor;
  const std::uint32_t* const end = successor + n.successor_count;
  std::atomic<std::uint32_t>* const pending = f.pending.get();
  frame* const fp = &f;
  if (f.join_groups == nullptr) {
    for (; successor != end; ++successor) {
      const std::uint32_t s = *successor;
      if (pending[s].fetch_sub(1, std::memory_order_acq_rel) == 1) ready.push_back({fp, s});
    }
    return;
  }
  const std::uint32_t* group = f.g->successor_groups.data() + n.first_successor;
  frame::join_group* const groups = f.join_groups.get();
  for (; successor != end; ++successor, ++group) {
    // A large join's producer counts down its group; the last of a group, the join.
    if (*group != graph::no_join_group && groups[*group].left.fetch_sub(1, std::memory_order_acq_rel) != 1) continue;
    const std::uint32_t s = *successor;
    if (pending[s].fetch_sub(1, std::memory_order_acq_rel) == 1) ready.push_back({fp, s});
  }
}

/// All nodes of the frame are done: hand its outputs to the parent node.
LOOM_FUNC void scheduler::complete_frame(frame& f, ready_list& ready) {
  if (f.parent == nullptr) return;  // the root: the caller reads the outputs
  frame& parent = *f.parent;
  const std::uint32_t node = f.parent_node;
  const graph_node& n = parent.g->nodes[node];
  for (std::size_t o = 0; o < f.g->outputs.size(); ++o) {
    // The frame is done with its slots: outputs read once are moved, not copied.
    parent.slots[n.first_slot + o] = take_binding(*f.g, f.g->outputs[o], f.slots.get(), f.graph_is_private());
  }
  execution_context& context = *f.run->context;
  context.outputs_ready(parent, node);
  {
    std::lock_guard lock(f.run->mutex);
    f.run->children.erase(&f);
  }
  if (context.recorded()) context.keep_remembered(parent, node);  // a cached dynamic node
  delete &f;
  complete_node(parent, node, ready);
}

LOOM_FUNC void scheduler::fail(frame& f, std::uint32_t node, const std::string& message) {
  run_state& state = *f.run;
  state.observers->node_failed(f, node, message);
  std::lock_guard lock(state.mutex);
  if (!state.failed.exchange(true)) {
    state.failure = std::make_exception_ptr(task_failed(f.path_of(node), std::string(f.g->nodes[node].name), message));
    state.queues->expedite_delayed();  // its retries waiting out a backoff end now
  }
}

}  // namespace loom::detail
