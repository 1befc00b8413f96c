// src/scheduler.hpp — the executor's core, internal to the runtime (loom::runtime):
// frames (one running instance of a graph), work items, map runs, and the scheduler
// that runs a graph's nodes on a pool of threads, records them and keeps them in the
// store. loom::executor (loom/executor.hpp) is its public face.
#pragma once

#include <loom/detail/config.hpp>
#include <loom/executor.hpp>
#include <loom/futures_file.hpp>
#include <loom/object_store.hpp>
#include <loom/process_backend.hpp>
#include <loom/recorder.hpp>
#include <loom/state_store.hpp>

#include "work_queues.hpp"

#include <atomic>
#include <charconv>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <exception>
#include <functional>
#include <iostream>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <unordered_map>
#include <unordered_set>
#include <vector>

namespace loom::detail {

/// The execution id of the last stored run started from this thread.
std::string& last_execution_id();

struct run_state;

/// One running instance of a graph: the root workflow, or a nested one.
struct frame {
  const graph* g = nullptr;
  std::shared_ptr<const graph> owned;  // a dynamic node's sub-DAG belongs to its frame (and a trace)
  std::size_t depth = 0;
  std::unique_ptr<any_value[]> slots;
  std::unique_ptr<std::atomic<std::uint32_t>[]> pending;  // per node: producers not yet done
  std::atomic<std::uint32_t> nodes_left{0};
  frame* parent = nullptr;
  std::uint32_t parent_node = 0;
  run_state* run = nullptr;

  frame(const graph& graph, run_state& r, frame* parent_frame, std::uint32_t node_in_parent)
      : g(&graph),
        depth(parent_frame != nullptr ? parent_frame->depth + 1 : 0),
        slots(new any_value[graph.slot_count]),
        pending(new std::atomic<std::uint32_t>[graph.nodes.size()]),
        nodes_left(static_cast<std::uint32_t>(graph.nodes.size())),
        parent(parent_frame),
        parent_node(node_in_parent),
        run(&r) {
    for (std::size_t i = 0; i < graph.nodes.size(); ++i) {
      pending[i].store(graph.nodes[i].predecessor_count, std::memory_order_relaxed);
    }
    if (parent_frame != nullptr) path_prefix = parent_frame->path_of(node_in_parent) + "/";
    path_prefix += g->node_prefix;
  }

  /// "n3" for a node of the root workflow, "n1/n3" inside the workflow of node n1,
  /// "n0/dn3" for node 3 of the sub-DAG of dynamic node n0. (Built for every recorded
  /// node: one append to the frame's prefix, short enough to need no allocation.)
  [[nodiscard]] std::string path_of(std::uint32_t node) const {
    char digits[16];
    const auto [end, ec] = std::to_chars(digits, digits + sizeof digits, node);
    std::string path;
    path.reserve(path_prefix.size() + static_cast<std::size_t>(end - digits));
    path += path_prefix;
    path.append(digits, end);
    return path;
  }

  std::string path_prefix;  // the parent node's path and '/', then this graph's node prefix
};

struct map_run;

struct work_item {
  frame* f = nullptr;
  std::uint32_t node = 0;
  std::uint32_t attempt = 0;  // 0 for the first; retries count up
  map_run* map = nullptr;     // a chunk of a map node's items (its node has started)
  std::uint32_t chunk = 0;
};

/// A map node while its items run, in chunks spread over the executor's threads: the
/// inputs, the output lists, and what the items did. Owned by its chunks: the last one
/// to finish completes (or fails) the node and deletes it.
struct map_run {
  std::vector<any_value> inputs;   // lists (mapped) and values (bound)
  std::vector<any_value> outputs;  // per output, std::vector<std::optional<R>>
  std::size_t length = 0;
  std::size_t chunk_size = 1;
  std::uint32_t retries = 0;
  std::atomic<std::uint32_t> chunks_left{0};
  std::atomic<std::size_t> succeeded{0};
  std::atomic<std::size_t> failed{0};
  std::atomic<bool> stop{false};  // a whole map after its first failure: no more items
  std::mutex mutex;
  std::size_t first_failed = 0;  // the lowest failed item, and its error
  std::string first_error;

  // A recorded run: what each item did, for the node's item row and for resume.
  enum : std::uint8_t { not_done, succeeded_item, failed_item, reused_item };
  std::unique_ptr<std::atomic<std::uint8_t>[]> phase;  // per item; null when the run is not recorded
  std::string path;                                    // the node's
  std::atomic<std::uint32_t> checkpoints{0};           // the next checkpoint object's number
  std::vector<std::pair<std::size_t, std::uint32_t>> attempts;  // items tried more than once (under mutex)
  std::vector<std::pair<std::size_t, std::string>> errors;      // failed items, the first ones (under mutex)
  std::string cache_key;  // a cached task's map: where its outputs go when it succeeds
  std::atomic<std::int64_t> last_row_us{0};  // when the item row was last queued
  // The process backend: the inputs as literals, made once for all the batches.
  std::once_flag literals_once;
  std::vector<json> literals;
};

/// The shared state of one run: the count of scheduled-but-unfinished nodes (the run
/// is over when it reaches zero), the first failure, and the child frames to free.
struct run_state {
  run_limits limits;
  const run_options* options = nullptr;
  std::atomic<std::int64_t> active{0};
  std::atomic<bool> failed{false};
  std::atomic<bool> done{false};
  std::mutex mutex;
  std::exception_ptr failure;
  std::unordered_set<frame*> children;
  // The process backend: what node processes run, and their argv[0]; whether the store
  // is the run's own temporary one (nothing stale in it, nothing to keep).
  std::string node_program;
  std::string node_argv0;
  bool private_store = false;
  // A recorded run: where node events go; resume: reuse what is stored.
  execution_recorder* recorder = nullptr;
  bool resume = false;
  std::unordered_set<std::string> stored_specs;  // static workflows whose graph is stored (under mutex)
  state_store* states = nullptr;                 // a recorded run's state store (the cache index too)
  std::unordered_map<std::string, std::string> dynamic_cache_keys;  // cached dynamic nodes running (under mutex)

  ~run_state() {
    for (frame* f : children) delete f;
  }
};


/// Runs graphs with maximum parallelism on a thread pool (the calling thread included).
class scheduler {
 public:
  explicit scheduler(std::size_t threads) {
    if (threads == 0) threads = std::thread::hardware_concurrency();
    if (threads == 0) threads = 1;
    thread_count_ = threads;
    queues_ = std::make_unique<work_queues<work_item>>(threads);
    for (std::size_t i = 1; i < threads; ++i) {
      workers_.emplace_back([this, i] {
        queues_->adopt(i);
        work();
      });
    }
  }
  scheduler(const scheduler&) = delete;
  scheduler& operator=(const scheduler&) = delete;
  ~scheduler() {
    queues_->set_and_wake([&] { stopping_.store(true, std::memory_order_release); });
    for (auto& w : workers_) w.join();
  }

  [[nodiscard]] std::size_t thread_count() const { return thread_count_; }

