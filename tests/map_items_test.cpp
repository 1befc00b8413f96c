// A map node's items in a recorded run: one item row in the state store (packed phases,
// attempts and errors), the outputs of finished items kept as they finish, and a resume
// that runs only the items a run before did not finish.
#include <loom/loom.hpp>
#include <loom/state_store.hpp>
#include <loom/object_store.hpp>

#include <catch2/catch.hpp>

#include <array>
#include <atomic>
#include <cstdint>
#include <filesystem>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <unistd.h>

namespace {

using loom::promise;
using ints = std::vector<std::int64_t>;

std::array<std::atomic<int>, 64> runs_of{};  // how often each item ran
std::atomic<std::int64_t> failing_item{-1};   // the item that fails (-1: none)
std::atomic<int> flaky_left{0};               // failures left before mi_flaky succeeds

constexpr auto mi_tenfold = loom::task<"mi_tenfold">([](std::int64_t x) {
  ++runs_of[static_cast<std::size_t>(x)];
  if (x == failing_item.load()) throw std::runtime_error("item " + std::to_string(x) + " broke");
  return x * 10;
});
constexpr auto mi_flaky = loom::task<"mi_flaky">([](std::int64_t x) {
  if (x == 1 && flaky_left.fetch_sub(1) > 0) throw std::runtime_error("not yet");
  if (x == 3) throw std::runtime_error("never");
  return x;
}).with_retries(2);

// One item at a time (concurrency 1), so that the items before the failing one are done.
constexpr auto tenfold_all = loom::workflow<"mi_tenfold_all">([](auto& wf, promise<ints> xs) {
  return wf.map(mi_tenfold, xs, loom::map_options{.concurrency = 1});
});
std::atomic<int> cached_runs{0};
constexpr auto mi_cached_square = loom::task<"mi_cached_square">([](std::int64_t x) {
  ++cached_runs;
  return x * x;
}).with_cache();
constexpr auto cached_squares = loom::workflow<"mi_cached_squares">([](auto& wf, promise<ints> xs) {
  return wf.map(mi_cached_square, xs);
});
constexpr auto cached_partial = loom::workflow<"mi_cached_partial">([](auto& wf, promise<ints> xs) {
  return wf.map(mi_cached_square, xs, loom::partial_map_options{});
});

// A map that is running when another node fails the run.
std::atomic<bool> map_started{false};
constexpr auto mi_slow = loom::task<"mi_slow">([](std::int64_t x) {
  map_started = true;
  std::this_thread::sleep_for(std::chrono::milliseconds(5));
  return x;
});
constexpr auto mi_fails_once_map_runs = loom::task<"mi_fails_once_map_runs">([](std::int64_t x) -> std::int64_t {
  while (!map_started) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  throw std::runtime_error("failed elsewhere: " + std::to_string(x));
});
constexpr auto map_beside_failure = loom::workflow<"mi_map_beside_failure">([](auto& wf, promise<ints> xs) {
  return std::tuple{wf.map(mi_slow, xs, loom::map_options{.concurrency = 1}), wf(mi_fails_once_map_runs, 7)};
});

constexpr auto flaky_all = loom::dynamic<"mi_flaky_all">([](loom::dynamic_builder& wf, ints xs) {
  return wf.map(mi_flaky, xs, loom::partial_map_options{.min_success_ratio = 0.5});
});

struct store_dir {
  std::filesystem::path path = std::filesystem::temp_directory_path() /
                               ("loom-map-items-test-" + std::to_string(::getpid()));
  store_dir() { std::filesystem::remove_all(path); }
  ~store_dir() { std::filesystem::remove_all(path); }
};

/// A store of its own, and the options of a run recorded in it as `id`.
struct recorded {
  store_dir dir;
  loom::object_store store{dir.path};
  loom::run_options options;
  explicit recorded(std::string id) {
    options.store = &store;
    options.execution_id = std::move(id);
  }
  [[nodiscard]] loom::state_store states() const { return loom::state_store(loom::state_store::default_path(store.root())); }
};

ints range(std::int64_t n) {
  ints out;
  for (std::int64_t i = 0; i < n; ++i) out.push_back(i);
  return out;
}

}  // namespace

TEST_CASE("map items: a resumed map runs only the items not done before", "[map][resume]") {
  recorded run("halfway");
  auto& [dir, store, options] = run;
  loom::executor ex({.threads = 2});
  options.map_checkpoint_interval = std::chrono::milliseconds(0);  // keep every item as it finishes
  for (auto& r : runs_of) r = 0;
  failing_item = 12;
  CHECK_THROWS_WITH(ex.run(options, tenfold_all, range(20)), Catch::Contains("map item 12 of 20 failed: item 12 broke"));

  loom::state_store states = run.states();
  const auto rows = states.map_items("halfway");
  REQUIRE(rows.size() == 1);
  CHECK(rows[0].path == "n0");
  CHECK(rows[0].length == 20);
  CHECK(rows[0].succeeded == 12);
  CHECK(rows[0].failed == 1);
  CHECK(rows[0].phases.size() == 5);  // 20 items, 2 bits each
  for (std::size_t k = 0; k < 12; ++k) CHECK(rows[0].phase(k) == loom::map_items_record::succeeded_item);
  CHECK(rows[0].phase(12) == loom::map_items_record::failed_item);
  for (std::size_t k = 13; k < 20; ++k) CHECK(rows[0].phase(k) == loom::map_items_record::not_done);
  CHECK(loom::json::parse(rows[0].errors) == loom::json{{"12", "item 12 broke"}});

  failing_item = -1;
  options.resume = true;
  const ints out = ex.run(options, tenfold_all, range(20));
  CHECK(out.size() == 20);
  for (std::int64_t k = 0; k < 20; ++k) CHECK(out[static_cast<std::size_t>(k)] == k * 10);
  for (std::size_t k = 0; k < 12; ++k) CHECK(runs_of[k] == 1);  // kept: not run again
  CHECK(runs_of[12] == 2);                                      // failed before: runs again
  for (std::size_t k = 13; k < 20; ++k) CHECK(runs_of[k] == 1);  // never reached before
  const auto after = states.map_items("halfway");
  REQUIRE(after.size() == 1);
  CHECK(after[0].succeeded == 20);
  CHECK(after[0].failed == 0);
}

