// Retries with backoff, timeouts and caching (loom/policy.hpp), on the thread backend,
// with and without a recorded store.
#include <loom/loom.hpp>
#include <loom/state_store.hpp>
#include <loom/object_store.hpp>

#include <catch2/catch.hpp>

#include "test_files.hpp"

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <vector>

namespace {

namespace fs = std::filesystem;
using loom_test::scratch_dir;
using loom_test::slurp;
using loom_test::spit;
using namespace std::chrono_literals;
using ms = std::chrono::milliseconds;

// ---- Retries ----
std::atomic<int> flaky_calls{0};
std::atomic<int> flaky_failures{0};  // how many calls fail before one succeeds

inline constexpr auto flaky = loom::task<"policy_flaky">([](std::int64_t x) -> std::int64_t {
                                const int call = ++flaky_calls;
                                if (call <= flaky_failures.load()) throw std::runtime_error("flaky failure " + std::to_string(call));
                                return x * 2;
                              })
                                  .with_inputs("x")
                                  .with_retries(3, {.initial = ms(40), .multiplier = 2.0, .max = ms(1000)});

std::mutex order_mutex;
std::vector<std::string> order;
inline constexpr auto note = loom::task<"policy_note">([](std::string what) -> std::string {
                               std::lock_guard lock(order_mutex);
                               order.push_back(what);
                               return what;
                             }).with_inputs("what");

inline constexpr auto flaky_and_other = loom::workflow<"policy_flaky_and_other">(
    [](auto& wf, loom::promise<std::int64_t> x) { return std::tuple(wf(flaky, x), wf(note, "independent")); });

// ---- Timeouts ----
std::atomic<int> slow_calls{0};
inline constexpr auto slow = loom::task<"policy_slow">([](std::int64_t sleep_ms) -> std::int64_t {
                               ++slow_calls;
                               std::this_thread::sleep_for(ms(sleep_ms));
                               return sleep_ms;
                             })
                                 .with_inputs("sleep_ms")
                                 .with_timeout(ms(150))
                                 .with_retries(1, {.initial = ms(1)});

// ---- Caching ----
std::atomic<int> square_calls{0};
inline constexpr auto square = loom::task<"policy_square">([](std::int64_t x) -> std::int64_t {
                                 ++square_calls;
                                 return x * x;
                               })
                                   .with_inputs("x")
                                   .with_cache();

std::atomic<int> body_calls{0};
std::atomic<int> body_failures{0};
inline constexpr auto squares = loom::dynamic<"policy_squares">([](loom::dynamic_builder& wf, std::int64_t n) {
                                  if (++body_calls <= body_failures.load()) throw std::runtime_error("body failure");
                                  std::vector<loom::promise<std::int64_t>> out;
                                  for (std::int64_t i = 0; i < n; ++i) out.push_back(wf(square, i));
                                  return out;
                                })
                                    .with_inputs("n")
                                    .with_cache()
                                    .with_retries(2, {.initial = ms(1)});

// A dynamic node whose sub-DAG fails: its retries do not run the body again.
std::atomic<int> fragile_body_calls{0};
inline constexpr auto always_fails = loom::task<"policy_always_fails">([](std::int64_t) -> std::int64_t {
                                       throw std::runtime_error("inner task failed");
                                     }).with_inputs("x");
inline constexpr auto fragile = loom::dynamic<"policy_fragile">([](loom::dynamic_builder& wf, std::int64_t x) {
                                  ++fragile_body_calls;
                                  return wf(always_fails, x);
                                })
                                    .with_inputs("x")
                                    .with_retries(3, {.initial = ms(1)});

void reset() {
  flaky_calls = 0;
  flaky_failures = 0;
  slow_calls = 0;
  square_calls = 0;
  body_calls = 0;
  body_failures = 0;
  fragile_body_calls = 0;
  std::lock_guard lock(order_mutex);
  order.clear();
}

const loom::node_record& node_at(const std::vector<loom::node_record>& nodes, const std::string& path) {
  for (const auto& n : nodes) {
    if (n.path == path) return n;
  }
  FAIL("no node " << path);
  return nodes.front();
}

}  // namespace

TEST_CASE("policy: backoff delays grow by the multiplier up to the maximum") {
  constexpr loom::backoff b{.initial = ms(100), .multiplier = 3.0, .max = ms(1000)};
  static_assert(b.delay(1) == ms(100));
  static_assert(b.delay(2) == ms(300));
  static_assert(b.delay(3) == ms(900));
  static_assert(b.delay(4) == ms(1000));
  static_assert(flaky.policy().retries == 3 && !flaky.policy().cache && flaky.policy().timeout == ms(0));
  static_assert(slow.policy().timeout == ms(150) && slow.policy().retries == 1);
  static_assert(square.policy().cache && square.policy().plain());
  CHECK(b.delay(40) == ms(1000));
}