  /// Runs a graph: fills the root's input slots, runs to the end, hands the finished
  /// root frame's slots to `read` (before they are destroyed), and keeps the run in the
  /// store.
  void run_graph(const graph& g, const run_options& options, const std::function<void(any_value*)>& fill,
                 const std::function<void(any_value*)>& read) {
    run_options effective = options;
    // The process backend passes values through a store: a private one when none is given.
    std::optional<detail::temporary_store> scratch;
    if (effective.backend == execution_backend::process && effective.store == nullptr) {
      scratch.emplace();
      effective.store = &scratch->store();
    }
    if (effective.store != nullptr && effective.execution_id.empty()) effective.execution_id = executor::new_execution_id();
    detail::run_state state;
    state.limits = effective.limits;
    state.options = &effective;
    if (effective.backend == execution_backend::process) {
      state.node_program = effective.node_program.empty() ? "/proc/self/exe" : effective.node_program;
      state.node_argv0 = effective.node_program.empty() ? detail::self_program_name() : effective.node_program;
      state.private_store = scratch.has_value();
    }
    if (effective.resume && (effective.store == nullptr || scratch.has_value())) {
      throw error("resume needs the store the execution was recorded in (run_options::store)");
    }
    detail::frame root(g, state, nullptr, 0);
    fill(root.slots.get());
    if (effective.progress != nullptr) effective.progress->total.fetch_add(static_cast<std::int64_t>(g.nodes.size()));
    if (effective.trace != nullptr) effective.trace->record("", g, nullptr);
    // A stored run is recorded: the execution, then every node's events, in batches.
    std::optional<state_store> own_state;
    std::optional<detail::execution_recorder> recorder;
    state_store* states = nullptr;
    if (effective.store != nullptr && !scratch) {
      states = effective.state;
      if (states == nullptr) states = &own_state.emplace(state_store::default_path(effective.store->root()));
      execution_record e;
      e.id = effective.execution_id;
      e.workflow = g.name;
      e.status = "running";
      e.started_us = now_us();
      e.owner = state_store::this_owner();
      e.heartbeat_us = e.started_us;
      e.backend = effective.backend == execution_backend::process ? "process" : "thread";
      if (effective.resume) {
        states->claim_execution(e);
      } else {
        // The inputs first: an execution on record can always be resumed.
        store_inputs(root, g.name, effective);
        // The root graph, in the futures-file format: what `loom graph` draws from.
        effective.store->put(effective.execution_id + "/workflow.json", write_futures_text(g, g.name), false);
        states->create_execution(e);
      }
      state.recorder = &recorder.emplace(*effective.store, *states, effective.execution_id);
      state.states = states;
      state.recorder->added(static_cast<std::int64_t>(g.nodes.size()));
      state.resume = effective.resume;
    }
    last_execution_id() = effective.execution_id;
    try {
      if (effective.store != nullptr && scratch) store_inputs(root, g.name, effective);
      execute_to_end(root, state);
      if (effective.store != nullptr) {
        json outputs = json::object();
        for (std::size_t o = 0; o < g.outputs.size(); ++o) {
          outputs[detail::positional_name('o', o)] = detail::copy_binding(g, g.outputs[o], root.slots.get()).to_json();
        }
        effective.store->put(effective.execution_id + "/outputs.json", outputs.dump());
      }
      if (recorder) {
        recorder->close();
        states->finish_execution(effective.execution_id, "succeeded", "");
      }
    } catch (const std::exception& e) {
      if (recorder) {
        try {
          recorder->close();
        } catch (const std::exception& also) {
          warn(effective, std::string("recording the execution failed too: ") + also.what());
        }
        states->finish_execution(effective.execution_id, "failed", e.what());
      }
      throw;
    }
    read(root.slots.get());
  }

 private:
  static void warn(const run_options& options, const std::string& message) {
    if (options.warn) {
      options.warn(message);
    } else {
      std::cerr << "loom: warning: " << message << '\n';
    }
  }


  void execute_to_end(detail::frame& root, detail::run_state& state) {
    std::vector<detail::work_item> ready;
    if (!start_frame(root, ready)) complete_frame(root, ready);
    state.active.fetch_add(static_cast<std::int64_t>(ready.size()), std::memory_order_relaxed);
    if (ready.empty()) {
      state.done = true;
    } else {
      push(ready);
    }
    // The calling thread works too, until its run is over.
    work_until([&] { return state.done.load(std::memory_order_acquire); });
    if (state.failure) std::rethrow_exception(state.failure);
  }

  void work() {
    work_until([this] { return stopping_.load(std::memory_order_acquire) && queues_->idle(); });
  }

  /// Runs queued nodes (of any run) until `finished()` holds, waiting when there are
  /// none. A retry waiting out its backoff is run at once when its run has failed
  /// (nothing to wait for: it ends at once).
  template <class Finished>
  void work_until(Finished&& finished) {
    queues_->work_until(
        finished, [this](const work_item& item) { execute(item); },
        [](const work_item& item) { return item.f->run->failed.load(std::memory_order_relaxed); });
  }

  void push(const std::vector<detail::work_item>& items) { queues_->push(items); }

  /// Runs one node, then (without going through the queue) one of the nodes it made
  /// ready, so that a chain runs on one thread with no scheduling cost.
  void execute(detail::work_item item) {
    std::vector<detail::work_item> ready;
    detail::run_state& state = *item.f->run;
    while (true) {
      if (item.map != nullptr) {
        run_map_chunk(item, ready);  // even when the run failed: the last chunk frees the map_run
      } else if (!state.failed.load(std::memory_order_relaxed)) {
        run_node(item, ready);
      }
      if (ready.empty()) break;
      item = ready.back();
      ready.pop_back();
      if (!ready.empty()) {
        state.active.fetch_add(static_cast<std::int64_t>(ready.size()), std::memory_order_relaxed);
        push(ready);
        ready.clear();
      }
    }
    if (state.active.fetch_sub(1, std::memory_order_acq_rel) == 1) {
      queues_->set_and_wake([&] { state.done.store(true, std::memory_order_release); });
    }
  }

  static const node_policy& policy_of(const detail::graph_node& n) {
    static const node_policy plain{};
    return n.info != nullptr && n.info->policy != nullptr ? n.info->policy(n.entity) : plain;
  }

  void run_node(detail::work_item item, std::vector<detail::work_item>& ready) {
    detail::frame& f = *item.f;
    const detail::graph_node& n = f.g->nodes[item.node];
    const node_policy& policy = policy_of(n);
    std::string cache_key;
    if (run_progress* progress = f.run->options->progress; progress != nullptr && item.attempt == 0) {
      progress->running.fetch_add(1, std::memory_order_relaxed);
    }
    if (n.side != detail::branch_side::none && !detail::branch_taken(*f.g, n, f.slots.get())) {
      skip_node(f, item.node, ready);  // in the branch of a wf.when not taken
      return;
    }
    try {
      if (detail::execution_recorder* recorder = f.run->recorder) {
        if (item.attempt == 0 && f.run->resume && reuse_outputs(f, item.node)) {
          complete_node(f, item.node, ready);
          return;
        }
        if (policy.cache && n.kind != detail::node_kind::workflow) {
          cache_key = cache_key_of(f, item.node);
          if (item.attempt == 0 && !f.run->options->overwrite_cache && reuse_cached(f, item.node, cache_key)) {
            complete_node(f, item.node, ready);
            return;
          }
          if (n.kind == detail::node_kind::dynamic) {
            std::lock_guard lock(f.run->mutex);
            f.run->dynamic_cache_keys[f.path_of(item.node)] = cache_key;  // kept when its frame completes
          }
        }
        recorder->started(f.path_of(item.node), n.name, static_cast<int>(n.kind));
      }
      switch (n.kind) {
        case detail::node_kind::task: {
          if (f.run->options->backend == execution_backend::process) {
            run_task_process(f, item.node);  // its process stores the outputs
            if (f.run->recorder != nullptr) {
              f.run->recorder->succeeded(f.path_of(item.node), n.name, static_cast<int>(n.kind), std::nullopt);
            }
          } else {
            if (policy.plain()) {
              detail::node_io io(*f.g, n, f.slots.get());
              n.run(n.entity, io);
            } else {
              run_attempt(f, item.node, policy);  // on copies of the inputs, maybe on a thread of its own
            }
            if (f.run->options->store != nullptr) store_outputs(f, item.node);
          }
          if (!cache_key.empty()) keep_cached(f, item.node, cache_key);
          break;
        }
        case detail::node_kind::branch:
        case detail::node_kind::merge:
          run_when_node(f, item.node);
          if (f.run->options->store != nullptr) store_outputs(f, item.node);
          break;
        case detail::node_kind::map:
          start_map(f, item.node, policy, std::move(cache_key), ready);  // its items retry one by one: the node never does
          return;  // the node completes when its last chunk does
        case detail::node_kind::workflow:
          if (!check_depth(f, item.node)) return;
          start_child(f, item.node, n.subgraph(), nullptr, ready);
          return;  // the node completes when its child frame does
        case detail::node_kind::dynamic: {
          if (!check_depth(f, item.node)) return;
          if (f.run->resume) {  // a futures file written before: run it, not the body again
            if (std::unique_ptr<detail::graph> sub = stored_futures(f, item.node)) {
              const detail::graph& g = *sub;
              start_child(f, item.node, g, std::move(sub), ready);
              return;
            }
          }
          if (f.run->options->backend == execution_backend::process) {
            std::unique_ptr<detail::graph> sub = expand_process(f, item.node);
            const detail::graph& g = *sub;
            start_child(f, item.node, g, std::move(sub), ready);
            return;
          }
          std::unique_ptr<detail::graph> sub;
          if (policy.plain()) {
            detail::node_io io(*f.g, n, f.slots.get());
            sub = n.expand(n.entity, io);
          } else {
            sub = run_attempt(f, item.node, policy);
          }
          const auto limit = f.run->limits.max_dynamic_nodes;
          if (sub->nodes.size() > limit) {
            fail(f, item.node,
                 "dynamic workflow produced " + std::to_string(sub->nodes.size()) +
                     " nodes, over the limit of " + std::to_string(limit) + " nodes per futures file");
            return;
          }
          const run_options& options = *f.run->options;
          if (options.store != nullptr || options.verify_futures) {
            if (auto read_back = through_futures_file(f, item.node, *sub, options.verify_futures)) sub = std::move(read_back);
          }
          const detail::graph& g = *sub;
          start_child(f, item.node, g, std::move(sub), ready);
          return;
        }
      }
    } catch (const std::exception& e) {
      if (!retry_later(item, policy, e.what())) fail(f, item.node, e.what());
      return;
    } catch (...) {
      const std::string message = "unknown exception (not derived from std::exception)";
      if (!retry_later(item, policy, message)) fail(f, item.node, message);
      return;
    }
    complete_node(f, item.node, ready);
  }

