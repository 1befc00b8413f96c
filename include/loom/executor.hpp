// loom/executor.hpp — runs graphs with maximum parallelism on a thread pool: a node
// starts as soon as its inputs exist. Nested workflows run as child frames in the same
// pool. A failing node fails the run: nodes already running finish, nothing new
// starts, and the caller gets loom::task_failed naming the node path and the task.
// With run_options::backend = execution_backend::process, each task node (and each
// dynamic node's body) runs in a process of its own instead (loom/process_backend.hpp);
// the pool's threads then start and wait for those processes.
//
// This header is the executor's typed front (the run() templates); its core, the
// scheduler, is compiled once into loom::runtime (src/scheduler.hpp, src/executor.cpp).
#pragma once

#include <loom/backend.hpp>
#include <loom/detail/config.hpp>
#include <loom/detail/graph.hpp>
#include <loom/detail/registry.hpp>
#include <loom/dynamic.hpp>
#include <loom/error.hpp>
#include <loom/slurm.hpp>
#include <loom/task.hpp>
#include <loom/workflow.hpp>

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace loom {

class object_store;
class state_store;

/// Limits of one run, each enforced with an error that names the node path.
struct run_limits {
  /// Nesting depth of workflow and dynamic nodes inside one another (recursion).
  std::size_t max_depth = 100;
  /// Nodes in the sub-DAG of one dynamic node (one futures file).
  std::size_t max_dynamic_nodes = 1'000'000;
};

/// The DAG a run executed: the root graph and the graph of every nested workflow and
/// dynamic node that started, by node path ("" for the root), and the failed nodes.
class run_trace {
 public:
  struct frame_record {
    std::string path;
    std::shared_ptr<const detail::graph> graph;
  };

  void record(std::string path, const detail::graph& g, std::shared_ptr<const detail::graph> owned) {
    std::lock_guard lock(mutex_);
    if (path.empty()) {
      owned = std::make_shared<detail::graph>(g);  // the root graph may be a temporary of the run
    } else if (!owned) {
      owned = std::shared_ptr<const detail::graph>(std::shared_ptr<const detail::graph>(), &g);  // static: lives on
    }
    frames_.push_back({std::move(path), std::move(owned)});
  }
  void record_failure(std::string path) {
    std::lock_guard lock(mutex_);
    failed_.push_back(std::move(path));
  }
  [[nodiscard]] std::vector<frame_record> frames() const {
    std::lock_guard lock(mutex_);
    return frames_;
  }
  [[nodiscard]] std::vector<std::string> failed() const {
    std::lock_guard lock(mutex_);
    return failed_;
  }

 private:
  mutable std::mutex mutex_;
  std::vector<frame_record> frames_;
  std::vector<std::string> failed_;
};

/// Live counters of a run, for a progress display (run_options::progress): nodes
/// known so far (dynamic nodes add theirs when they expand), running, done, failed.
struct run_progress {
  std::atomic<std::int64_t> total{0};
  std::atomic<std::int64_t> running{0};
  std::atomic<std::int64_t> done{0};
  std::atomic<std::int64_t> failed{0};
};

/// How one run is done: its limits, and whether it is kept in an object store.
struct run_options {
  run_limits limits{};
  /// Keep the run in this object store: the root's inputs, every node's outputs, and
  /// the futures file of every dynamic node, under `<execution_id>/<node path>/`.
  const object_store* store = nullptr;
  /// The store's key prefix for this run; generated (and readable with
  /// last_execution_id()) when empty.
  std::string execution_id;
  /// Send every dynamic node's sub-DAG through its futures file (written as JSON,
  /// read back and validated) before it runs, as another process would. A stored run
  /// always writes the file (resume reads and validates it) but, without this, runs the
  /// sub-DAG the body built. The process backend always reads the file.
  bool verify_futures = false;
  /// Literals longer than this (as JSON) go to the store by reference.
  std::size_t inline_literal_bytes = 64 * 1024;
  /// Records the executed DAG: every frame's graph, dynamic sub-DAGs included.
  run_trace* trace = nullptr;
  /// Where nodes run: on the executor's threads (default), or each task node and each
  /// dynamic node's body in a fresh process (`--backend process`; at most as many at a
  /// time as the executor has threads). Values go by reference through the object
  /// store: `store` if given, else a private temporary one, removed after the run.
  execution_backend backend = execution_backend::thread;
  /// How the process backend starts node processes: forked by a fork server (default),
  /// or spawned one by one.
  process_options process;
  /// The Slurm backend's defaults and commands (loom/slurm.hpp).
  slurm_options slurm;
  /// The program a node process runs as `PROGRAM exec-node NAME ...`; empty for this
  /// program (/proc/self/exe). It must know (register) the same entities.
  std::string node_program;
  /// Where a stored run is recorded (the execution, every node's phase, attempts,
  /// times, errors): this state store, or when null the store's own database
  /// (`<store root>/loom.db`). A run without a store is not recorded.
  state_store* state = nullptr;
  /// Continue the recorded execution `execution_id` instead of starting a new one:
  /// nodes whose outputs are stored are not run again (their outputs are read back),
  /// a dynamic node whose futures file is stored runs that file instead of its body,
  /// and everything else runs. Needs a store; the inputs must be the execution's.
  bool resume = false;
  /// Run every cached node (loom/policy.hpp) even when the cache has its outputs, and
  /// replace the cache entries with the new outputs (`--overwrite-cache`).
  bool overwrite_cache = false;
  /// A recorded run keeps the outputs of a map node's items as they finish, at most this
  /// often per chunk of items (and the node's item row in the state store with them), so
  /// that a resumed map runs only the items not done. 0: after every item (tests).
  std::chrono::milliseconds map_checkpoint_interval{1000};
  /// A recorded run records the nodes of a dynamic sub-DAG of at least this many nodes
  /// compactly: one row for the sub-DAG (each node's task and phase, a byte per node)
  /// instead of a row per node, and rows only for its nodes that fail, are retried,
  /// are cached or run longer than a second; their outputs are kept as every node's
  /// (what resume reads is the same). Smaller sub-DAGs keep a row per node, with
  /// start and end times. 0: every sub-DAG compactly (tests).
  std::size_t compact_subdag_nodes = 1000;
  /// Counters this run keeps up to date (the command line's progress line).
  run_progress* progress = nullptr;
  /// Where warnings go (a damaged stored object that resume does not use); null:
  /// standard error.
  std::function<void(const std::string&)> warn;
};

struct executor_options {
  /// Threads that run nodes, the calling thread included; 0 = the hardware concurrency.
  std::size_t threads = 0;
  /// The limits of runs that do not give their own.
  run_limits limits{};
};


namespace detail {
class scheduler;
}  // namespace detail

class executor {
 public:
  explicit executor(executor_options options = {});
  executor(const executor&) = delete;
  executor& operator=(const executor&) = delete;
  ~executor();

  [[nodiscard]] std::size_t thread_count() const;

  /// Runs an entity (a workflow, a dynamic workflow, a task) with native arguments
  /// and returns its native result. Throws loom::task_failed when a node fails.
  template <class E, class... Args>
    requires is_entity_v<E>
  typename E::result_type run(const E& e, Args&&... args) {
    return run(options_.limits, e, std::forward<Args>(args)...);
  }

  /// The same, with the limits of this run.
  template <class E, class... Args>
    requires is_entity_v<E>
  typename E::result_type run(const run_limits& limits, const E& e, Args&&... args) {
    run_options options;
    options.limits = limits;
    return run(options, e, std::forward<Args>(args)...);
  }

  /// The same, with the options of this run (limits, object store, futures checks).
  template <class E, class... Args>
    requires is_entity_v<E>
  typename E::result_type run(const run_options& options, const E& e, Args&&... args) {
    if constexpr (!detail::check_call<E, true, Args...>()) {
      throw error("unreachable: ill-formed call");
    } else {
      detail::graph single;
      const detail::graph* g = nullptr;
      if constexpr (std::is_same_v<typename E::kind, workflow_kind>) {
        g = &detail::graph_of<E>();
      } else {
        single = single_node_graph(e);
        g = &single;
      }
      auto inputs = detail::complete_arguments(e, std::make_index_sequence<E::arity>{}, std::forward<Args>(args)...);
      std::optional<typename E::result_type> result;
      run_graph(
          *g, options,
          [&](detail::any_value* slots) {
            [&]<std::size_t... I>(std::index_sequence<I...>) {
              (slots[I].template emplace<detail::type_at_t<I, typename E::inputs>>(std::move(std::get<I>(inputs))), ...);
            }(std::make_index_sequence<E::arity>{});
          },
          [&](detail::any_value* slots) { result.emplace(take_result<E>(*g, slots)); });
      return std::move(*result);
    }
  }

  /// Runs a registered entity by name with type-erased inputs (one per input, in
  /// order, already of the input's type); returns its outputs. The command line's way.
  std::vector<detail::any_value> run_erased(const detail::entity_info& info, std::vector<detail::any_value> inputs,
                                            const run_options& options = {});

  [[nodiscard]] const executor_options& options() const { return options_; }

  /// The execution id of the last stored run started from this thread.
  static const std::string& last_execution_id();

  /// A new execution id: the time and a random part, e.g. "ex-20261126-143501-3f9a1c".
  static std::string new_execution_id();

  /// The process-wide executor that native calls (`start_wf("Pear", "Earth")`) use.
  static executor& shared();

 private:
  /// Runs a graph (the scheduler's run_graph): fills the root's input slots, runs to
  /// the end, and hands the root's slots to `read` before they are destroyed.
  void run_graph(const detail::graph& g, const run_options& options, const std::function<void(detail::any_value*)>& fill,
                 const std::function<void(detail::any_value*)>& read);

  template <class E>
  static detail::graph single_node_graph(const E& e) {
    detail::graph g = detail::single_node_graph(detail::registered(e));
    g.nodes[0].entity = &e;  // this very object (the registry holds the first of its type)
    return g;
  }

  template <class E>
  static typename E::result_type take_result(const detail::graph& g, detail::any_value* slots) {
    auto value_of = [&]<class T>(std::size_t i, std::type_identity<T>) -> T {
      // The run is over: an output read once is moved out of its slot, not copied.
      return std::move(detail::take_binding(g, g.outputs[i], slots).template get<T>());
    };
    return [&]<class... Out, std::size_t... I>(detail::type_list<Out...>,
                                               std::index_sequence<I...>) -> typename E::result_type {
      if constexpr (sizeof...(Out) == 1) {
        return value_of(0, std::type_identity<Out...>{});
      } else {
        return typename E::result_type{value_of(I, std::type_identity<Out>{})...};
      }
    }(typename E::outputs{}, std::make_index_sequence<E::output_count>{});
  }

  executor_options options_;
  std::unique_ptr<detail::scheduler> scheduler_;
};

namespace detail {
template <>
struct native_runner<dynamic_kind> {
  template <class E, class... Args>
  static typename E::result_type run(const E& e, Args&&... args) {
    return executor::shared().run(e, std::forward<Args>(args)...);
  }
};
template <>
struct native_runner<workflow_kind> {
  template <class E, class... Args>
  static typename E::result_type run(const E& e, Args&&... args) {
    return executor::shared().run(e, std::forward<Args>(args)...);
  }
};
}  // namespace detail

/// Runs an entity on a given executor: `loom::run(ex, start_wf, "Pear", "Earth")`.
template <class E, class... Args>
typename E::result_type run(executor& ex, const E& e, Args&&... args) {
  return ex.run(e, std::forward<Args>(args)...);
}

}  // namespace loom