TEST_CASE("policy: a failing task is retried after its backoff, without holding the only thread") {
  reset();
  flaky_failures = 2;
  loom::executor ex({.threads = 1});
  const auto start = std::chrono::steady_clock::now();
  const auto [doubled, other] = ex.run(flaky_and_other, std::int64_t{21});
  const auto took = std::chrono::steady_clock::now() - start;
  CHECK(doubled == 42);
  CHECK(other == "independent");
  CHECK(flaky_calls == 3);
  CHECK(took >= ms(40 + 80));  // two backoffs
  // The independent node ran while the flaky one waited, on the executor's one thread.
  std::lock_guard lock(order_mutex);
  CHECK(order == std::vector<std::string>{"independent"});
}

TEST_CASE("policy: when the retries run out, the node fails with the last attempt's error") {
  reset();
  flaky_failures = 100;
  loom::executor ex({.threads = 2});
  CHECK_THROWS_WITH(ex.run(flaky, std::int64_t{1}),
                    Catch::Contains("node n0 (task 'policy_flaky') failed: flaky failure 4"));
  CHECK(flaky_calls == 4);  // 1 + 3 retries
}

TEST_CASE("policy: attempts are recorded in the state store") {
  reset();
  flaky_failures = 2;
  scratch_dir dir("policy-test");
  loom::object_store store(dir.path);
  loom::executor ex({.threads = 2});
  loom::run_options o;
  o.store = &store;
  o.execution_id = "retried";
  CHECK(ex.run(o, flaky, std::int64_t{5}) == 10);
  loom::state_store states(loom::state_store::default_path(store.root()));
  const auto nodes = states.nodes("retried");
  const auto& n0 = node_at(nodes, "n0");
  CHECK(n0.attempts == 3);
  CHECK(n0.phase == loom::node_phase::succeeded);
  CHECK(n0.error.empty());

  flaky_failures = 100;
  flaky_calls = 0;
  o.execution_id = "exhausted";
  CHECK_THROWS(ex.run(o, flaky, std::int64_t{5}));
  const auto failed = node_at(states.nodes("exhausted"), "n0");
  CHECK(failed.attempts == 4);
  CHECK(failed.phase == loom::node_phase::failed);
  CHECK(failed.error == "flaky failure 4");
  CHECK(states.execution("exhausted")->status == "failed");
}

TEST_CASE("policy: an attempt over its timeout fails, and the run does not wait for it") {
  reset();
  loom::executor ex({.threads = 2});
  CHECK(ex.run(slow, std::int64_t{10}) == 10);  // well within its time
  slow_calls = 0;
  const auto start = std::chrono::steady_clock::now();
  CHECK_THROWS_WITH(ex.run(slow, std::int64_t{3000}),
                    Catch::Contains("node n0 (task 'policy_slow') failed: timed out after 150 ms"));
  const auto took = std::chrono::steady_clock::now() - start;
  CHECK(slow_calls == 2);  // retried once, timed out twice
  CHECK(took < ms(2500));  // not the 3 s the attempts would take
  CHECK(took >= ms(300));
}

TEST_CASE("policy: a cached task runs once per input across executions in one store") {
  reset();
  scratch_dir dir("policy-test");
  loom::object_store store(dir.path);
  loom::executor ex({.threads = 2});
  loom::run_options o;
  o.store = &store;
  o.execution_id = "first";
  CHECK(ex.run(o, square, std::int64_t{7}) == 49);
  CHECK(square_calls == 1);
  o.execution_id = "second";
  CHECK(ex.run(o, square, std::int64_t{7}) == 49);
  CHECK(square_calls == 1);  // from the cache
  loom::state_store states(loom::state_store::default_path(store.root()));
  const auto hit = node_at(states.nodes("second"), "n0");
  CHECK(hit.phase == loom::node_phase::cached);
  CHECK(hit.outputs.rfind("cache/", 0) == 0);
  CHECK(hit.attempts == 0);
  o.execution_id = "other-input";
  CHECK(ex.run(o, square, std::int64_t{8}) == 64);
  CHECK(square_calls == 2);
  o.execution_id = "overwrite";
  o.overwrite_cache = true;
  CHECK(ex.run(o, square, std::int64_t{7}) == 49);
  CHECK(square_calls == 3);
  // Without a store there is no cache.
  CHECK(ex.run(square, std::int64_t{7}) == 49);
  CHECK(square_calls == 4);
}