  // ---- The two ends of a wf.when (loom/when.hpp). ----

  /// A branch node gives its condition as its decision; a merge node gives the results
  /// of the side its branch node took (the other side's nodes were skipped).
  static void run_when_node(detail::frame& f, std::uint32_t node) {
    const detail::graph& g = *f.g;
    const detail::graph_node& n = g.nodes[node];
    const detail::binding& first = g.input_of(n, 0);
    if (n.kind == detail::node_kind::branch) {
      f.slots[n.first_slot].emplace<bool>(detail::read_binding<bool>(g, first, f.slots.get()));
      return;
    }
    const bool then_taken = f.slots[first.slot].get<bool>();  // read, not taken: the branch's nodes read it too
    const std::uint32_t results = 1 + (then_taken ? 0 : n.output_count);
    for (std::uint32_t o = 0; o < n.output_count; ++o) {
      f.slots[n.first_slot + o] = detail::take_binding(g, g.input_of(n, results + o), f.slots.get());
    }
  }

  void skip_node(detail::frame& f, std::uint32_t node, std::vector<detail::work_item>& ready) {
    if (detail::execution_recorder* recorder = f.run->recorder) {
      const detail::graph_node& n = f.g->nodes[node];
      recorder->skipped(f.path_of(node), n.name, static_cast<int>(n.kind));
    }
    complete_node(f, node, ready);
  }

  // ---- Map nodes (loom/map.hpp): a task over the items of lists, as one node. ----

  /// Starts a map node: takes its inputs, checks that its lists have one length, and
  /// splits the items into chunks: a few per thread, so that a million trivial items
  /// make a handful of scheduler entries, and no more chunks than `concurrency` (a
  /// chunk runs its items one after the other). The first chunk runs here; the others
  /// go to the queue for the other threads.
  void start_map(detail::frame& f, std::uint32_t node, const node_policy& policy, std::string cache_key,
                 std::vector<detail::work_item>& ready) {
    // Its inputs are taken (moved) here: a failure before the chunks start fails the
    // node, and nothing retries it.
    std::unique_ptr<detail::map_run> run;
    std::size_t chunks = 1;
    try {
      run = prepare_map(f, node, policy);
      if (!run) return;  // failed (lists of different lengths)
      run->cache_key = std::move(cache_key);
      const detail::map_spec& spec = f.g->maps[f.g->nodes[node].map];
      chunks = std::max<std::size_t>(1, std::min<std::size_t>(run->length, 4 * thread_count_));
      if (spec.concurrency != 0) chunks = std::min(chunks, spec.concurrency);
      run->chunk_size = run->length == 0 ? 1 : (run->length + chunks - 1) / chunks;
      chunks = run->length == 0 ? 1 : (run->length + run->chunk_size - 1) / run->chunk_size;
      run->chunks_left.store(static_cast<std::uint32_t>(chunks));
    } catch (const std::exception& e) {
      fail(f, node, e.what());
      return;
    } catch (...) {
      fail(f, node, "unknown exception (not derived from std::exception)");
      return;
    }
    detail::map_run* shared = run.release();  // owned by its chunks from here on
    if (chunks > 1) {
      std::vector<detail::work_item> others;
      others.reserve(chunks - 1);
      for (std::size_t c = 1; c < chunks; ++c) others.push_back({&f, node, 0, shared, static_cast<std::uint32_t>(c)});
      f.run->active.fetch_add(static_cast<std::int64_t>(others.size()), std::memory_order_relaxed);
      push(others);
    }
    // The first chunk runs next on this thread, as the node's own work item, but out of
    // run_node's try: whatever completing the node throws must not retry it.
    ready.push_back({&f, node, 0, shared, 0});
  }

  /// A map node's inputs, the length of its lists, its empty output lists; null (and
  /// the node failed) when its lists differ in length.
  static std::unique_ptr<detail::map_run> prepare_map(detail::frame& f, std::uint32_t node, const node_policy& policy) {
    const detail::graph& g = *f.g;
    const detail::graph_node& n = g.nodes[node];
    const detail::map_spec& spec = g.maps[n.map];
    const detail::map_ops& ops = *n.info->map;
    auto run = std::make_unique<detail::map_run>();
    run->retries = policy.retries;
    run->inputs.resize(n.input_count);
    std::uint32_t first_list = n.input_count;
    for (std::uint32_t i = 0; i < n.input_count; ++i) {
      // Moved out of their slots when this node is their only reader: no copy of a
      // million items.
      run->inputs[i] = detail::take_binding(g, g.input_of(n, i), f.slots.get(), graph_is_private(f));
      if (((spec.mapped >> i) & 1U) == 0) continue;
      const std::size_t size = ops.list_size(i, run->inputs[i]);
      if (first_list == n.input_count) {
        first_list = i;
        run->length = size;
      } else if (size != run->length) {
        const auto& names = n.info->interface.inputs;
        fail(f, node, "map over lists of different lengths: " + names[first_list].name + " has " +
                          std::to_string(run->length) + " items, " + names[i].name + " has " + std::to_string(size));
        return nullptr;
      }
    }
    run->outputs.resize(n.output_count);
    ops.make_outputs(run->length, spec.partial, run->outputs.data());
    if (f.run->recorder != nullptr) {
      run->path = f.path_of(node);
      run->phase.reset(new std::atomic<std::uint8_t>[run->length]());
      if (f.run->resume) reuse_items(f, node, *run);
    }
    return run;
  }

