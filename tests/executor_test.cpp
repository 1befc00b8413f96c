// The local executor: parallelism, failures, nesting, thread counts.
#include "test_tasks.hpp"

#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <thread>

namespace {
using namespace loom_test;
using loom::promise;

std::atomic<int> running{0};
std::atomic<int> peak{0};
std::atomic<int> started{0};

// Waits until `n` tasks run at the same time (or a time-out): proves concurrency
// without timing assumptions.
constexpr auto rendezvous = loom::task<"rendezvous">([](std::int64_t n) {
  ++started;
  const int now = ++running;
  int seen = peak.load();
  while (now > seen && !peak.compare_exchange_weak(seen, now)) {
  }
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (peak.load() < n && std::chrono::steady_clock::now() < deadline) std::this_thread::yield();
  --running;
  return std::int64_t{1};
});

constexpr auto two_independent = loom::workflow<"two_independent">([](auto& wf, promise<std::int64_t> n) {
  return wf(add, wf(rendezvous, n), wf(rendezvous, n));
});

constexpr auto slow = loom::task<"slow">([](std::int64_t ms) {
  ++started;
  std::this_thread::sleep_for(std::chrono::milliseconds(ms));
  return ms;
});

constexpr auto fail_then_more = loom::workflow<"fail_then_more">([](auto& wf, promise<std::int64_t> ms) {
  auto failed = wf(fail_with, "task exploded");
  auto after_failure = wf(slow, wf(add, failed, ms));  // must never start
  auto independent = wf(slow, ms);                     // may be running already: finishes
  return wf(add, after_failure, independent);
});

constexpr auto inner_failure = loom::workflow<"inner_failure">([](auto& wf, promise<std::int64_t> x) {
  return wf(add, x, wf(fail_with, "deep"));
});
constexpr auto outer_failure = loom::workflow<"outer_failure">([](auto& wf, promise<std::int64_t> x) {
  auto first = wf(add, x, 1);
  return wf(inner_failure, first);
});

template <std::size_t N>
constexpr auto make_chain() {
  return loom::workflow<"chain">([](auto& wf, promise<std::int64_t> x) {
    for (std::size_t i = 0; i < N; ++i) x = wf(add, x, 1);
    return x;
  });
}
constexpr auto chain = make_chain<100>();
static_assert(loom::plan_of(chain).size() == 100);

}  // namespace

TEST_CASE("independent nodes run concurrently", "[executor]") {
  loom::executor ex({.threads = 2});
  peak = 0;
  CHECK(ex.run(two_independent, 2) == 2);
  CHECK(peak.load() == 2);
}

TEST_CASE("one thread runs everything on the caller", "[executor]") {
  loom::executor ex({.threads = 1});
  CHECK(ex.thread_count() == 1);
  CHECK(ex.run(chain, 0) == 100);
  CHECK(ex.run(add, 2, 3) == 5);
}

TEST_CASE("the default thread count is the hardware concurrency", "[executor]") {
  loom::executor ex;
  const auto hw = std::thread::hardware_concurrency();
  CHECK(ex.thread_count() == (hw == 0 ? 1 : hw));
}

TEST_CASE("a failing task fails the run with its node, task and message", "[executor]") {
  loom::executor ex({.threads = 2});
  started = 0;
  try {
    ex.run(fail_then_more, 50);
    FAIL("the run should have failed");
  } catch (const loom::task_failed& e) {
    CHECK(e.node_path() == "n0");
    CHECK(e.task_name() == "fail_with");
    CHECK(e.original_message() == "task exploded");
    CHECK(std::string(e.what()).find("task exploded") != std::string::npos);
  }
  // Only the independent slow node may have started; the one after the failure never does.
  CHECK(started.load() <= 1);
  // The executor is still usable afterwards: nothing hangs, nothing leaks into the next run.
  CHECK(ex.run(chain, 1) == 101);
}

TEST_CASE("a failure inside a nested workflow names the full node path", "[executor]") {
  loom::executor ex({.threads = 2});
  try {
    ex.run(outer_failure, 1);
    FAIL("the run should have failed");
  } catch (const loom::task_failed& e) {
    CHECK(e.node_path() == "n1/n0");  // inner: fail_with is recorded before add
    CHECK(e.task_name() == "fail_with");
    CHECK(e.original_message() == "deep");
  }
}

TEST_CASE("failures are std::exceptions", "[executor]") {
  CHECK_THROWS_AS(outer_failure(1), std::exception);
  CHECK_THROWS_WITH(outer_failure(1), Catch::Contains("deep") && Catch::Contains("fail_with"));
}

TEST_CASE("many runs in parallel on one executor do not interfere", "[executor]") {
  loom::executor ex({.threads = 2});
  std::vector<std::thread> callers;
  std::atomic<int> wrong{0};
  for (int t = 0; t < 4; ++t) {
    callers.emplace_back([&, t] {
      for (int i = 0; i < 50; ++i) {
        if (ex.run(chain, t * 1000 + i) != t * 1000 + i + 100) ++wrong;
      }
    });
  }
  for (auto& c : callers) c.join();
  CHECK(wrong.load() == 0);
}

TEST_CASE("an executor stops its threads at once, however busy they were (500 executors of 4 threads)",
          "[executor]") {
  // The pool's threads stop when they find nothing to do; each one looks under the
  // scheduler's sleep mutex (a lock taken twice there once hung ~executor).
  const auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < 500; ++i) {
    loom::executor ex({.threads = 4});
    CHECK(ex.run(two_independent, 1) == 2);
  }
  CHECK(std::chrono::steady_clock::now() - start < std::chrono::seconds(60));
}
