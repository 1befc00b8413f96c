// loom/recorder.hpp — how a stored run records itself. A node's outputs are written to
// the execution's pack (loom/object_store.hpp) by the thread that ran it, with one
// write(2), before the node counts as done: from then on they survive a kill of the
// program, and a resume finds them and does not run the node again, whether or not its
// row was written. Node events (started, succeeded, failed) go into a queue; a
// background thread takes them in batches, syncs the pack once (fdatasync), then writes
// the batch's node rows in one transaction of the state store (loom/state_store.hpp).
// The pack is on the disk before the rows that say a node succeeded, so a committed
// "succeeded" has its outputs even after a power loss.
//
// What stays at-least-once: a task killed while it runs (it starts again on resume), and
// the items of a map node that finished since the node's last kept record of items.
//
// The events of one node within a batch collapse into one row, so a fast node costs one
// row, not two.
#pragma once

#include <loom/object_store.hpp>
#include <loom/state_store.hpp>

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <exception>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <algorithm>
#include <utility>
#include <vector>

#include <pthread.h>

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

class execution_recorder {
 public:
  /// Batches are written every `interval`, or sooner when `max_batch` events wait.
  execution_recorder(const object_store& store, state_store& state, std::string execution_id,
                     std::chrono::milliseconds interval = std::chrono::milliseconds(50), std::size_t max_batch = 16384)
      : state_(&state),
        execution_(std::move(execution_id)),
        pack_(store, execution_),
        interval_(interval),
        max_batch_(max_batch),
        thread_([this] { loop(); }) {}
  execution_recorder(const execution_recorder&) = delete;
  execution_recorder& operator=(const execution_recorder&) = delete;
  ~execution_recorder() {
    try {
      close();
    } catch (...) {  // a destructor must not throw; close() reports to callers that ask
    }
  }

  void started(std::string path, std::string_view task, int kind) {
    push(event(std::move(path), task, kind, node_phase::running));
  }

  /// A node that succeeded; `outputs` (its outputs as JSON) are written to the pack now.
  void succeeded(std::string path, std::string_view task, int kind, std::optional<std::string> outputs,
                 bool counts_start = false, std::string outputs_key = {}) {
    if (outputs) {
      const std::size_t size = path.size();
      path += "/outputs.json";  // the key within the execution: <execution>/<path>/outputs.json
      try {
        pack_.write_now(path, *outputs);
      } catch (...) {  // (a full disk: the run fails when it closes, as for a batch)
        std::lock_guard lock(mutex_);
        if (!error_) error_ = std::current_exception();
      }
      path.resize(size);
    }
    node_event e = event(std::move(path), task, kind, node_phase::succeeded);
    e.outputs_key = std::move(outputs_key);
    e.counts_start = counts_start;
    push(std::move(e));
  }

  /// A node not run: its outputs came from the cache (`outputs_key`).
  void cached(std::string path, std::string_view task, int kind, std::string outputs_key) {
    node_event e = event(std::move(path), task, kind, node_phase::cached);
    e.outputs_key = std::move(outputs_key);
    e.counts_start = false;
    push(std::move(e));
  }

  /// A node not run: it is in the branch of a wf.when that was not taken.
  void skipped(std::string path, std::string_view task, int kind) {
    node_event e = event(std::move(path), task, kind, node_phase::skipped);
    e.counts_start = false;
    push(std::move(e));
  }

  void failed(std::string path, std::string_view task, int kind, std::string message,
              node_phase phase = node_phase::failed) {
    node_event e = event(std::move(path), task, kind, phase);
    e.error = std::move(message);
    e.counts_start = false;
    push(std::move(e));
  }

  /// The outputs of some items of a map node, packed under `key` (within the execution):
  /// what a resumed map does not run again.
  void checkpoint(std::string key, std::string text) {
    node_event e;
    e.path = std::move(key);
    e.is = node_event::what::object;
    e.outputs = std::move(text);
    push(std::move(e));
  }

  /// The item row of a map node (replacing the one before).
  void map_items(std::shared_ptr<const map_items_record> items) {
    node_event e;
    e.path = items->path;
    e.is = node_event::what::map_items;
    e.items = std::move(items);
    push(std::move(e));
  }

  /// Nodes that became known (a frame started).
  void added(std::int64_t nodes) {
    std::lock_guard lock(mutex_);
    added_ += nodes;
  }

  /// Writes everything queued so far and waits until it is written; rethrows the
  /// first error the writer met (a full disk, a damaged database).
  void flush() {
    std::unique_lock lock(mutex_);
    const std::uint64_t target = ++flush_requests_;
    wake_.notify_all();
    written_.wait(lock, [&] { return flushed_ >= target || stopped_; });
    if (error_) std::rethrow_exception(error_);
  }