  /// Resume: the items a run before kept (`<path>/items/<k>.json`, each {"items":
  /// [indices], "o0": [outputs], ...}) are done; their outputs go into the lists. A
  /// damaged record is reported and not used: its items run again.
  static void reuse_items(detail::frame& f, std::uint32_t node, detail::map_run& run) {
    const run_options& options = *f.run->options;
    const detail::graph_node& n = f.g->nodes[node];
    const detail::map_spec& spec = f.g->maps[n.map];
    const std::string prefix = options.execution_id + "/" + run.path + "/items/";
    std::uint32_t next = 0;
    std::size_t reused = 0;
    for (const std::string& key : options.store->list(options.execution_id + "/" + run.path + "/items")) {
      if (key.compare(0, prefix.size(), prefix) != 0) continue;
      const std::string name = key.substr(prefix.size());
      std::uint32_t number = 0;
      const auto [end, ec] = std::from_chars(name.data(), name.data() + name.size(), number);
      if (ec != std::errc() || std::string_view(end, name.data() + name.size() - end) != ".json") continue;
      next = std::max(next, number + 1);
      try {
        const auto doc = detail::read_json_object(*options.store, key);
        if (!doc || !doc->is_object() || !doc->contains("items") || !(*doc)["items"].is_array()) {
          throw error(key + ": expected {\"items\": [...], \"o0\": [...], ...}");
        }
        const json& items = (*doc)["items"];
        for (std::uint32_t o = 0; o < n.output_count; ++o) {
          const auto it = doc->find(detail::positional_name('o', o));
          if (it == doc->end() || !it->is_array() || it->size() != items.size()) {
            throw error(key + ": \"o" + std::to_string(o) + "\" must be a list as long as \"items\"");
          }
        }
        for (std::size_t j = 0; j < items.size(); ++j) {
          if (!items[j].is_number_unsigned() || items[j].get<std::size_t>() >= run.length) {
            throw error(key + ": item " + items[j].dump() + " is not an index of the " + std::to_string(run.length) +
                        " items");
          }
          const auto k = items[j].get<std::size_t>();
          if (run.phase[k].load(std::memory_order_relaxed) == detail::map_run::reused_item) continue;
          for (std::uint32_t o = 0; o < n.output_count; ++o) {
            n.info->map->put_literal(o, run.outputs[o], k, spec.partial, (*doc)[detail::positional_name('o', o)][j],
                                     n.info->interface.outputs[o].name);
          }
          run.phase[k].store(detail::map_run::reused_item, std::memory_order_relaxed);
          ++reused;
        }
      } catch (const std::exception& e) {
        warn(options, "a kept record of map items, " + key + ", is not used: " + e.what() +
                          "; its items run again (those not read from it before the problem)");
      }
    }
    run.checkpoints.store(next);
    run.succeeded.store(reused);
  }

  /// Keeps the outputs of the items of [from, to) that succeeded since the last record
  /// (one object), and the node's item row.
  static void checkpoint_items(detail::frame& f, const detail::graph_node& n, detail::map_run& run, std::size_t from,
                               std::size_t to) {
    try {
      keep_items(f, n, run, from, to);
    } catch (const std::exception& e) {  // keeping items spares work on resume; the run goes on without it
      warn(*f.run->options, "cannot keep finished items " + std::to_string(from) + ".." + std::to_string(to) +
                                " of map node " + run.path + ": " + e.what());
    }
  }

  static void keep_items(detail::frame& f, const detail::graph_node& n, detail::map_run& run, std::size_t from,
                         std::size_t to) {
    const detail::map_spec& spec = f.g->maps[n.map];
    json items = json::array();
    std::vector<json> outputs(n.output_count, json::array());
    for (std::size_t k = from; k < to; ++k) {
      if (run.phase[k].load(std::memory_order_relaxed) != detail::map_run::succeeded_item) continue;
      items.push_back(k);
      for (std::uint32_t o = 0; o < n.output_count; ++o) {
        outputs[o].push_back(n.info->map->item_literal(o, run.outputs[o], k, spec.partial));
      }
    }
    if (items.empty()) return;
    json doc = json::object();
    doc["items"] = std::move(items);
    for (std::uint32_t o = 0; o < n.output_count; ++o) doc[detail::positional_name('o', o)] = std::move(outputs[o]);
    const std::uint32_t number = run.checkpoints.fetch_add(1);
    f.run->recorder->checkpoint(run.path + "/items/" + std::to_string(number) + ".json",
                                doc.dump(-1, ' ', false, json::error_handler_t::replace));
    // The item row (O(items) to build) at most every 100 ms: the records are what a
    // resume reads; the row is for `loom show`, and is written whole when the map ends.
    const std::int64_t now = now_us();
    std::int64_t last = run.last_row_us.load(std::memory_order_relaxed);
    if (now - last >= 100'000 && run.last_row_us.compare_exchange_strong(last, now)) {
      f.run->recorder->map_items(items_row(run));
    }
  }

  /// The item row of a map node: each item's phase in 2 bits, the items tried more than
  /// once and the errors of the failed ones.
  static std::shared_ptr<const map_items_record> items_row(detail::map_run& run) {
    auto row = std::make_shared<map_items_record>();
    row->path = run.path;
    row->length = static_cast<std::int64_t>(run.length);
    row->succeeded = static_cast<std::int64_t>(run.succeeded.load());
    row->failed = static_cast<std::int64_t>(run.failed.load());
    row->phases.assign((run.length + 3) / 4, '\0');
    for (std::size_t k = 0; k < run.length; ++k) {
      const int p = run.phase[k].load(std::memory_order_relaxed);
      row->set_phase(k, p == detail::map_run::reused_item ? map_items_record::succeeded_item : p);
    }
    json attempts = json::object();
    json errors = json::object();
    {
      std::lock_guard lock(run.mutex);
      for (const auto& [k, count] : run.attempts) attempts[std::to_string(k)] = count;
      for (const auto& [k, message] : run.errors) errors[std::to_string(k)] = message;
    }
    row->attempts = attempts.dump();
    row->errors = errors.dump(-1, ' ', false, json::error_handler_t::replace);  // (messages may not be UTF-8)
    return row;
  }

  /// Whether this frame alone holds its graph (a dynamic node's sub-DAG that no trace
  /// keeps): its literals may then be moved out by their only reader. A static
  /// workflow's graph is shared by every run of it, and keeps its literals.
  static bool graph_is_private(const detail::frame& f) { return f.owned != nullptr && f.owned.use_count() == 1; }

  /// Runs one chunk of a map node's items; the last chunk to finish finishes the node.
  void run_map_chunk(detail::work_item item, std::vector<detail::work_item>& ready) {
    detail::frame& f = *item.f;
    detail::map_run& run = *item.map;
    const detail::graph_node& n = f.g->nodes[item.node];
    const std::size_t begin = std::min(run.length, static_cast<std::size_t>(item.chunk) * run.chunk_size);
    const std::size_t end = std::min(run.length, begin + run.chunk_size);
    if (f.run->options->backend == execution_backend::process) {
      run_map_batch(f, item.node, run, begin, end, item.chunk);
    } else {
      run_map_items(f, n, run, begin, end);
    }
    if (run.chunks_left.fetch_sub(1, std::memory_order_acq_rel) != 1) return;
    std::unique_ptr<detail::map_run> owned(item.map);  // the last chunk: the map_run goes with it
    if (f.run->failed.load(std::memory_order_relaxed)) {
      // The run failed elsewhere: the map stopped starting items. Its rows say so, and
      // which items finished (instead of a node left "running").
      if (detail::execution_recorder* recorder = f.run->recorder) {
        try {
          recorder->map_items(items_row(run));
          recorder->failed(f.path_of(item.node), n.name, static_cast<int>(n.kind),
                           "stopped: the run failed elsewhere", node_phase::aborted);
        } catch (const std::exception&) {  // the run has failed already; this is its record only
        }
      }
      return;
    }
    finish_map(f, item.node, run, ready);
  }

