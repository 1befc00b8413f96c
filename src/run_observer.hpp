// src/run_observer.hpp — the observer seam: what a run tells those who watch it (the
// progress counters, the trace of executed graphs, the recorder of node events) as its
// nodes move. The scheduler calls run_observers; each watcher overrides what it needs.
// A run that nobody watches has no observers and pays one empty check per event.
#pragma once

#include "run_state.hpp"

#include <loom/executor.hpp>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace loom::detail {

class run_observer {
 public:
  virtual ~run_observer() = default;
  /// A graph begins to run: the root (path ""), a static workflow node's graph, or a
  /// dynamic node's sub-DAG (`owned`), at the path of the node that runs it.
  virtual void graph_entered(const std::string& /*path*/, const graph& /*g*/,
                             const std::shared_ptr<const graph>& /*owned*/) {}
  /// A node is picked up for its first attempt, before anything is decided about it.
  virtual void node_picked(const frame& /*f*/, std::uint32_t /*node*/) {}
  /// An attempt at a node begins (not for a node skipped, reused by resume or cached).
  virtual void attempt_started(const frame& /*f*/, std::uint32_t /*node*/) {}
  /// An attempt failed and another one follows after its backoff.
  virtual void attempt_failed(const frame& /*f*/, std::uint32_t /*node*/, std::uint32_t /*attempt*/,
                              std::uint32_t /*retries*/, const std::string& /*message*/) {}
  /// A node in the branch of a wf.when that was not taken.
  virtual void node_skipped(const frame& /*f*/, std::uint32_t /*node*/) {}
  /// A node is done (succeeded, reused, cached or skipped).
  virtual void node_completed(const frame& /*f*/, std::uint32_t /*node*/) {}
  /// A node failed for good: the run fails with it.
  virtual void node_failed(const frame& /*f*/, std::uint32_t /*node*/, const std::string& /*message*/) {}
};

/// The observers of one run, in the order they were added.
class run_observers {
 public:
  void add(run_observer* o) {
    if (o != nullptr) list_.push_back(o);
  }
  [[nodiscard]] bool empty() const { return list_.empty(); }

  void graph_entered(const std::string& path, const graph& g, const std::shared_ptr<const graph>& owned) const {
    for (run_observer* o : list_) o->graph_entered(path, g, owned);
  }
  void node_picked(const frame& f, std::uint32_t node) const {
    for (run_observer* o : list_) o->node_picked(f, node);
  }
  void attempt_started(const frame& f, std::uint32_t node) const {
    for (run_observer* o : list_) o->attempt_started(f, node);
  }
  void attempt_failed(const frame& f, std::uint32_t node, std::uint32_t attempt, std::uint32_t retries,
                      const std::string& message) const {
    for (run_observer* o : list_) o->attempt_failed(f, node, attempt, retries, message);
  }
  void node_skipped(const frame& f, std::uint32_t node) const {
    for (run_observer* o : list_) o->node_skipped(f, node);
  }
  void node_completed(const frame& f, std::uint32_t node) const {
    for (run_observer* o : list_) o->node_completed(f, node);
  }
  void node_failed(const frame& f, std::uint32_t node, const std::string& message) const {
    for (run_observer* o : list_) o->node_failed(f, node, message);
  }

 private:
  std::vector<run_observer*> list_;
};

/// run_options::progress: the command line's progress line counts nodes.
class progress_observer final : public run_observer {
 public:
  explicit progress_observer(run_progress& progress) : progress_(progress) {}
  void graph_entered(const std::string&, const graph& g, const std::shared_ptr<const graph>&) override {
    progress_.total.fetch_add(static_cast<std::int64_t>(g.nodes.size()), std::memory_order_relaxed);
  }
  void node_picked(const frame&, std::uint32_t) override { progress_.running.fetch_add(1, std::memory_order_relaxed); }
  void node_completed(const frame&, std::uint32_t) override {
    progress_.running.fetch_sub(1, std::memory_order_relaxed);
    progress_.done.fetch_add(1, std::memory_order_relaxed);
  }
  void node_failed(const frame&, std::uint32_t, const std::string&) override {
    progress_.running.fetch_sub(1, std::memory_order_relaxed);
    progress_.failed.fetch_add(1, std::memory_order_relaxed);
  }

 private:
  run_progress& progress_;
};

/// run_options::trace: every graph the run executed, and the nodes that failed.
class trace_observer final : public run_observer {
 public:
  explicit trace_observer(run_trace& trace) : trace_(trace) {}
  void graph_entered(const std::string& path, const graph& g, const std::shared_ptr<const graph>& owned) override {
    trace_.record(path, g, owned);
  }
  void node_failed(const frame& f, std::uint32_t node, const std::string&) override {
    trace_.record_failure(f.path_of(node));
  }

 private:
  run_trace& trace_;
};

}  // namespace loom::detail
