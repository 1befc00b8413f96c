// loom/recorder.hpp — how a stored run records itself.
//
// Outputs. A node's outputs go to the execution's pack (loom/object_store.hpp) from the
// thread that ran it, before the node counts as done. A node of a small graph has them
// written at once (pack_writer::keep then write_kept: one write(2)): from then on they
// survive a kill of the program, and a resume finds them and does not run the node
// again, whether or not its row was written. The nodes of a large dynamic sub-DAG
// (run_options::compact_subdag_nodes) keep theirs in their thread's buffer, written
// with the next batch (a write(2) per node is most of what a 200,000-node run would
// cost); a node of it that took short_node or more has them written at once, and a
// thread that has kept eager_write_bytes has the recorder's thread write them. Every
// write is a consistent cut of what the threads kept: a record is never on the disk
// without the records kept before it, so what survives a kill never depends on what
// runs again.
//
// Rows. Node events (started, succeeded, failed) go into a queue; a background thread
// takes them in batches, syncs the pack once (fdatasync), then writes the batch's node
// rows in one transaction of the state store (loom/state_store.hpp). The pack is on the
// disk before the rows that say a node succeeded, so a committed "succeeded" has its
// outputs even after a power loss. The events of one node within a batch collapse into
// one row. A large sub-DAG has one row instead (subdag_progress), and rows only for its
// nodes that fail, are retried, are cached or run long.
//
// Futures files. A recorded run writes a dynamic node's futures file on the recorder's
// thread while its sub-DAG runs (write_later); a kill before it is written makes a
// resume run the body again (and reuse its nodes' outputs by their paths, as after a
// damaged futures file).
//
// What stays at-least-once: a task killed while it runs (it starts again on resume),
// the short nodes of a large sub-DAG that ended since the last batch, and the items of
// a map node that finished since the node's last kept record of items.
//
// The recorder's code is compiled once into loom::runtime (src/recorder.cpp).
#pragma once

#include <loom/detail/config.hpp>
#include <loom/object_store.hpp>
#include <loom/state_store.hpp>

#include <atomic>
#include <charconv>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace loom::detail {

struct node_event {
  std::string path;
  std::string task;
  int kind = 0;
  node_phase phase = node_phase::running;
  std::int64_t at_us = 0;
  std::string error;
  std::optional<std::string> outputs;  // an object event's bytes (a node's outputs are written at once)
  std::string outputs_key;             // or: where they already are (not the node's own key)
  bool counts_start = true;            // false: a node found done by resume, not started
  // Not a node's event: an object to pack under `path` (a key within the execution),
  // or the item row of a map node (`path` is the node's).
  enum class what : std::uint8_t { node, object, map_items } is = what::node;
  std::shared_ptr<const map_items_record> items;
};

/// A large dynamic sub-DAG recorded as one row (state_store::subdag_record). The threads
/// that run its nodes set each node's phase here (an atomic byte, no event, no lock);
/// the recorder writes the row from it with its batches (at most every
/// subdag_row_interval, and when flushed or closed), after syncing the packs that hold
/// the nodes' outputs. A node that fails, is retried, is cached or runs longer than
/// long_node gets a node row as well: its phase byte is marked (has_row), and its events
/// from then on are node events, as any node's.
struct subdag_progress {
  static constexpr std::uint8_t has_row = 0x80;
  static constexpr std::uint8_t running_code = 1 + static_cast<std::uint8_t>(node_phase::running);

  subdag_record row;  // path, prefix, length, tasks, task_of (phases: the recorder's copy)
  std::unique_ptr<std::atomic<std::uint8_t>[]> phase;  // per node: 0 or 1 + node_phase, | has_row

  // The recorder's own (its thread only):
  std::int64_t counted_done = 0;    // nodes without a row counted done so far
  std::int64_t counted_failed = 0;
  std::int64_t written_us = 0;      // (steady clock) when its row was last written
  std::vector<std::pair<std::uint32_t, std::int64_t>> running;  // running without a row: since (µs)

  /// Sets node k's phase, keeping its row mark; true if the node has a row (its
  /// event must be recorded as well).
  bool set(std::uint32_t k, node_phase p) {
    const auto code = static_cast<std::uint8_t>(1 + static_cast<int>(p));
    std::uint8_t old = phase[k].load(std::memory_order_relaxed);
    while (!phase[k].compare_exchange_weak(old, static_cast<std::uint8_t>(code | (old & has_row)),
                                           std::memory_order_acq_rel)) {
    }
    return (old & has_row) != 0;
  }

  /// Gives node k a row from now on; returns its byte before (has_row set: it had one).
  std::uint8_t mark_row(std::uint32_t k) { return phase[k].fetch_or(has_row, std::memory_order_acq_rel); }
};

/// A node of a compact sub-DAG running this long gets a row (its start time, roughly).
inline constexpr std::chrono::milliseconds long_node{1000};
/// A node of a compact sub-DAG that took this long has its outputs written at once
/// (with what the threads kept before): shorter ones are kept for the next batch, so a
/// kill may make them run again (at most one batch interval's worth per thread).
inline constexpr std::chrono::milliseconds short_node{10};
/// A thread that has kept this many bytes of outputs since the last batch has the
/// recorder's thread write them now (without a sync: that waits for the batch), so
/// that a large sub-DAG's outputs go to the disk while it runs, from the other CPU,
/// and not all at its end from the thread that ran it.
inline constexpr std::size_t eager_write_bytes = std::size_t{4} << 20;
/// How often the row of a compact sub-DAG is written while it runs.
inline constexpr std::chrono::milliseconds subdag_row_interval{200};