  /// Runs items [begin, end) of a map node on this thread, one after the other, each
  /// with the task's retries; a recorded run keeps their outputs as they finish.
  static void run_map_items(detail::frame& f, const detail::graph_node& n, detail::map_run& run, std::size_t begin,
                            std::size_t end) {
    const detail::map_spec& spec = f.g->maps[n.map];
    const detail::map_ops& ops = *n.info->map;
    const bool recorded = run.phase != nullptr;
    const auto interval = f.run->options->map_checkpoint_interval;
    const auto started = std::chrono::steady_clock::now();
    auto last_kept = started;
    std::size_t kept_to = begin;  // the items before it are in a checkpoint
    for (std::size_t k = begin; k < end; ++k) {
      if (run.stop.load(std::memory_order_relaxed) || f.run->failed.load(std::memory_order_relaxed)) break;
      if (recorded && run.phase[k].load(std::memory_order_relaxed) == detail::map_run::reused_item) continue;
      std::uint32_t attempt = 0;
      std::string error_text;
      for (;; ++attempt) {
        error_text = failure_message(
            [&] { ops.run_item(n.entity, run.inputs.data(), spec.mapped, k, spec.partial, run.outputs.data()); });
        if (error_text.empty() || attempt >= run.retries) break;
      }
      if (error_text.empty()) {
        run.succeeded.fetch_add(1, std::memory_order_relaxed);
        if (recorded) run.phase[k].store(detail::map_run::succeeded_item, std::memory_order_relaxed);
      } else {
        note_map_failure(run, k, error_text, spec.partial);
      }
      if (!recorded) continue;
      if (attempt > 0) {
        std::lock_guard lock(run.mutex);
        run.attempts.emplace_back(k, attempt + 1);
      }
      // (A clock read, about 30 ns here, after every item of a recorded map: items may be
      // slow, and what a crash loses is what finished since the last record.)
      if (std::chrono::steady_clock::now() - last_kept >= interval) {
        checkpoint_items(f, n, run, kept_to, k + 1);
        kept_to = k + 1;
        last_kept = std::chrono::steady_clock::now();
      }
    }
    // A chunk that took a while keeps its last items too (a quick one does not: the node's
    // outputs are kept whole when it ends, and are all a resume needs then).
    if (recorded && kept_to < end && std::chrono::steady_clock::now() - started >= interval) {
      checkpoint_items(f, n, run, kept_to, end);
    }
  }

  /// The process backend: items [begin, end) of a map node as one batch in one node
  /// process (a map of a million items makes a few processes, not a million). The
  /// process gets the batch's slices of the mapped lists; its outputs and failures come
  /// back per item. A process that crashes fails the batch's items.
  static void run_map_batch(detail::frame& f, std::uint32_t node, detail::map_run& run, std::size_t begin,
                            std::size_t end, std::uint32_t chunk) {
    const detail::graph_node& n = f.g->nodes[node];
    const detail::map_spec& spec = f.g->maps[n.map];
    const detail::entity_info& info = *n.info;
    std::vector<std::size_t> items;  // the batch's items: those a run before did not finish
    for (std::size_t k = begin; k < end; ++k) {
      if (!run.phase || run.phase[k].load(std::memory_order_relaxed) != detail::map_run::reused_item) items.push_back(k);
    }
    if (items.empty() || run.stop.load() || f.run->failed.load()) return;
    const auto started = std::chrono::steady_clock::now();
    std::call_once(run.literals_once, [&] {
      for (std::uint32_t i = 0; i < n.input_count; ++i) run.literals.push_back(run.inputs[i].to_json());
    });
    json inputs = json::object();
    for (std::uint32_t i = 0; i < n.input_count; ++i) {
      const json& whole = run.literals[i];
      if ((spec.mapped >> i) & 1U) {  // the batch's slice
        json slice = json::array();
        for (const std::size_t k : items) slice.push_back(whole[k]);
        inputs[info.interface.inputs[i].name] = std::move(slice);
      } else {
        inputs[info.interface.inputs[i].name] = whole;
      }
    }
    const std::string prefix = f.run->options->execution_id + "/" + f.path_of(node) + "/batch-" + std::to_string(chunk);
    detail::node_request request;
    request.inputs_key = prefix + "/inputs.json";
    request.outputs_key = prefix + "/outputs.json";
    request.error_key = prefix + "/error.json";
    request.map_mapped = spec.mapped;
    request.map_partial = spec.partial;
    std::optional<json> result;
    try {
      const detail::process_exit exit = spawn_request(f, node, std::move(request), std::move(inputs));
      result = detail::read_json_object(*f.run->options->store, prefix + "/outputs.json");
      if (!result || !result->is_object() || !result->contains("done") || !(*result)["done"].is_number_unsigned() ||
          !result->contains("failed") || !(*result)["failed"].is_object()) {
        throw error("its process (pid " + std::to_string(exit.pid) + ") wrote no readable batch result (" + prefix +
                    "/outputs.json)");
      }
    } catch (const std::exception& e) {
      for (const std::size_t k : items) note_map_failure(run, k, e.what(), spec.partial);
      return;
    }
    const json& failed = (*result)["failed"];
    const json& attempts = (*result)["attempts"];
    const std::size_t done = std::min(items.size(), (*result)["done"].get<std::size_t>());
    for (std::size_t j = 0; j < done; ++j) {
      const std::size_t k = items[j];
      const std::string at = std::to_string(j);
      if (attempts.is_object() && attempts.contains(at) && run.phase) {
        std::lock_guard lock(run.mutex);
        run.attempts.emplace_back(k, attempts[at].is_number_unsigned() ? attempts[at].get<std::uint32_t>() : 0);
      }
      if (failed.contains(at)) {
        note_map_failure(run, k, failed[at].is_string() ? failed[at].get<std::string>() : failed[at].dump(), spec.partial);
        continue;
      }
      try {
        for (std::uint32_t o = 0; o < n.output_count; ++o) {
          const std::string& name = info.interface.outputs[o].name;
          if (!result->contains(name) || !(*result)[name].is_array() || (*result)[name].size() <= j) {
            throw error(prefix + "/outputs.json: no " + name + " for item " + std::to_string(k));
          }
          info.map->put_literal(o, run.outputs[o], k, spec.partial, (*result)[name][j], name);
        }
      } catch (const std::exception& e) {
        note_map_failure(run, k, e.what(), spec.partial);
        continue;
      }
      run.succeeded.fetch_add(1, std::memory_order_relaxed);
      if (run.phase) run.phase[k].store(detail::map_run::succeeded_item, std::memory_order_relaxed);
    }
    // A batch that took a while is kept, as a thread's chunk is: a resume runs it again
    // only for the items that did not finish.
    if (run.phase && std::chrono::steady_clock::now() - started >= f.run->options->map_checkpoint_interval) {
      checkpoint_items(f, n, run, begin, end);
    }
  }

  static void note_map_failure(detail::map_run& run, std::size_t k, const std::string& message, bool partial) {
    run.failed.fetch_add(1, std::memory_order_relaxed);
    if (!partial) run.stop.store(true, std::memory_order_relaxed);  // a whole map has failed
    if (run.phase) run.phase[k].store(detail::map_run::failed_item, std::memory_order_relaxed);
    std::lock_guard lock(run.mutex);
    if (run.phase && run.errors.size() < map_items_errors_kept) run.errors.emplace_back(k, message);
    if (run.first_error.empty() || k < run.first_failed) {
      run.first_failed = k;
      run.first_error = message;
    }
  }

  /// Every chunk is done: the node fails when fewer items succeeded than it requires;
  /// otherwise its output lists go to its slots.
  void finish_map(detail::frame& f, std::uint32_t node, detail::map_run& run, std::vector<detail::work_item>& ready) {
    const detail::graph_node& n = f.g->nodes[node];
    const detail::map_spec& spec = f.g->maps[n.map];
    const std::size_t succeeded = run.succeeded.load();
    const std::size_t failed = run.failed.load();
    const std::size_t required = spec.required(run.length);
    if (run.phase) {
      try {
        f.run->recorder->map_items(items_row(run));
      } catch (const std::exception& e) {
        fail(f, node, e.what());
        return;
      }
    }
    if (!spec.partial && failed != 0) {
      fail(f, node, "map item " + std::to_string(run.first_failed) + " of " + std::to_string(run.length) +
                        " failed: " + run.first_error);
      return;
    }
    if (succeeded < required) {
      fail(f, node, "map: " + std::to_string(succeeded) + " of " + std::to_string(run.length) +
                        " items succeeded, fewer than the " + std::to_string(required) + " required " +
                        (failed == 0 ? std::string("(min_successes is more than the items)")
                                     : "(" + std::to_string(failed) + " failed; the first, item " +
                                           std::to_string(run.first_failed) + ": " + run.first_error + ")"));
      return;
    }
    try {
      for (std::uint32_t o = 0; o < n.output_count; ++o) {
        f.slots[n.first_slot + o] = n.info->map->finish_output(o, run.outputs[o], spec.partial);
      }
      if (f.run->options->store != nullptr) store_outputs(f, node);
      // (A partial map with failed items is not cached: a later run tries them again.)
      if (!run.cache_key.empty() && failed == 0) keep_cached(f, node, run.cache_key);
    } catch (const std::exception& e) {
      fail(f, node, e.what());
      return;
    }
    complete_node(f, node, ready);
  }

