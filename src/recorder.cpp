// src/recorder.cpp — the execution recorder (loom/recorder.hpp): the node threads'
// side (events into a queue, outputs into the pack) and the writer thread's batches.
#include <loom/recorder.hpp>

#include <algorithm>
#include <utility>

#include <pthread.h>
#include <time.h>

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
  if (outputs) keep_outputs(path, *outputs);
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
                                         node_phase phase, bool counts_start) {
  node_event e = event(std::move(path), task, kind, phase);
  e.error = std::move(message);
  e.counts_start = counts_start;
  push(std::move(e));
}

LOOM_FUNC void execution_recorder::keep_outputs(std::string_view path, std::string_view outputs) {
  thread_local std::string key;  // <path>/outputs.json, within the execution (reused: no allocation)
  key.assign(path);
  key += "/outputs.json";
  pack_.keep(key, outputs);
  write_kept();
}

LOOM_FUNC void execution_recorder::write_kept() {
  try {
    pack_.write_kept();
  } catch (...) {  // (a full disk: the run fails when it closes, as for a batch)
    std::lock_guard lock(mutex_);
    if (!error_) error_ = std::current_exception();
  }
}

LOOM_FUNC void execution_recorder::ask_eager_write() {
  if (eager_write_.exchange(true)) return;  // (asked already)
  { std::lock_guard lock(mutex_); }  // (the recorder's thread is waiting, or sees the flag before it waits)
  wake_.notify_all();
}

LOOM_FUNC bool execution_recorder::kept_long_after_last() {
  // One clock read per node: the time since this thread last kept outputs is what the
  // node took (or the thread waited, which costs one write more). The coarse clock is
  // read without the clock source (4 ns a read against 26 ns for the precise one on
  // the benchmarks' VM); its tick (4 ms at HZ 250) is taken off short_node, so that a
  // node that took short_node is never missed (one a little shorter may be written at
  // once too). A tick coarser than half of short_node: the precise clock.
  struct clock_choice {
    clockid_t clock = CLOCK_MONOTONIC;
    std::int64_t long_us = std::chrono::duration_cast<std::chrono::microseconds>(short_node).count();
  };
  static const clock_choice choice = [] {
    clock_choice c;
    timespec tick{};
    if (::clock_getres(CLOCK_MONOTONIC_COARSE, &tick) == 0) {
      const std::int64_t tick_us = std::int64_t{tick.tv_sec} * 1'000'000 + tick.tv_nsec / 1000;
      if (2 * tick_us <= c.long_us) {
        c.clock = CLOCK_MONOTONIC_COARSE;
        c.long_us -= tick_us;
      }
    }
    return c;
  }();
  thread_local std::int64_t last = 0;
  timespec read{};
  ::clock_gettime(choice.clock, &read);
  const std::int64_t now = std::int64_t{read.tv_sec} * 1'000'000 + read.tv_nsec / 1000;
  const bool long_after = now - last >= choice.long_us;
  last = now;
  return long_after;
}

LOOM_FUNC void execution_recorder::write_later(std::function<void()> job) {
  std::lock_guard lock(mutex_);
  jobs_.push_back(std::move(job));
  // A thread of their own (started with the first), so that a futures file is written
  // while its sub-DAG runs and the batches go on meanwhile.
  if (!jobs_thread_.joinable() && !stopping_) jobs_thread_ = std::thread([this] { run_jobs(); });
  jobs_wake_.notify_all();
}

LOOM_FUNC void execution_recorder::run_jobs() {
  ::pthread_setname_np(::pthread_self(), "loom-futures");
  std::unique_lock lock(mutex_);
  while (true) {
    jobs_wake_.wait(lock, [&] { return stopping_ || !jobs_.empty(); });
    if (jobs_.empty()) return;  // (stopping, and every job done)
    std::vector<std::function<void()>> jobs;
    jobs.swap(jobs_);
    const bool failed = error_ != nullptr;
    lock.unlock();
    try {
      if (!failed) {
        for (auto& job : jobs) job();
      }
    } catch (...) {
      std::lock_guard g(mutex_);
      if (!error_) error_ = std::current_exception();
    }
    jobs.clear();
    lock.lock();
  }
}