class execution_recorder {
 public:
  /// Batches are written every `interval`, or sooner when `max_batch` events wait.
  execution_recorder(const object_store& store, state_store& state, std::string execution_id,
                     std::chrono::milliseconds interval = std::chrono::milliseconds(50), std::size_t max_batch = 16384);
  execution_recorder(const execution_recorder&) = delete;
  execution_recorder& operator=(const execution_recorder&) = delete;
  ~execution_recorder();

  void started(std::string path, std::string_view task, int kind);

  /// A node that succeeded; `outputs` (its outputs as JSON) are written to the pack now.
  void succeeded(std::string path, std::string_view task, int kind, std::optional<std::string> outputs,
                 bool counts_start = false, std::string outputs_key = {});

  /// A node not run: its outputs came from the cache (`outputs_key`).
  void cached(std::string path, std::string_view task, int kind, std::string outputs_key);

  /// A node not run: it is in the branch of a wf.when that was not taken.
  void skipped(std::string path, std::string_view task, int kind);

  void failed(std::string path, std::string_view task, int kind, std::string message,
              node_phase phase = node_phase::failed, bool counts_start = false);

  /// Writes a node's outputs now, with the outputs the threads kept before (one
  /// write(2): pack_writer::write_kept): from then on they survive a kill.
  void keep_outputs(std::string_view path, std::string_view outputs);

  /// A node of a compact sub-DAG: its outputs, whose text `write` appends to the string
  /// it is given, under the path `prefix` + `node` (nothing made per node), kept in the
  /// thread's buffer for the next batch (pack_writer::keep: batches are consistent
  /// cuts), or written at once with those kept before when the node took short_node or
  /// more (a node that took long is not run again because of a kill that followed).
  template <class Write>
  void keep_outputs(std::string_view prefix, std::uint32_t node, Write&& write) {
    const std::size_t held = pack_.keep_with(
        [&](std::string& out) {
          char digits[16];
          const auto [end, ec] = std::to_chars(digits, digits + sizeof digits, node);
          out += prefix;
          out.append(digits, end);
          out += "/outputs.json";
        },
        std::forward<Write>(write));
    if (kept_long_after_last()) {
      write_kept();
    } else if (held >= eager_write_bytes && !eager_write_.load(std::memory_order_relaxed)) {
      ask_eager_write();
    }
  }

  /// pack_writer::write_kept(); an error is the run's, reported when it closes.
  void write_kept();

  /// Wakes the recorder's thread to write what the threads kept (eager_write_bytes).
  void ask_eager_write();

  /// Whether this thread last kept outputs short_node ago or more (and now is the last).
  static bool kept_long_after_last();

  /// Runs `job` on a thread of the recorder's (a futures file written while its
  /// sub-DAG runs); close() waits for it. An error it throws is the run's.
  void write_later(std::function<void()> job);

  /// A compact sub-DAG begins: its row is written from `progress` until all its nodes
  /// are done (or the recorder closes).
  void track(std::shared_ptr<subdag_progress> progress);

  /// The outputs of some items of a map node, packed under `key` (within the execution):
  /// what a resumed map does not run again.
  void checkpoint(std::string key, std::string text);

  /// The item row of a map node (replacing the one before).
  void map_items(std::shared_ptr<const map_items_record> items);

  /// Nodes that became known (a frame started).
  void added(std::int64_t nodes);

  /// Writes everything queued so far and waits until it is written; rethrows the
  /// first error the writer met (a full disk, a damaged database).
  void flush();

  /// Flushes and stops the writer thread.
  void close();

 private:
  static node_event event(std::string path, std::string_view task, int kind, node_phase phase);

  void push(node_event e);

  void loop();

  void write(std::vector<node_event>& batch, std::int64_t added);

  /// The thread of write_later()'s jobs.
  void run_jobs();

  /// The rows of the compact sub-DAGs that are due (all of them when `all`), their
  /// nodes' counts, and rows for their nodes that run long (appended to `batch`).
  void collect_subdags(std::vector<node_event>& batch, bool all);

  state_store* state_;
  std::string execution_;
  pack_writer pack_;
  std::chrono::milliseconds interval_;
  std::size_t max_batch_;
  std::mutex mutex_;
  std::condition_variable wake_;
  std::condition_variable written_;
  std::vector<node_event> queue_;
  std::vector<std::function<void()>> jobs_;  // write_later()'s (under mutex_)
  std::condition_variable jobs_wake_;
  std::thread jobs_thread_;  // started by the first write_later()
  std::vector<std::shared_ptr<subdag_progress>> tracked_;  // (under mutex_)
  std::vector<std::shared_ptr<subdag_progress>> subdags_;  // the writer thread's: being written
  std::vector<subdag_record> subdag_rows_;                 // the writer thread's: for this batch
  std::int64_t subdag_done_ = 0;                           // the writer thread's: for this batch
  std::int64_t subdag_failed_ = 0;
  std::int64_t added_ = 0;
  std::uint64_t flush_requests_ = 0;
  std::uint64_t flushed_ = 0;
  std::atomic<bool> eager_write_{false};  // ask_eager_write() was called, not done yet
  bool stopping_ = false;
  bool stopped_ = false;
  std::exception_ptr error_;
  std::thread thread_;  // last: starts when everything above is ready
};

}  // namespace loom::detail
