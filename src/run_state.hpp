// src/run_state.hpp — what a run is made of while it runs, internal to the runtime:
// frames (one running instance of a graph), work items (what the scheduler's queues
// hold), map runs (a map node's items while they run) and the run's shared state.
#pragma once

#include <loom/detail/graph.hpp>
#include <loom/detail/huge_pages.hpp>
#include <loom/executor.hpp>
#include <loom/state_store.hpp>

#include <atomic>
#include <charconv>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_set>
#include <utility>
#include <vector>

namespace loom::detail {

struct run_state;
struct subdag_progress;
template <class Item>
class work_queues;
class execution_context;
class node_backend;
class run_observers;

/// One running instance of a graph: the root workflow, or a nested one.
struct frame {
  const graph* g = nullptr;
  std::shared_ptr<const graph> owned;  // a dynamic node's sub-DAG belongs to its frame (and a trace)
  std::size_t depth = 0;
  huge_array<any_value> slots;  // (in huge pages when large: loom/detail/huge_pages.hpp)
  huge_array<std::atomic<std::uint32_t>> pending;  // per node: producers not yet done
  // The frame's sinks (nodes without successors) not yet done: when all are, so is every
  // node, as each is a sink or an ancestor of one. Counting sinks, not nodes, keeps the
  // threads of a wide DAG from writing one shared counter for every node.
  std::atomic<std::uint32_t> sinks_left{0};
  struct alignas(64) join_group {
    std::atomic<std::uint32_t> left{0};
  };
  std::unique_ptr<join_group[]> join_groups;  // the graph's large joins' groups: producers not yet done
  frame* parent = nullptr;
  std::uint32_t parent_node = 0;
  run_state* run = nullptr;
  // A large sub-DAG of a recorded run: its nodes' phases, kept here instead of node
  // events (loom/recorder.hpp); null otherwise.
  std::shared_ptr<subdag_progress> compact;
  // Its futures file is being written from the graph (on the recorder's thread): true
  // until it is written (execution_context::through_futures_file).
  std::shared_ptr<std::atomic<bool>> futures_writing;

  frame(const graph& graph, run_state& r, frame* parent_frame, std::uint32_t node_in_parent)
      : g(&graph),
        depth(parent_frame != nullptr ? parent_frame->depth + 1 : 0),
        slots(make_huge_array<any_value>(graph.slot_count)),
        pending(make_huge_array<std::atomic<std::uint32_t>>(graph.nodes.size())),
        parent(parent_frame),
        parent_node(node_in_parent),
        run(&r) {
    std::uint32_t sinks = 0;
    for (std::size_t i = 0; i < graph.nodes.size(); ++i) {
      pending[i].store(graph.nodes[i].predecessor_count, std::memory_order_relaxed);
      if (graph.nodes[i].successor_count == 0) ++sinks;
    }
    sinks_left.store(sinks, std::memory_order_relaxed);
    if (!graph.join_group_sizes.empty()) {
      join_groups.reset(new join_group[graph.join_group_sizes.size()]);
      for (std::size_t k = 0; k < graph.join_group_sizes.size(); ++k) {
        join_groups[k].left.store(graph.join_group_sizes[k], std::memory_order_relaxed);
      }
      for (const auto& [node, groups] : graph.grouped_joins) pending[node].store(groups, std::memory_order_relaxed);
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

  /// Whether this frame alone holds its graph (a dynamic node's sub-DAG that no trace
  /// keeps): its literals may then be moved out by their only reader. A static
  /// workflow's graph is shared by every run of it, and keeps its literals.
  [[nodiscard]] bool graph_is_private() const {
    // (The flag, read with acquire once its writer is done: what the writer read of the
    // graph happens before a literal is moved out.)
    return owned != nullptr && owned.use_count() == 1 &&
           (futures_writing == nullptr || !futures_writing->load(std::memory_order_acquire));
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
  std::uint32_t job = 0;      // an attempt submitted as a job: its backend's ticket (0: none)
};

/// A map node while its items run, in chunks spread over the executor's threads: the
/// inputs, the output lists, and what the items did. Owned by its chunks: the last one
/// to finish completes (or fails) the node and deletes it.
struct map_run {
  std::vector<any_value> inputs;   // lists (mapped) and values (bound)
  std::vector<any_value> outputs;  // per output, std::vector<std::optional<R>>
  std::size_t length = 0;
  std::size_t chunk_size = 1;
  std::atomic<std::uint32_t> chunks_left{0};
  std::vector<std::uint32_t> jobs;  // chunks submitted as jobs: each chunk's ticket (0: none)
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

  [[nodiscard]] bool reused(std::size_t k) const {
    return phase != nullptr && phase[k].load(std::memory_order_relaxed) == reused_item;
  }
  void item_succeeded(std::size_t k) {
    succeeded.fetch_add(1, std::memory_order_relaxed);
    if (phase != nullptr) phase[k].store(succeeded_item, std::memory_order_relaxed);
  }
  /// Item k took `attempts` attempts (more than one): its item row says so.
  void item_attempts(std::size_t k, std::uint32_t count) {
    if (phase == nullptr || count <= 1) return;
    std::lock_guard lock(mutex);
    attempts.emplace_back(k, count);
  }
  /// Item k failed (after its retries): counted, its error kept; a whole map stops.
  void item_failed(std::size_t k, const std::string& message, bool partial);
};

/// The shared state of one run: the count of queued-but-unfinished work items (the run
/// is over when it reaches zero; threads give back the items they finished in batches,
/// see scheduler::finished_items), the first failure, the child frames to free, and the
/// run's parts: where its nodes run (backend), what keeps it (context), who watches it.
struct run_state {
  run_limits limits;
  const run_options* options = nullptr;
  std::atomic<std::int64_t> active{0};
  std::atomic<bool> failed{false};
  std::atomic<bool> done{false};
  std::mutex mutex;
  std::exception_ptr failure;
  std::unordered_set<frame*> children;
  node_backend* backend = nullptr;
  execution_context* context = nullptr;
  run_observers* observers = nullptr;
  std::size_t threads = 1;  // the executor's
  work_queues<work_item>* queues = nullptr;  // the executor's: where the run's end is told

  run_state() = default;
  run_state(const run_state&) = delete;
  run_state& operator=(const run_state&) = delete;
  ~run_state() {
    for (frame* f : children) delete f;
  }
};

inline void map_run::item_failed(std::size_t k, const std::string& message, bool partial) {
  failed.fetch_add(1, std::memory_order_relaxed);
  if (!partial) stop.store(true, std::memory_order_relaxed);  // a whole map has failed
  if (phase != nullptr) phase[k].store(failed_item, std::memory_order_relaxed);
  std::lock_guard lock(mutex);
  if (phase != nullptr && errors.size() < map_items_errors_kept) errors.emplace_back(k, message);
  if (first_error.empty() || k < first_failed) {
    first_failed = k;
    first_error = message;
  }
}

}  // namespace loom::detail