LOOM_FUNC void execution_recorder::track(std::shared_ptr<subdag_progress> progress) {
  std::lock_guard lock(mutex_);
  tracked_.push_back(std::move(progress));
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
  jobs_wake_.notify_all();
  if (thread_.joinable()) thread_.join();
  if (jobs_thread_.joinable()) jobs_thread_.join();  // (its jobs done: a run's futures files are written)
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
  auto next_batch = std::chrono::steady_clock::now() + interval_;
  while (true) {
    // (Until the batch is due: an eager write in between does not put it off.)
    wake_.wait_until(lock, next_batch, [&] {
      return stopping_ || queue_.size() >= max_batch_ || flush_requests_ > flushed_ ||
             eager_write_.load(std::memory_order_relaxed);
    });
    if (eager_write_.exchange(false) && !stopping_ && queue_.size() < max_batch_ && flush_requests_ <= flushed_ &&
        std::chrono::steady_clock::now() < next_batch) {
      // Only a thread's kept outputs to write: written now, synced with the next batch.
      // (Not after an error: the run fails, and the batch does not write either.)
      if (error_ != nullptr) continue;
      lock.unlock();
      write_kept();
      lock.lock();
      continue;
    }
    std::vector<node_event> batch;
    batch.swap(queue_);
    const std::int64_t added = std::exchange(added_, 0);
    const std::uint64_t requests = flush_requests_;
    const bool stop = stopping_;
    const bool failed = error_ != nullptr;  // (set by node threads too: read under the lock)
    for (auto& p : tracked_) subdags_.push_back(std::move(p));
    tracked_.clear();
    lock.unlock();
    // After the batch was taken: a node event that follows a row this adds is in a later batch.
    collect_subdags(batch, stop || requests > flushed_);
    // (The flush that follows gathers the kept outputs after the phases above were read:
    // a node seen done has its outputs in.)
    const bool kept = pack_.has_kept();
    const auto now = std::chrono::steady_clock::now();
    // An idle run still beats, so that another host sees its owner is alive.
    if (!batch.empty() || added != 0 || !subdag_rows_.empty() || kept ||
        now - last_beat > std::chrono::seconds(10)) {
      try {
        if (!failed) write(batch, added);
      } catch (...) {
        std::lock_guard g(mutex_);
        if (!error_) error_ = std::current_exception();
      }
      last_beat = now;
    }
    subdag_rows_.clear();
    subdag_done_ = 0;
    subdag_failed_ = 0;
    next_batch = std::chrono::steady_clock::now() + interval_;  // (an interval between batches, however long one took)
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
  state_->write_nodes(execution_, rows, done + subdag_done_, failed + subdag_failed_, added, subdag_rows_);
  for (const auto& m : items) state_->write_map_items(execution_, *m);
}

LOOM_FUNC void execution_recorder::collect_subdags(std::vector<node_event>& batch, bool all) {
  if (subdags_.empty()) return;
  const std::int64_t now = std::chrono::duration_cast<std::chrono::microseconds>(
                               std::chrono::steady_clock::now().time_since_epoch())
                               .count();
  const std::int64_t wall = now_us();
  const std::int64_t long_us = std::chrono::duration_cast<std::chrono::microseconds>(long_node).count();
  const std::int64_t interval_us = std::chrono::duration_cast<std::chrono::microseconds>(subdag_row_interval).count();
  constexpr auto code_of = [](node_phase p) { return static_cast<std::uint8_t>(1 + static_cast<int>(p)); };
  for (auto it = subdags_.begin(); it != subdags_.end();) {
    subdag_progress& p = **it;
    if (!all && p.written_us != 0 && now - p.written_us < interval_us) {
      ++it;
      continue;
    }
    p.written_us = now;
    const auto length = static_cast<std::size_t>(p.row.length);
    std::string phases(length, '\0');
    std::int64_t done = 0;
    std::int64_t failed = 0;
    bool over = true;
    std::vector<std::pair<std::uint32_t, std::int64_t>> running;
    auto seen = p.running.begin();
    for (std::uint32_t k = 0; k < length; ++k) {
      // (acquire: the outputs of a node seen done were written before; the pack's sync
      // that follows covers them)
      const std::uint8_t byte = p.phase[k].load(std::memory_order_acquire);
      const auto code = static_cast<std::uint8_t>(byte & ~subdag_progress::has_row);
      phases[k] = static_cast<char>(code);
      if (code == 0 || code == subdag_progress::running_code) over = false;
      if ((byte & subdag_progress::has_row) != 0) continue;  // its row counts it
      if (code == code_of(node_phase::succeeded) || code == code_of(node_phase::cached) ||
          code == code_of(node_phase::skipped)) {
        ++done;
      } else if (code == code_of(node_phase::failed)) {
        ++failed;
      } else if (code == subdag_progress::running_code) {
        while (seen != p.running.end() && seen->first < k) ++seen;
        const std::int64_t since = seen != p.running.end() && seen->first == k ? seen->second : wall;
        std::uint8_t expected = byte;
        if (wall - since >= long_us &&
            p.phase[k].compare_exchange_strong(expected, static_cast<std::uint8_t>(byte | subdag_progress::has_row))) {
          // Running long: a row from now on, with roughly its start.
          const std::size_t t = p.row.task_index(k);
          node_event e = event(p.row.prefix + std::to_string(k), t < p.row.tasks.size() ? p.row.tasks[t].first : "",
                               t < p.row.tasks.size() ? p.row.tasks[t].second : 0, node_phase::running);
          e.at_us = since;
          batch.push_back(std::move(e));
        } else {
          running.emplace_back(k, since);
        }
      }
    }
    p.running = std::move(running);
    subdag_done_ += done - p.counted_done;
    subdag_failed_ += failed - p.counted_failed;
    p.counted_done = done;
    p.counted_failed = failed;
    subdag_record row;
    row.path = p.row.path;
    row.prefix = p.row.prefix;
    row.length = p.row.length;
    row.tasks = p.row.tasks;
    row.task_of = p.row.task_of;
    row.phases = std::move(phases);
    row.updated_us = wall;
    subdag_rows_.push_back(std::move(row));
    it = over ? subdags_.erase(it) : it + 1;
  }
}

}  // namespace loom::detail