  /// Flushes and stops the writer thread.
  void close() {
    {
      std::lock_guard lock(mutex_);
      if (stopped_ && !thread_.joinable()) return;
      stopping_ = true;
    }
    wake_.notify_all();
    if (thread_.joinable()) thread_.join();
    std::lock_guard lock(mutex_);
    if (error_) std::rethrow_exception(error_);
  }

  [[nodiscard]] std::uintmax_t pack_bytes() const { return pack_.bytes_written(); }

 private:
  static node_event event(std::string path, std::string_view task, int kind, node_phase phase) {
    node_event e;
    e.path = std::move(path);
    e.task = std::string(task);
    e.kind = kind;
    e.phase = phase;
    e.at_us = now_us();
    return e;
  }

  void push(node_event e) {
    std::lock_guard lock(mutex_);
    queue_.push_back(std::move(e));
    if (queue_.size() >= max_batch_) wake_.notify_all();
  }

  void loop() {
    ::pthread_setname_np(::pthread_self(), "loom-recorder");  // for top -H, perf, gdb
    auto last_beat = std::chrono::steady_clock::now();
    std::unique_lock lock(mutex_);
    while (true) {
      wake_.wait_for(lock, interval_, [&] {
        return stopping_ || queue_.size() >= max_batch_ || flush_requests_ > flushed_;
      });
      std::vector<node_event> batch;
      batch.swap(queue_);
      const std::int64_t added = std::exchange(added_, 0);
      const std::uint64_t requests = flush_requests_;
      const bool stop = stopping_;
      const bool failed = error_ != nullptr;  // (set by node threads too: read under the lock)
      lock.unlock();
      const auto now = std::chrono::steady_clock::now();
      // An idle run still beats, so that another host sees its owner is alive.
      if (!batch.empty() || added != 0 || now - last_beat > std::chrono::seconds(10)) {
        try {
          if (!failed) write(batch, added);
        } catch (...) {
          std::lock_guard g(mutex_);
          if (!error_) error_ = std::current_exception();
        }
        last_beat = now;
      }
      lock.lock();
      flushed_ = requests;
      written_.notify_all();
      if (stop && queue_.empty()) {
        stopped_ = true;
        written_.notify_all();
        return;
      }
    }
  }

  void write(std::vector<node_event>& batch, std::int64_t added) {
    // One row per node: its events, in order, fold into it. Sorting the batch by path
    // (stably: a node's events keep their order) puts them side by side, and gives the
    // rows in key order, which is how SQLite inserts fastest.
    std::stable_sort(batch.begin(), batch.end(), [](const node_event& x, const node_event& y) { return x.path < y.path; });
    std::vector<node_record> rows;
    rows.reserve(batch.size());
    std::int64_t done = 0;
    std::int64_t failed = 0;
    std::vector<std::shared_ptr<const map_items_record>> items;
    for (auto& e : batch) {
      if (e.is == node_event::what::object) {
        pack_.append_in_execution(e.path, *e.outputs);
        continue;
      }
      if (e.is == node_event::what::map_items) {  // the last of a node's rows wins
        if (!items.empty() && items.back()->path == e.path) items.pop_back();
        items.push_back(std::move(e.items));
        continue;
      }
      if (rows.empty() || rows.back().path != e.path) {
        rows.emplace_back();
        rows.back().path = e.path;
      }
      node_record& r = rows.back();
      r.task = std::move(e.task);
      r.kind = e.kind;
      r.phase = e.phase;
      if (e.phase == node_phase::running) {
        r.attempts += 1;
        r.started_us = e.at_us;
        r.ended_us = 0;
        r.error.clear();
      } else {
        r.ended_us = e.at_us;
        if (e.counts_start) {
          r.attempts += 1;
          if (r.started_us == 0) r.started_us = e.at_us;
        }
        r.error = std::move(e.error);
        r.outputs = std::move(e.outputs_key);
        if (e.phase == node_phase::succeeded || e.phase == node_phase::cached || e.phase == node_phase::skipped) ++done;
        if (e.phase == node_phase::failed) ++failed;
      }
    }
    // The outputs are on the disk before any row says they are there.
    pack_.flush(true);
    state_->write_nodes(execution_, rows, done, failed, added);
    for (const auto& m : items) state_->write_map_items(execution_, *m);
  }

  state_store* state_;
  std::string execution_;
  pack_writer pack_;
  std::chrono::milliseconds interval_;
  std::size_t max_batch_;
  std::mutex mutex_;
  std::condition_variable wake_;
  std::condition_variable written_;
  std::vector<node_event> queue_;
  std::int64_t added_ = 0;
  std::uint64_t flush_requests_ = 0;
  std::uint64_t flushed_ = 0;
  bool stopping_ = false;
  bool stopped_ = false;
  std::exception_ptr error_;
  std::thread thread_;  // last: starts when everything above is ready
};

}  // namespace loom::detail