TEST_CASE("map items: a damaged record of kept items is reported and its items run again", "[map][resume]") {
  recorded run("damaged");
  auto& [dir, store, options] = run;
  loom::executor ex({.threads = 1});
  options.map_checkpoint_interval = std::chrono::milliseconds(0);
  for (auto& r : runs_of) r = 0;
  failing_item = 3;
  CHECK_THROWS(ex.run(options, tenfold_all, range(5)));
  // Items 0, 1 and 2 were kept, one record each; item 1's is damaged.
  const auto keys = store.list("damaged/n0/items");
  REQUIRE(keys.size() == 3);
  store.put("damaged/n0/items/1.json", R"({"items": [1], "o0": ["ten"]})");
  std::vector<std::string> warnings;
  options.warn = [&](const std::string& w) { warnings.push_back(w); };
  options.resume = true;
  failing_item = -1;
  CHECK(ex.run(options, tenfold_all, range(5)) == ints{0, 10, 20, 30, 40});
  REQUIRE(warnings.size() == 1);
  CHECK_THAT(warnings[0], Catch::Contains("damaged/n0/items/1.json, is not used") && Catch::Contains("o0"));
  CHECK(runs_of[0] == 1);
  CHECK(runs_of[1] == 2);  // its record was not used
  CHECK(runs_of[2] == 1);
}

TEST_CASE("map items: a partial map's row has each failed item's error and the retried items' attempts",
          "[map][resume]") {
  recorded run("partial");
  auto& [dir, store, options] = run;
  loom::executor ex({.threads = 2});
  flaky_left = 1;  // item 1 fails once, then succeeds
  const auto out = ex.run(options, flaky_all, range(5));
  CHECK(out == std::vector<std::optional<std::int64_t>>{0, 1, 2, std::nullopt, 4});
  loom::state_store states = run.states();
  const auto rows = states.map_items("partial");
  REQUIRE(rows.size() == 1);
  CHECK(rows[0].path == "n0/dn0");
  CHECK(rows[0].succeeded == 4);
  CHECK(rows[0].failed == 1);
  CHECK(rows[0].phase(3) == loom::map_items_record::failed_item);
  CHECK(loom::json::parse(rows[0].errors) == loom::json{{"3", "never"}});
  CHECK(loom::json::parse(rows[0].attempts) == loom::json{{"1", 2}, {"3", 3}});
  // A quick map keeps no item records: its outputs are kept whole when it ends.
  CHECK(store.list("partial/n0/dn0/items").empty());
}

TEST_CASE("map items: a map of a cached task is cached whole, by its lists and options", "[map][cache]") {
  recorded run("first");
  auto& [dir, store, options] = run;
  loom::executor ex({.threads = 2});
  cached_runs = 0;
  options.execution_id = "first";
  CHECK(ex.run(options, cached_squares, ints{1, 2, 3}) == ints{1, 4, 9});
  CHECK(cached_runs == 3);
  options.execution_id = "second";  // another execution: the cache has it
  CHECK(ex.run(options, cached_squares, ints{1, 2, 3}) == ints{1, 4, 9});
  CHECK(cached_runs == 3);
  loom::state_store states = run.states();
  const auto nodes = states.nodes("second");
  REQUIRE(nodes.size() == 1);
  CHECK(nodes[0].phase == loom::node_phase::cached);
  options.execution_id = "third";  // other lists: not the same entry
  CHECK(ex.run(options, cached_squares, ints{1, 2}) == ints{1, 4});
  CHECK(cached_runs == 5);
  options.execution_id = "fourth";  // a partial map of the same lists: not the same entry
  CHECK(ex.run(options, cached_partial, ints{1, 2, 3}) == std::vector<std::optional<std::int64_t>>{1, 4, 9});
  CHECK(cached_runs == 8);
}

TEST_CASE("map items: a map stopped by a failure elsewhere is recorded as aborted, with what it finished",
          "[map][resume]") {
  recorded run("stopped");
  auto& [dir, store, options] = run;
  loom::executor ex({.threads = 2});
  map_started = false;
  CHECK_THROWS_WITH(ex.run(options, map_beside_failure, range(60)), Catch::Contains("failed elsewhere: 7"));
  loom::state_store states = run.states();
  std::optional<loom::node_record> map_row;
  for (const auto& n : states.nodes("stopped")) {
    if (n.path == "n0") map_row = n;
  }
  REQUIRE(map_row);
  CHECK(map_row->phase == loom::node_phase::aborted);  // not left "running"
  CHECK(map_row->error == "stopped: the run failed elsewhere");
  const auto rows = states.map_items("stopped");
  REQUIRE(rows.size() == 1);
  CHECK(rows[0].succeeded >= 1);
  CHECK(rows[0].succeeded < 60);
  CHECK(rows[0].phase(0) == loom::map_items_record::succeeded_item);
  CHECK(rows[0].phase(59) == loom::map_items_record::not_done);
}
