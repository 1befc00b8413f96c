// src/recorder.cpp — the execution recorder (loom/recorder.hpp): the node threads'
// side (events into a queue, outputs into the pack) and the writer thread's batches.
#include <loom/recorder.hpp>

#include <algorithm>
#include <utility>

#include <pthread.h>

namespace loom::detail {

LOOM_FUNC execution_recorder::execution_recorder(const object_store& store, state_store& state,
                                                std::string execution_id, std::chrono::milliseconds interval,
                                                std::size_t max_batch)
    : state_(&state),
      execution_(std::move(execution_id)),
      pack_(store, execution_),
      interval_(interval),
      max_batch_(max_batch),
      thread_([this] { loop(); }) {}

LOOM_FUNC execution_recorder::~execution_recorder() {
  try {
    close();
  } catch (...) {  // a destructor must not throw; close() reports to callers that ask
  }
}

LOOM_FUNC void execution_recorder::started(std::string path, std::string_view task, int kind) {
  push(event(std::move(path), task, kind, node_phase::running));
}

LOOM_FUNC void execution_recorder::succeeded(std::string path, std::string_view task, int kind,
                                            std::optional<std::string> outputs, bool counts_start,
                                            std::string outputs_key) {
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

LOOM_FUNC void execution_recorder::cached(std::string path, std::string_view task, int kind, std::string outputs_key) {
  node_event e = event(std::move(path), task, kind, node_phase::cached);
  e.outputs_key = std::move(outputs_key);
  e.counts_start = false;
  push(std::move(e));
}

LOOM_FUNC void execution_recorder::skipped(std::string path, std::string_view task, int kind) {
  node_event e = event(std::move(path), task, kind, node_phase::skipped);
  e.counts_start = false;
  push(std::move(e));
}

LOOM_FUNC void execution_recorder::failed(std::string path, std::string_view task, int kind, std::string message,
                                         node_phase phase) {
  node_event e = event(std::move(path), task, kind, phase);
  e.error = std::move(message);
  e.counts_start = false;
  push(std::move(e));
}

LOOM_FUNC void execution_recorder::checkpoint(std::string key, std::string text) {
  node_event e;
  e.path = std::move(key);
  e.is = node_event::what::object;
  e.outputs = std::move(text);
  push(std::move(e));
}

LOOM_FUNC void execution_recorder::map_items(std::shared_ptr<const map_items_record> items) {
  node_event e;
  e.path = items->path;
  e.is = node_event::what::map_items;
  e.items = std::move(items);
  push(std::move(e));
}

LOOM_FUNC void execution_recorder::added(std::int64_t nodes) {
  std::lock_guard lock(mutex_);
  added_ += nodes;
}

LOOM_FUNC void execution_recorder::flush() {
  std::unique_lock lock(mutex_);
  const std::uint64_t target = ++flush_requests_;
  wake_.notify_all();
  written_.wait(lock, [&] { return flushed_ >= target || stopped_; });
  if (error_) std::rethrow_exception(error_);
}

LOOM_FUNC void execution_recorder::close() {
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

LOOM_FUNC node_event execution_recorder::event(std::string path, std::string_view task, int kind, node_phase phase) {
  node_event e;
  e.path = std::move(path);
  e.task = std::string(task);
  e.kind = kind;
  e.phase = phase;
  e.at_us = now_us();
  return e;
}

LOOM_FUNC void execution_recorder::push(node_event e) {
  std::lock_guard lock(mutex_);
  queue_.push_back(std::move(e));
  if (queue_.size() >= max_batch_) wake_.notify_all();
}

LOOM_FUNC void execution_recorder::loop() {
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

LOOM_FUNC void execution_recorder::write(std::vector<node_event>& batch, std::int64_t added) {
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

}  // namespace loom::detail
