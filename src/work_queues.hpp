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
// A thief takes half of the other deque (the oldest half) at once, not one item: when
// one thread makes many nodes ready (a dynamic node's 100,000 independent tasks), the
// other takes its share in one visit and both then work from their own deques, instead
// of meeting at one deque's lock for every node.
//
// Each deque publishes its size in an atomic of its own cache line; there is no shared
// count of queued items that every push and pop would write (that one line, written by
// both threads for every node, cost more than the nodes of a wide DAG of 1 µs tasks).
//
// Sleeping without lost wake-ups: a thread about to sleep counts itself in `sleepers_`
// and looks at every deque's size again; a thread that pushes stores its deque's size
// and then looks at `sleepers_`. Both are sequentially consistent, so one of the two sees
// the other: the sleeper finds the work, or the pusher wakes it (under the sleep mutex,
// which the sleeper holds from its count until it waits).
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
      d.size.store(d.items.size(), std::memory_order_seq_cst);
    }
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
  /// `out_of_work()` is called each time there is nothing to run, before sleeping.
  template <class Finished, class Run, class DueNow, class OutOfWork>
  void work_until(Finished&& finished, Run&& run, DueNow&& due_now, OutOfWork&& out_of_work) {
    Item item;
    while (!finished()) {
      if (has_delayed_.load(std::memory_order_acquire)) release_delayed(due_now);
      if (try_pop(item)) {
        run(item);
        continue;
      }
      out_of_work();
      std::unique_lock lock(sleep_mutex_);
      sleepers_.fetch_add(1, std::memory_order_seq_cst);
      if (!finished() && nothing_queued()) {
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

  /// Something changed that may make waiting items due before their time (a run
  /// failed): the next release_delayed asks `due_now` of each.
  void expedite_delayed() {
    expedite_.store(true, std::memory_order_release);
    wakeup_.notify_all();
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
  [[nodiscard]] bool idle() const { return nothing_queued() && !has_delayed_.load(std::memory_order_acquire); }

  /// The calling thread's newest item, else the oldest of another deque, taking the
  /// older half of that deque with it (onto the caller's own deque). False: none queued.
  bool try_pop(Item& out) {
    const std::size_t mine = slot();
    deque& own = *deques_[mine];
    if (own.size.load(std::memory_order_relaxed) != 0) {
      std::lock_guard lock(own.mutex);
      if (!own.items.empty()) {
        out = own.items.back();
        own.items.pop_back();
        own.size.store(own.items.size(), std::memory_order_relaxed);
        return true;
      }
    }
    const std::size_t n = deques_.size();
    for (std::size_t k = 1; k < n; ++k) {
      deque& victim = *deques_[(mine + k) % n];
      if (victim.size.load(std::memory_order_relaxed) == 0) continue;
      std::vector<Item> taken;
      {
        std::lock_guard lock(victim.mutex);
        if (victim.items.empty()) continue;
        const std::size_t count = (victim.items.size() + 1) / 2;
        out = victim.items.front();
        taken.assign(victim.items.begin() + 1, victim.items.begin() + static_cast<std::ptrdiff_t>(count));
        victim.items.erase(victim.items.begin(), victim.items.begin() + static_cast<std::ptrdiff_t>(count));
        victim.size.store(victim.items.size(), std::memory_order_relaxed);
      }
      if (!taken.empty()) {
        {
          std::lock_guard lock(own.mutex);
          own.items.insert(own.items.end(), taken.begin(), taken.end());
          own.size.store(own.items.size(), std::memory_order_seq_cst);
        }
        // A thread that went to sleep while the taken items were in no deque (more than
        // two threads) is woken for them, as for a push.
        if (sleepers_.load(std::memory_order_seq_cst) > 0) {
          std::lock_guard lock(sleep_mutex_);
          wakeup_.notify_one();
        }
      }
      return true;
    }
    return false;
  }

 private:
  struct alignas(64) deque {  // a cache line of its own: the owner writes it for every node
    std::mutex mutex;
    std::deque<Item> items;
    std::atomic<std::size_t> size{0};  // items.size(), readable without the mutex
  };

  [[nodiscard]] bool nothing_queued() const {
    for (const auto& d : deques_) {
      if (d->size.load(std::memory_order_seq_cst) != 0) return false;
    }
    return true;
  }

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

  /// Moves the retries whose time has come to the calling thread's deque; after
  /// expedite_delayed(), also those that `due_now` says need no wait. (Only the due
  /// ones are looked at otherwise: a run with a thousand jobs being polled has a
  /// thousand items waiting here.)
  template <class DueNow>
  void release_delayed(DueNow&& due_now) {
    std::vector<Item> due;
    {
      std::lock_guard lock(sleep_mutex_);
      const auto now = clock::now();
      const bool all = expedite_.exchange(false, std::memory_order_acq_rel);
      for (auto it = delayed_.begin(); it != delayed_.end();) {
        if (it->first <= now || (all && due_now(it->second))) {
          due.push_back(it->second);
          it = delayed_.erase(it);
        } else if (!all) {
          break;  // (in time order: the rest are later)
        } else {
          ++it;
        }
      }
      has_delayed_.store(!delayed_.empty(), std::memory_order_release);
    }
    push(due);
  }

  std::vector<std::unique_ptr<deque>> deques_;
  std::atomic<int> sleepers_{0};
  std::mutex sleep_mutex_;
  std::condition_variable wakeup_;
  std::multimap<clock::time_point, Item> delayed_;  // (under sleep_mutex_)
  std::atomic<bool> has_delayed_{false};
  std::atomic<bool> expedite_{false};
};

}  // namespace loom::detail
