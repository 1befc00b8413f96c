// src/work_queues.hpp — the scheduler's ready nodes: one deque per thread, with
// stealing (as Taskflow's executor and Cilk do), instead of one queue behind one mutex.
//
// A thread pushes the nodes it makes ready onto its own deque and takes its next node
// from the same end (last in, first out: the node whose inputs are warm in its cache);
// a thread whose deque is empty steals from the other end of another's. Each deque has a
// mutex of its own, which its owner takes uncontended almost always, so two threads do
// not serialize on one lock for every node (two threads lost to one on wide trivial DAGs
// with the single queue). Threads that are not the pool's (the callers of run()) share
// deque 0.
//
// Sleeping without lost wake-ups: a thread about to sleep counts itself in `sleepers_`
// and looks at `queued_` again; a thread that pushes adds to `queued_` and then looks at
// `sleepers_`. Both are sequentially consistent, so one of the two sees the other: the
// sleeper finds the work, or the pusher wakes it (under the sleep mutex, which the
// sleeper holds from its count until it waits).
//
// Retries waiting out a backoff are kept by time, and moved to a deque when due.
#pragma once

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <vector>

namespace loom::detail {

template <class Item>
class work_queues {
 public:
  using clock = std::chrono::steady_clock;

  explicit work_queues(std::size_t threads) {
    for (std::size_t i = 0; i < std::max<std::size_t>(threads, 1); ++i) deques_.push_back(std::make_unique<deque>());
  }

  /// Makes the calling thread the owner of deque `slot` (a pool thread: 1, 2, ...).
  void adopt(std::size_t slot) {
    this_owner() = this;
    this_slot() = slot;
  }

  /// Queues items on the calling thread's deque and wakes sleeping threads for them.
  template <class Range>
  void push(const Range& items) {
    const std::size_t n = std::size(items);
    if (n == 0) return;
    deque& d = *deques_[slot()];
    {
      std::lock_guard lock(d.mutex);
      d.items.insert(d.items.end(), std::begin(items), std::end(items));
    }
    queued_.fetch_add(n, std::memory_order_seq_cst);
    if (sleepers_.load(std::memory_order_seq_cst) > 0) {
      std::lock_guard lock(sleep_mutex_);
      if (n == 1) {
        wakeup_.notify_one();
      } else {
        wakeup_.notify_all();
      }
    }
  }

  /// Queues an item once `due` has passed (a retry after its backoff).
  void push_at(clock::time_point due, const Item& item) {
    {
      std::lock_guard lock(sleep_mutex_);
      delayed_.emplace(due, item);
      has_delayed_.store(true, std::memory_order_release);
    }
    wakeup_.notify_all();
  }

  /// Runs items with `run` until `finished()` holds, sleeping when there are none.
  /// `finished` is also evaluated under the sleep mutex, so a thread that makes it true
  /// while holding that mutex (set_and_wake) wakes this one.
  template <class Finished, class Run, class DueNow>
  void work_until(Finished&& finished, Run&& run, DueNow&& due_now) {
    Item item;
    while (!finished()) {
      if (has_delayed_.load(std::memory_order_acquire)) release_delayed(due_now);
      if (pop(item)) {
        run(item);
        continue;
      }
      std::unique_lock lock(sleep_mutex_);
      sleepers_.fetch_add(1, std::memory_order_seq_cst);
      if (!finished() && queued_.load(std::memory_order_seq_cst) == 0) {
        if (delayed_.empty()) {
          wakeup_.wait(lock);
        } else {
          // A copy: the wait lets other threads erase the entry.
          const auto until = std::min(delayed_.begin()->first, clock::now() + std::chrono::milliseconds(50));
          wakeup_.wait_until(lock, until);
        }
      }
      sleepers_.fetch_sub(1, std::memory_order_seq_cst);
    }
  }

  /// Runs `set` under the sleep mutex, then wakes every sleeping thread: how a run's end
  /// reaches its caller, which may be asleep in work_until.
  template <class Set>
  void set_and_wake(Set&& set) {
    {
      std::lock_guard lock(sleep_mutex_);
      set();
    }
    wakeup_.notify_all();
  }

  /// Whether nothing is queued or waiting (for the pool's threads to stop). Takes no
  /// lock: it is a `finished` of work_until, which is also evaluated under the sleep
  /// mutex.
  [[nodiscard]] bool idle() const {
    return queued_.load(std::memory_order_seq_cst) == 0 && !has_delayed_.load(std::memory_order_acquire);
  }

 private:
  struct deque {
    std::mutex mutex;
    std::deque<Item> items;
  };

  static const work_queues*& this_owner() {
    static thread_local const work_queues* owner = nullptr;
    return owner;
  }
  static std::size_t& this_slot() {
    static thread_local std::size_t slot = 0;
    return slot;
  }
  /// The calling thread's deque: its own for a pool thread, 0 for any other.
  [[nodiscard]] std::size_t slot() const { return this_owner() == this ? this_slot() : 0; }

  /// The calling thread's newest item, else the oldest of another deque.
  bool pop(Item& out) {
    if (queued_.load(std::memory_order_relaxed) == 0) return false;
    const std::size_t mine = slot();
    {
      deque& d = *deques_[mine];
      std::lock_guard lock(d.mutex);
      if (!d.items.empty()) {
        out = d.items.back();
        d.items.pop_back();
        queued_.fetch_sub(1, std::memory_order_relaxed);
        return true;
      }
    }
    const std::size_t n = deques_.size();
    for (std::size_t k = 1; k < n; ++k) {
      deque& d = *deques_[(mine + k) % n];
      std::lock_guard lock(d.mutex);
      if (!d.items.empty()) {
        out = d.items.front();
        d.items.pop_front();
        queued_.fetch_sub(1, std::memory_order_relaxed);
        return true;
      }
    }
    return false;
  }

  /// Moves the retries whose time has come (or that `due_now` says need no wait) to the
  /// calling thread's deque.
  template <class DueNow>
  void release_delayed(DueNow&& due_now) {
    std::vector<Item> due;
    {
      std::lock_guard lock(sleep_mutex_);
      const auto now = clock::now();
      for (auto it = delayed_.begin(); it != delayed_.end();) {
        if (it->first <= now || due_now(it->second)) {
          due.push_back(it->second);
          it = delayed_.erase(it);
        } else {
          ++it;
        }
      }
      has_delayed_.store(!delayed_.empty(), std::memory_order_release);
    }
    push(due);
  }

  std::vector<std::unique_ptr<deque>> deques_;
  std::atomic<std::size_t> queued_{0};  // items in all the deques
  std::atomic<int> sleepers_{0};
  std::mutex sleep_mutex_;
  std::condition_variable wakeup_;
  std::multimap<clock::time_point, Item> delayed_;  // (under sleep_mutex_)
  std::atomic<bool> has_delayed_{false};
};

}  // namespace loom::detail