  // ---- Retries, timeouts, caching (loom/policy.hpp). ----

  /// One attempt at a task node (or a dynamic node's body) on copies of its inputs, so
  /// that a retry has them again. With a timeout it runs on a thread of its own, which
  /// the run does not wait for past the timeout: the attempt fails, and whatever the
  /// thread does afterwards goes nowhere (it owns everything it touches).
  std::unique_ptr<detail::graph> run_attempt(detail::frame& f, std::uint32_t node, const node_policy& policy) {
    const detail::graph_node& n = f.g->nodes[node];
    struct attempt {
      detail::graph g;
      std::unique_ptr<detail::any_value[]> slots;
      std::unique_ptr<detail::graph> sub;
      std::mutex mutex;
      std::condition_variable finished_cv;
      bool finished = false;
      std::exception_ptr error;
      void run() {
        try {
          const detail::graph_node& only = g.nodes[0];
          detail::node_io io(g, only, slots.get());
          if (only.kind == detail::node_kind::dynamic) {
            sub = only.expand(only.entity, io);
          } else {
            only.run(only.entity, io);
          }
        } catch (...) {
          error = std::current_exception();
        }
        std::lock_guard lock(mutex);
        finished = true;
        finished_cv.notify_all();
      }
    };
    auto a = std::make_shared<attempt>();
    a->g = detail::single_node_graph(*n.info);
    a->g.nodes[0].entity = n.entity;
    a->slots.reset(new detail::any_value[a->g.slot_count]);
    for (std::uint32_t i = 0; i < n.input_count; ++i) {
      a->slots[i] = detail::copy_binding(*f.g, f.g->input_of(n, i), f.slots.get());
    }
    if (policy.timeout.count() == 0) {
      a->run();
    } else {
      std::thread([a] { a->run(); }).detach();
      std::unique_lock lock(a->mutex);
      if (!a->finished_cv.wait_for(lock, policy.timeout, [&] { return a->finished; })) {
        throw error("timed out after " + std::to_string(policy.timeout.count()) +
                    " ms (the attempt's thread is left to finish; its result is dropped)");
      }
    }
    if (a->error) std::rethrow_exception(a->error);
    for (std::uint32_t o = 0; o < n.output_count; ++o) {
      f.slots[n.first_slot + o] = std::move(a->slots[a->g.nodes[0].first_slot + o]);
    }
    return std::move(a->sub);
  }

  /// After a failed attempt: schedules the next one after its backoff (true), or says
  /// there is none left (false: the node fails).
  bool retry_later(detail::work_item item, const node_policy& policy, const std::string& message) {
    if (item.attempt >= policy.retries) return false;
    detail::frame& f = *item.f;
    detail::run_state& state = *f.run;
    if (state.failed.load(std::memory_order_relaxed)) return false;
    const detail::graph_node& n = f.g->nodes[item.node];
    if (detail::execution_recorder* recorder = state.recorder) {
      recorder->failed(f.path_of(item.node), n.name, static_cast<int>(n.kind),
                       "attempt " + std::to_string(item.attempt + 1) + " of " + std::to_string(policy.retries + 1) +
                           " failed: " + message);
    }
    state.active.fetch_add(1, std::memory_order_relaxed);  // the retry is work still to do
    detail::work_item next = item;
    next.attempt = item.attempt + 1;
    queues_->push_at(std::chrono::steady_clock::now() + policy.backoff.delay(next.attempt), next);
    return true;
  }

  /// The cache key of a node: its entity's name and version, and its inputs by name.
  static std::string cache_key_of(const detail::frame& f, std::uint32_t node) {
    const detail::graph_node& n = f.g->nodes[node];
    json inputs = json::object();
    for (std::uint32_t k = 0; k < n.input_count; ++k) {
      inputs[n.info->interface.inputs[k].name] = binding_json(*f.g, f.g->input_of(n, k), f.slots.get());
    }
    std::string map;  // a map node: which inputs it maps, and what it tolerates
    if (n.kind == detail::node_kind::map) {
      const detail::map_spec& spec = f.g->maps[n.map];
      map = "\nmap " + std::to_string(spec.mapped) + " " + (spec.partial ? "partial " : "whole ") +
            std::to_string(spec.min_success_ratio) + " " + std::to_string(spec.min_successes);
    }
    return detail::sha256_hex(n.info->name + "\n" + n.info->version + "\n" + inputs.dump() + map);
  }

  /// A cache hit: the outputs stored for this key, read into the node's slots. A
  /// damaged entry is reported and not used (the node runs).
  static bool reuse_cached(detail::frame& f, std::uint32_t node, const std::string& key) {
    detail::run_state& state = *f.run;
    const detail::graph_node& n = f.g->nodes[node];
    const auto entry = state.states->cached(key);
    if (!entry) return false;
    try {
      if (!read_outputs(f, node, entry->outputs)) return false;
    } catch (const std::exception& e) {
      warn(*state.options, std::string("cache entry of '") + n.info->name + "' not used: " + e.what());
      return false;
    }
    state.recorder->cached(f.path_of(node), n.name, static_cast<int>(n.kind), entry->outputs);
    return true;
  }

  /// Keeps a node's outputs in the cache (an object of its own, then the index row).
  static void keep_cached(const detail::frame& f, std::uint32_t node, const std::string& key) {
    detail::run_state& state = *f.run;
    const detail::graph_node& n = f.g->nodes[node];
    const std::string object = "cache/" + key + ".json";
    state.options->store->put(object, outputs_json(f, node).dump());
    state.states->put_cache({key, n.info->name, n.info->version, object, now_us()});
  }

  /// Writes the sub-DAG as a futures file (into the store, when the run has one); with
  /// `read_back` (verify_futures), reads it back and validates it, and returns what the
  /// file says, to run instead. A stored run without it runs the sub-DAG its body built
  /// (the file is what a resume, or another process, reads and validates).
  static std::unique_ptr<detail::graph> through_futures_file(detail::frame& f, std::uint32_t node,
                                                             const detail::graph& sub, bool read_back) {
    const run_options& options = *f.run->options;
    const std::string prefix = options.execution_id.empty() ? f.path_of(node)
                                                            : options.execution_id + "/" + f.path_of(node);
    futures_write_options write;
    write.store = options.store;
    write.store_prefix = prefix;
    write.inline_literal_bytes = options.inline_literal_bytes;
    const std::string text = write_futures_text(sub, f.g->nodes[node].name, write);
    const std::string key = prefix + "/futures.json";
    if (options.store != nullptr) options.store->put(key, text);
    if (!read_back) return nullptr;
    futures_read_options read;
    read.max_nodes = f.run->limits.max_dynamic_nodes;
    read.store = options.store;
    read.stored_prefix = prefix;
    return read_futures_file(text, key, read, f.g->nodes[node].info);
  }

  // ---- The process backend: one process per task node and per dynamic body. ----

  static detail::node_keys keys_of(const detail::frame& f, std::uint32_t node) {
    return {f.run->options->execution_id + "/" + f.path_of(node)};
  }

  /// The value a binding refers to, as a literal (no copy of slot values).
  static json binding_json(const detail::graph& g, const detail::binding& b, detail::any_value* slots) {
    switch (b.from) {
      case detail::source_kind::literal: return g.literals[b.index].to_json();
      case detail::source_kind::collection: return detail::copy_binding(g, b, slots).to_json();
      default: return slots[b.slot].to_json();
    }
  }

