// The scheduler's parts that make two threads faster than one on wide DAGs: the
// work-stealing deques (a thief takes half), large joins counted down in groups, a
// frame ended by its sinks, and finished work items counted off their run in batches.
#include "../src/work_queues.hpp"
#include "test_tasks.hpp"

#include <catch2/catch.hpp>

#include <loom/detail/graph.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <latch>
#include <numeric>
#include <thread>
#include <vector>

namespace {
using loom::promise;
using loom_test::add;

TEST_CASE("a thief takes the older half of another thread's deque at once", "[scheduler]") {
  loom::detail::work_queues<int> queues(2);
  std::vector<int> all(1000);
  std::iota(all.begin(), all.end(), 0);
  queues.push(all);  // from a thread that is not the pool's: deque 0

  std::vector<int> thief_got;
  std::thread thief([&] {
    queues.adopt(1);
    int item = -1;
    while (queues.try_pop(item)) thief_got.push_back(item);
  });
  thief.join();
  // Its first visit took items 0..499 (the older half) in one go: it ran 0, then 499
  // down to 1 from its own deque (newest first), without coming back to deque 0 while
  // its own had items; its next visit took the older half of 500..999.
  REQUIRE(thief_got.size() == 1000);
  CHECK(thief_got[0] == 0);
  CHECK(std::is_sorted(thief_got.begin() + 1, thief_got.begin() + 500, std::greater<>()));
  CHECK(thief_got[1] == 499);
  CHECK(thief_got[499] == 1);
  CHECK(thief_got[500] == 500);  // the next visit: the older half of 500..999

  // The owner of deque 0 takes its newest first.
  queues.push(all);
  int item = -1;
  REQUIRE(queues.try_pop(item));
  CHECK(item == 999);
}

TEST_CASE("work queues lose no item and no wake-up: 4 threads, bursts of 1..5,000 items", "[scheduler]") {
  loom::detail::work_queues<int> queues(4);
  std::atomic<std::int64_t> done{0};
  std::atomic<std::int64_t> sum{0};
  std::atomic<bool> stop{false};
  std::vector<std::thread> pool;
  for (std::size_t t = 1; t < 4; ++t) {
    pool.emplace_back([&, t] {
      queues.adopt(t);
      queues.work_until([&] { return stop.load() && queues.idle(); },
                        [&](int v) {
                          sum += v;
                          ++done;
                        },
                        [](int) { return false; }, [] {});
    });
  }
  std::int64_t expected_sum = 0;
  std::int64_t expected_count = 0;
  for (int burst = 0; burst < 200; ++burst) {
    std::vector<int> items(static_cast<std::size_t>(1 + (burst * 7919) % 5000), burst);
    expected_sum += static_cast<std::int64_t>(items.size()) * burst;
    expected_count += static_cast<std::int64_t>(items.size());
    queues.push(items);
    if (burst % 10 == 0) {  // sometimes wait for all: the pool goes to sleep, and must wake
      while (done.load() < expected_count) std::this_thread::yield();
    }
  }
  while (done.load() < expected_count) std::this_thread::yield();
  queues.set_and_wake([&] { stop = true; });
  for (auto& t : pool) t.join();
  CHECK(done.load() == expected_count);
  CHECK(sum.load() == expected_sum);
}

// A graph of `producers` one-output nodes, and one node reading them all.
loom::detail::graph join_graph(std::uint32_t producers) {
  using namespace loom::detail;
  graph g;
  for (std::uint32_t k = 0; k < producers; ++k) {
    graph_node n;
    n.output_count = 1;
    g.nodes.push_back(n);
  }
  graph_node join;
  join.first_input = 0;
  join.input_count = producers;
  join.output_count = 1;
  g.nodes.push_back(join);
  for (std::uint32_t k = 0; k < producers; ++k) g.bindings.push_back({source_kind::node_output, k, 0, 0});
  g.finalize();
  return g;
}

TEST_CASE("a join of 128 or more producers is counted down in groups of 64", "[scheduler]") {
  using loom::detail::graph;
  const graph small = join_graph(graph::join_grouped_from - 1);
  CHECK(small.grouped_joins.empty());
  CHECK(small.successor_groups.empty());

  const graph g = join_graph(300);
  REQUIRE(g.grouped_joins.size() == 1);
  CHECK(g.grouped_joins[0] == std::pair<std::uint32_t, std::uint32_t>{300, 5});
  CHECK(g.join_group_sizes == std::vector<std::uint32_t>{64, 64, 64, 64, 44});
  REQUIRE(g.successor_groups.size() == g.successors.size());
  for (std::uint32_t k = 0; k < 300; ++k) {
    const auto& n = g.nodes[k];
    REQUIRE(n.successor_count == 1);
    CHECK(g.successor_groups[n.first_successor] == k / 64);
  }
  CHECK(g.nodes[300].predecessor_count == 300);
}

constexpr auto identity = loom::task<"scheduler_test_identity">([](std::int64_t i) { return i; }).with_inputs("i");
constexpr auto total = loom::task<"scheduler_test_total">([](std::vector<std::int64_t> values) {
                         return std::accumulate(values.begin(), values.end(), std::int64_t{0});
                       }).with_inputs("values");

// n independent tasks, one join of all of them, and a chain after the join (its nodes
// are made ready by the join, on whichever thread counted the last group down).
constexpr auto wide_join = loom::dynamic<"scheduler_test_wide_join">([](loom::dynamic_builder& wf, std::int64_t n) {
                             std::vector<promise<std::int64_t>> parts;
                             for (std::int64_t i = 0; i < n; ++i) parts.push_back(wf(identity, i));
                             auto result = wf(total, parts);
                             for (int i = 0; i < 3; ++i) result = wf(add, result, 1);
                             return result;
                           }).with_inputs("n");

TEST_CASE("wide joins (127, 128, 129, 1,000 and 20,000 producers) give the right sum on 1 to 4 threads",
          "[scheduler]") {
  for (const std::size_t threads : {1, 2, 4}) {
    loom::executor ex({.threads = threads});
    for (const std::int64_t n : {127, 128, 129, 1000, 20000}) {
      for (int rep = 0; rep < 3; ++rep) {
        INFO(threads << " threads, " << n << " producers");
        CHECK(ex.run(wide_join, n) == n * (n - 1) / 2 + 3);
      }
    }
  }
}

// A task that runs a workflow on another executor, on the thread that runs it: that
// thread finishes items of two runs in turn, and must count each off its own run.
loom::executor* inner_executor = nullptr;
constexpr auto run_inner = loom::task<"scheduler_test_run_inner">([](std::int64_t n) {
                             return inner_executor->run(wide_join, n);
                           }).with_inputs("n");
constexpr auto nested_runs = loom::dynamic<"scheduler_test_nested_runs">([](loom::dynamic_builder& wf, std::int64_t n) {
                               std::vector<promise<std::int64_t>> parts;
                               for (std::int64_t i = 0; i < 8; ++i) parts.push_back(wf(run_inner, n + i));
                               return wf(total, parts);
                             }).with_inputs("n");

TEST_CASE("runs nested in tasks (another executor, on the same threads) all end", "[scheduler]") {
  loom::executor inner({.threads = 2});
  inner_executor = &inner;
  loom::executor outer({.threads = 2});
  std::int64_t expected = 0;
  for (std::int64_t i = 0; i < 8; ++i) expected += (200 + i) * (199 + i) / 2 + 3;
  for (int rep = 0; rep < 10; ++rep) CHECK(outer.run(nested_runs, std::int64_t{200}) == expected);
}

// Callers share deque 0 and run each other's items. A caller whose run is over returns
// at once; if it kept another run's finished items uncounted, that run would wait for a
// thread that runs nothing more (here: one that waits for the other caller's result, on
// an executor with no threads of its own: a hang). The watchdog turns a hang into a
// failure.
TEST_CASE("a caller whose run is over leaves no other caller's run waiting", "[scheduler]") {
  std::atomic<bool> done{false};
  std::thread watchdog([&] {
    for (int i = 0; i < 1200 && !done.load(); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(50));
    if (!done.load()) {
      std::fprintf(stderr, "a caller's run did not end within 60 s (finished items left uncounted)\n");
      std::abort();
    }
  });
  for (int round = 0; round < 20; ++round) {
    loom::executor ex({.threads = 1});  // no pool thread: only the callers run items
    std::latch both_over(2);
    std::atomic<int> wrong{0};
    auto caller = [&](std::int64_t n) {
      if (ex.run(wide_join, n) != n * (n - 1) / 2 + 3) ++wrong;
      both_over.arrive_and_wait();  // runs nothing until the other run is over too
    };
    std::thread a(caller, std::int64_t{3000});
    std::thread b(caller, std::int64_t{2000});
    a.join();
    b.join();
    CHECK(wrong.load() == 0);
  }
  done = true;
  watchdog.join();
}

}  // namespace