TEST_CASE("policy: a damaged cache entry is reported and not used") {
  reset();
  scratch_dir dir("policy-test");
  loom::object_store store(dir.path);
  loom::executor ex({.threads = 2});
  loom::run_options o;
  o.store = &store;
  std::vector<std::string> warnings;
  o.warn = [&](const std::string& w) { warnings.push_back(w); };
  o.execution_id = "fill";
  CHECK(ex.run(o, square, std::int64_t{9}) == 81);
  std::string cached_file;
  for (const auto& e : fs::directory_iterator(dir.path / "cache")) {
    if (e.path().extension() == ".json") cached_file = e.path().string();  // (not its .sha256 beside it)
  }
  REQUIRE(!cached_file.empty());
  {
    std::ifstream in(cached_file, std::ios::binary);
    std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    bytes[bytes.size() - 3] = '7';  // {"o0":81} -> {"o0":71}
    std::ofstream(cached_file, std::ios::binary | std::ios::trunc) << bytes;
  }
  o.execution_id = "after-damage";
  CHECK(ex.run(o, square, std::int64_t{9}) == 81);
  CHECK(square_calls == 2);  // ran again
  REQUIRE(warnings.size() == 1);
  CHECK_THAT(warnings[0], Catch::Contains("policy_square") && Catch::Contains("checksum mismatch") &&
                              Catch::Contains("cache/"));
}

TEST_CASE("policy: a cached dynamic node skips its body and its whole sub-DAG") {
  reset();
  scratch_dir dir("policy-test");
  loom::object_store store(dir.path);
  loom::executor ex({.threads = 2});
  loom::run_options o;
  o.store = &store;
  o.execution_id = "first";
  const std::vector<std::int64_t> expected = {0, 1, 4, 9, 16};
  CHECK(ex.run(o, squares, std::int64_t{5}) == expected);
  CHECK(body_calls == 1);
  CHECK(square_calls == 5);
  o.execution_id = "second";
  CHECK(ex.run(o, squares, std::int64_t{5}) == expected);
  CHECK(body_calls == 1);
  CHECK(square_calls == 5);
  loom::state_store states(loom::state_store::default_path(store.root()));
  const auto nodes = states.nodes("second");
  CHECK(nodes.size() == 1);  // n0 only: nothing of its sub-DAG ran
  CHECK(node_at(nodes, "n0").phase == loom::node_phase::cached);
  // A bigger input: the body runs, and its tasks come from their own cache entries.
  o.execution_id = "third";
  CHECK(ex.run(o, squares, std::int64_t{6}) == std::vector<std::int64_t>{0, 1, 4, 9, 16, 25});
  CHECK(body_calls == 2);
  CHECK(square_calls == 6);
}

TEST_CASE("policy: a dynamic node's retries re-run a failing body, not a failing sub-DAG") {
  reset();
  loom::executor ex({.threads = 2});
  body_failures = 2;
  CHECK(ex.run(squares, std::int64_t{3}) == std::vector<std::int64_t>{0, 1, 4});
  CHECK(body_calls == 3);
  CHECK_THROWS_WITH(ex.run(fragile, std::int64_t{1}),
                    Catch::Contains("node n0/dn0 (task 'policy_always_fails') failed: inner task failed"));
  CHECK(fragile_body_calls == 1);
}

TEST_CASE("policy: a failure inside a dynamic node's sub-DAG ends the dynamic node's row as failed too") {
  reset();
  scratch_dir dir("policy-test");
  loom::object_store store(dir.path);
  loom::executor ex({.threads = 2});
  loom::run_options o;
  o.store = &store;
  o.execution_id = "inner-failure";
  CHECK_THROWS(ex.run(o, fragile, std::int64_t{1}));
  loom::state_store states(loom::state_store::default_path(store.root()));
  const auto nodes = states.nodes("inner-failure");
  const auto& inner = node_at(nodes, "n0/dn0");
  CHECK(inner.phase == loom::node_phase::failed);
  CHECK(inner.error == "inner task failed");
  const auto& outer = node_at(nodes, "n0");
  CHECK(outer.phase == loom::node_phase::failed);
  CHECK(outer.error == "node n0/dn0 inside it failed");
  CHECK(outer.ended_us >= outer.started_us);
  CHECK(states.execution("inner-failure")->status == "failed");
}