  /// Writes the node's inputs, runs its process, and fails with what went wrong: the
  /// task's own message (its error object), or how the process ended and its last
  /// lines of output. `result_key` is what it must write (outputs or futures file).
  static detail::process_exit spawn_node(detail::frame& f, std::uint32_t node, const std::string& result_key) {
    const detail::graph_node& n = f.g->nodes[node];
    json inputs = json::object();
    for (std::uint32_t k = 0; k < n.input_count; ++k) {
      inputs[n.info->interface.inputs[k].name] = binding_json(*f.g, f.g->input_of(n, k), f.slots.get());
    }
    detail::node_request request;
    const detail::node_keys keys = keys_of(f, node);
    request.inputs_key = keys.inputs();
    request.outputs_key = result_key;
    request.error_key = keys.error();
    return spawn_request(f, node, std::move(request), std::move(inputs));
  }

  /// Runs `request` (its keys set) in a node process of node `node`, with these inputs;
  /// throws what the task threw or what became of the process.
  static detail::process_exit spawn_request(detail::frame& f, std::uint32_t node, detail::node_request request,
                                            json inputs) {
    // A batch of map items times out item by item, in its process; a node as a whole.
    const std::chrono::milliseconds timeout =
        request.map_mapped ? std::chrono::milliseconds(0) : policy_of(f.g->nodes[node]).timeout;
    const run_options& options = *f.run->options;
    const object_store& store = *options.store;
    const detail::graph_node& n = f.g->nodes[node];
    const detail::entity_info& info = *n.info;
    const std::string& result_key = request.outputs_key;
    if (!f.run->private_store) {  // a kept store may hold an earlier run's objects under this id
      store.remove(result_key);
      store.remove(request.error_key);
    }
    // Read right away by the node process: no need to wait for the disk.
    store.put(request.inputs_key, json{{"entity", info.name}, {"inputs", std::move(inputs)}}.dump(), false);
    request.entity = info.name;
    request.store_root = store.root().string();
    request.node_path = f.path_of(node);
    request.max_dynamic_nodes = f.run->limits.max_dynamic_nodes;
    request.inline_literal_bytes = options.inline_literal_bytes;
    request.sync = !f.run->private_store;
    const detail::process_exit exit = detail::spawn_and_wait(f.run->node_program, request.arguments(f.run->node_argv0),
                                                             true, timeout);
    const std::string who = "its process (pid " + std::to_string(exit.pid) + ")";
    if (!exit.exited_zero()) {
      // A task that threw: its process stored the message, as the thread backend reports it.
      if (exit.known && WIFEXITED(exit.status)) {
        std::optional<json> stored;
        try {
          stored = detail::read_json_object(store, request.error_key);
        } catch (const std::exception&) {
        }
        if (stored && stored->is_object() && stored->contains("message") && (*stored)["message"].is_string()) {
          throw error((*stored)["message"].get<std::string>());
        }
      }
      const std::string lines = exit.last_lines();
      throw error(who + " " + exit.describe() + (lines.empty() ? "; it printed nothing" : "; the end of its output:" + lines));
    }
    if (!store.contains(result_key)) {
      const std::string lines = exit.last_lines();
      throw error(who + " exited with status 0 but wrote no " +
                  (n.kind == detail::node_kind::dynamic ? "futures file" : "outputs") + " (" + result_key +
                  " is missing; does the program's main() hand 'exec-node' to loom::main or "
                  "loom::run_node_process?)" +
                  (lines.empty() ? std::string() : "; the end of its output:" + lines));
    }
    return exit;
  }

  /// A task node in a process of its own: its outputs come back through the store.
  static void run_task_process(detail::frame& f, std::uint32_t node) {
    const std::string key = keys_of(f, node).outputs();
    const detail::process_exit exit = spawn_node(f, node, key);
    try {
      if (!read_outputs(f, node, key)) throw error(key + " disappeared");
    } catch (const std::exception& e) {
      throw error("its process (pid " + std::to_string(exit.pid) +
                  ") exited with status 0 but wrote unreadable outputs: " + e.what());
    }
  }


  /// A dynamic node's body in a process of its own: it writes the futures file, read
  /// and validated here as any futures file is.
  static std::unique_ptr<detail::graph> expand_process(detail::frame& f, std::uint32_t node) {
    const detail::node_keys keys = keys_of(f, node);
    const std::string key = keys.futures();
    spawn_node(f, node, key);
    const run_options& options = *f.run->options;
    const auto text = options.store->get(key);
    if (!text) throw error("its futures file " + key + " disappeared");
    futures_read_options read;
    read.max_nodes = f.run->limits.max_dynamic_nodes;
    read.store = options.store;
    read.stored_prefix = keys.prefix;
    return read_futures_file(*text, key, read, f.g->nodes[node].info);
  }

  static json outputs_json(const detail::frame& f, std::uint32_t node) {
    const detail::graph_node& n = f.g->nodes[node];
    json out = json::object();
    for (std::uint32_t o = 0; o < n.output_count; ++o) {
      out[n.info != nullptr ? n.info->interface.outputs[o].name : detail::positional_name('o', o)] =
          f.slots[n.first_slot + o].to_json();
    }
    return out;
  }

  /// outputs_json(f, node).dump(), without the object in between for the usual single
  /// output (this runs for every recorded node).
  static std::string outputs_text(const detail::frame& f, std::uint32_t node) {
    const detail::graph_node& n = f.g->nodes[node];
    if (n.output_count != 1) return outputs_json(f, node).dump();
    std::string out = "{";
    out += json(n.info != nullptr ? n.info->interface.outputs[0].name : std::string("o0")).dump();
    out += ':';
    out += f.slots[n.first_slot].to_json().dump();
    out += '}';
    return out;
  }

  /// Keeps a node's outputs: in the execution's pack through the recorder (with the
  /// node's row), or as a file of their own in a store that is not recorded.
  static void store_outputs(const detail::frame& f, std::uint32_t node) {
    const run_options& options = *f.run->options;
    const detail::graph_node& n = f.g->nodes[node];
    if (detail::execution_recorder* recorder = f.run->recorder) {
      recorder->succeeded(f.path_of(node), n.name, static_cast<int>(n.kind), outputs_text(f, node));
      return;
    }
    options.store->put(options.execution_id + "/" + f.path_of(node) + "/outputs.json", outputs_text(f, node));
  }

  /// Resume: a node whose outputs are stored is done; they are read back into its
  /// slots. A damaged or unreadable copy is reported and not used (the node runs again).
  static bool reuse_outputs(detail::frame& f, std::uint32_t node) {
    const run_options& options = *f.run->options;
    const detail::graph_node& n = f.g->nodes[node];
    const std::string path = f.path_of(node);
    try {
      if (!read_outputs(f, node, options.execution_id + "/" + path + "/outputs.json")) return false;
    } catch (const std::exception& e) {
      warn(options, std::string(e.what()) + "; node " + path + " runs again");
      return false;
    }
    f.run->recorder->succeeded(path, n.name, static_cast<int>(n.kind), std::nullopt);
    return true;
  }

  /// Reads stored outputs (`{"o0": ...}`) into a node's slots; false if there are none.
  /// Throws, naming the key, when they are damaged or not of the node's types.
  static bool read_outputs(detail::frame& f, std::uint32_t node, const std::string& key) {
    const detail::graph_node& n = f.g->nodes[node];
    const auto outputs = detail::read_json_object(*f.run->options->store, key);
    if (!outputs) return false;
    if (!outputs->is_object()) throw error(key + ": expected a JSON object of outputs");
    const detail::map_spec* map = n.kind == detail::node_kind::map ? &f.g->maps[n.map] : nullptr;
    for (std::uint32_t o = 0; o < n.output_count; ++o) {
      const port& p = n.info->interface.outputs[o];
      const auto it = outputs->find(p.name);
      if (it == outputs->end()) throw error(key + ": no output '" + p.name + "'");
      try {
        f.slots[n.first_slot + o] = n.info->output_codec(o, map).decode(*it, p.name);
      } catch (const literal_error& e) {
        throw error(key + ": " + e.what());
      }
    }
    return true;
  }

