// src/scheduler.hpp — the executor's core, internal to the runtime (loom::runtime): it
// runs a graph's nodes on a pool of threads with maximum parallelism. It owns the
// order of things (what is ready, what completes, what fails, what retries); what a
// node of each kind does is its handler's (node_handler.hpp), where it runs is the
// backend's (node_backend.hpp), what is kept is the execution context's
// (execution_context.hpp), and who hears of it are the observers (run_observer.hpp).
// loom::executor (loom/executor.hpp) is its public face.
#pragma once

#include "node_handler.hpp"
#include "run_state.hpp"
#include "work_queues.hpp"

#include <loom/detail/config.hpp>
#include <loom/executor.hpp>

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

namespace loom::detail {

/// The execution id of the last stored run started from this thread.
std::string& last_execution_id();

/// How long after its submission a job is first looked at.
inline constexpr std::chrono::milliseconds first_job_poll{50};

class scheduler {
 public:
  explicit scheduler(std::size_t threads);
  scheduler(const scheduler&) = delete;
  scheduler& operator=(const scheduler&) = delete;
  ~scheduler();

  [[nodiscard]] std::size_t thread_count() const { return thread_count_; }

  /// Runs a graph: fills the root's input slots, runs to the end, hands the finished
  /// root frame's slots to `read` (before they are destroyed), and keeps the run in the
  /// store.
  void run_graph(const graph& g, const run_options& options, const std::function<void(any_value*)>& fill,
                 const std::function<void(any_value*)>& read);

 private:
  using ready_list = std::vector<work_item>;

  void execute_to_end(frame& root, run_state& state);
  /// Runs queued nodes (of any run) until `finished()` holds, waiting when there are none.
  template <class Finished>
  void work_until(Finished&& finished);
  void execute(work_item item);
  static void count_finished();
  void run_node(const work_item& item, ready_list& ready);
  void poll_job(const work_item& item, ready_list& ready);
  node_outcome attempt(const work_item& item, const node_policy& policy);
  void apply(const work_item& item, const node_policy& policy, node_outcome outcome, ready_list& ready);
  bool retry_later(const work_item& item, const node_policy& policy, const std::string& message);
  void start_child(frame& parent, std::uint32_t node, const graph& g, std::shared_ptr<const graph> owned,
                   ready_list& ready);
  static bool start_frame(frame& f, ready_list& ready);
  void complete_node(frame& f, std::uint32_t node, ready_list& ready);
  void complete_frame(frame& f, ready_list& ready);
  static void fail(frame& f, std::uint32_t node, const std::string& message);

  std::size_t thread_count_ = 1;
  std::vector<std::thread> workers_;
  std::unique_ptr<work_queues<work_item>> queues_;  // the ready nodes: a deque per thread
  std::atomic<bool> stopping_{false};
};

}  // namespace loom::detail