  /// Resume: the futures file a dynamic node wrote before, read and validated as any
  /// futures file is; null when there is none (or it is damaged: reported, not used).
  static std::unique_ptr<detail::graph> stored_futures(detail::frame& f, std::uint32_t node) {
    const run_options& options = *f.run->options;
    const detail::node_keys keys = keys_of(f, node);
    std::optional<std::string> text;
    try {
      text = options.store->get(keys.futures());
    } catch (const std::exception& e) {
      warn(options, std::string(e.what()) + "; the body of node " + f.path_of(node) + " runs again");
      return nullptr;
    }
    if (!text) return nullptr;
    futures_read_options read;
    read.max_nodes = f.run->limits.max_dynamic_nodes;
    read.store = options.store;
    read.stored_prefix = keys.prefix;
    return read_futures_file(*text, keys.futures(), read, f.g->nodes[node].info);
  }

  template <class Name>
  static void store_inputs(const detail::frame& root, const Name& name, const run_options& options) {
    json inputs = json::object();
    for (std::uint32_t i = 0; i < root.g->input_count; ++i) inputs[detail::positional_name('i', i)] = root.slots[i].to_json();
    options.store->put(options.execution_id + "/inputs.json",
                       json{{"entity", std::string(name)}, {"inputs", std::move(inputs)}}.dump());
  }

  /// A workflow or dynamic node opens a frame one level deeper than its own.
  static bool check_depth(detail::frame& f, std::uint32_t node) {
    const auto limit = f.run->limits.max_depth;
    if (f.depth + 1 > limit) {
      fail(f, node,
           "nesting depth limit exceeded: this node would run at depth " + std::to_string(f.depth + 1) +
               " (limit " + std::to_string(limit) + ")");
      return false;
    }
    return true;
  }

  void start_child(detail::frame& parent, std::uint32_t node, const detail::graph& g,
                   std::shared_ptr<const detail::graph> owned, std::vector<detail::work_item>& ready) {
    auto* child = new detail::frame(g, *parent.run, &parent, node);
    if (run_progress* progress = parent.run->options->progress) {
      progress->total.fetch_add(static_cast<std::int64_t>(g.nodes.size()), std::memory_order_relaxed);
    }
    if (run_trace* trace = parent.run->options->trace) trace->record(parent.path_of(node), g, owned);
    if (detail::execution_recorder* recorder = parent.run->recorder) {
      recorder->added(static_cast<std::int64_t>(g.nodes.size()));
      if (!owned) store_spec(*parent.run, g);  // a static workflow's graph: once per execution
    }
    child->owned = std::move(owned);
    {
      std::lock_guard lock(parent.run->mutex);
      parent.run->children.insert(child);
    }
    const detail::graph_node& n = parent.g->nodes[node];
    for (std::uint32_t i = 0; i < g.input_count; ++i) {
      child->slots[i] = detail::copy_binding(*parent.g, parent.g->input_of(n, i), parent.slots.get());
    }
    if (!start_frame(*child, ready)) complete_frame(*child, ready);
  }

  /// A recorded run keeps the graph of every static workflow it enters, once, as
  /// `<execution>/specs/<workflow>.json` (futures-file format), for `loom graph`.
  static void store_spec(detail::run_state& state, const detail::graph& g) {
    {
      std::lock_guard lock(state.mutex);
      if (!state.stored_specs.insert(g.name).second) return;
    }
    const run_options& options = *state.options;
    try {
      options.store->put(options.execution_id + "/specs/" + g.name + ".json", write_futures_text(g, g.name), false);
    } catch (const std::exception& e) {
      warn(options, std::string("cannot keep the graph of workflow ") + g.name + ": " + e.what());
    }
  }

  /// Queues the frame's nodes that have no producers; false if the frame has no nodes.
  static bool start_frame(detail::frame& f, std::vector<detail::work_item>& ready) {
    for (std::uint32_t i = 0; i < f.g->nodes.size(); ++i) {
      if (f.g->nodes[i].predecessor_count == 0) ready.push_back({&f, i});
    }
    return !f.g->nodes.empty();
  }

  void complete_node(detail::frame& f, std::uint32_t node, std::vector<detail::work_item>& ready) {
    const detail::graph_node& n = f.g->nodes[node];
    if (run_progress* progress = f.run->options->progress) {
      progress->running.fetch_sub(1, std::memory_order_relaxed);
      progress->done.fetch_add(1, std::memory_order_relaxed);
    }
    for (std::uint32_t k = 0; k < n.successor_count; ++k) {
      const std::uint32_t s = f.g->successors[n.first_successor + k];
      if (f.pending[s].fetch_sub(1, std::memory_order_acq_rel) == 1) ready.push_back({&f, s});
    }
    if (f.nodes_left.fetch_sub(1, std::memory_order_acq_rel) == 1) complete_frame(f, ready);
  }

  /// All nodes of the frame are done: hand its outputs to the parent node.
  void complete_frame(detail::frame& f, std::vector<detail::work_item>& ready) {
    if (f.parent == nullptr) return;  // the root: the caller reads the outputs
    detail::frame& parent = *f.parent;
    const std::uint32_t node = f.parent_node;
    const detail::graph_node& n = parent.g->nodes[node];
    for (std::size_t o = 0; o < f.g->outputs.size(); ++o) {
      // The frame is done with its slots: outputs read once are moved, not copied.
      parent.slots[n.first_slot + o] = detail::take_binding(*f.g, f.g->outputs[o], f.slots.get(), graph_is_private(f));
    }
    if (f.run->options->store != nullptr) store_outputs(parent, node);
    std::string cache_key;
    {
      std::lock_guard lock(f.run->mutex);
      f.run->children.erase(&f);
      if (!f.run->dynamic_cache_keys.empty()) {
        if (const auto it = f.run->dynamic_cache_keys.find(parent.path_of(node)); it != f.run->dynamic_cache_keys.end()) {
          cache_key = std::move(it->second);
          f.run->dynamic_cache_keys.erase(it);
        }
      }
    }
    if (!cache_key.empty()) {
      try {
        keep_cached(parent, node, cache_key);
      } catch (const std::exception& e) {
        warn(*f.run->options, std::string("cannot keep the outputs of node ") + parent.path_of(node) + " in the cache: " + e.what());
      }
    }
    delete &f;
    complete_node(parent, node, ready);
  }

  static void fail(detail::frame& f, std::uint32_t node, const std::string& message) {
    detail::run_state& state = *f.run;
    if (run_progress* progress = state.options->progress) {
      progress->running.fetch_sub(1, std::memory_order_relaxed);
      progress->failed.fetch_add(1, std::memory_order_relaxed);
    }
    if (run_trace* trace = state.options->trace) trace->record_failure(f.path_of(node));
    if (detail::execution_recorder* recorder = state.recorder) {
      const detail::graph_node& n = f.g->nodes[node];
      const std::string path = f.path_of(node);
      recorder->failed(path, n.name, static_cast<int>(n.kind), message);
      // The workflow and dynamic nodes around it end with it: none of them completes.
      for (const detail::frame* inner = &f; inner->parent != nullptr; inner = inner->parent) {
        const detail::frame& outer = *inner->parent;
        const detail::graph_node& around = outer.g->nodes[inner->parent_node];
        recorder->failed(outer.path_of(inner->parent_node), around.name, static_cast<int>(around.kind),
                         "node " + path + " inside it failed");
      }
    }
    std::lock_guard lock(state.mutex);
    if (!state.failed.exchange(true)) {
      state.failure = std::make_exception_ptr(task_failed(f.path_of(node), std::string(f.g->nodes[node].name), message));
    }
  }

  std::size_t thread_count_ = 1;
  std::vector<std::thread> workers_;
  std::unique_ptr<work_queues<work_item>> queues_;  // the ready nodes: a deque per thread
  std::atomic<bool> stopping_{false};
};

}  // namespace loom::detail
