// Map tasks (loom/map.hpp) in dynamic workflows: which arguments are mapped (decided from
// the types at compile time), zipping, partial application, several outputs, failures
// (whole and partial maps), per-item retries, and that a map is one node whatever its
// length.
#include <loom/loom.hpp>
#include <loom/object_store.hpp>
#include <loom/futures_file.hpp>

#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <map>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

#include <unistd.h>

namespace {

using loom::promise;
using ints = std::vector<std::int64_t>;

constexpr auto m_square = loom::task<"m_square">([](std::int64_t x) { return x * x; });
constexpr auto m_add = loom::task<"m_add">([](std::int64_t a, std::int64_t b) { return a + b; });
constexpr auto m_range = loom::task<"m_range">([](std::int64_t n) {
  ints out;
  for (std::int64_t i = 0; i < n; ++i) out.push_back(i);
  return out;
});
constexpr auto m_sum = loom::task<"m_sum">([](ints xs) {
  std::int64_t s = 0;
  for (const auto x : xs) s += x;
  return s;
});
// A parameter that is itself a list: given a list of lists it is mapped, given a list bound.
constexpr auto m_weighted = loom::task<"m_weighted">([](ints xs, std::int64_t weight) {
  std::int64_t s = 0;
  for (const auto x : xs) s += x * weight;
  return s;
});
constexpr auto m_split = loom::task<"m_split">([](std::int64_t x) { return std::tuple{x / 10, std::to_string(x % 10)}; });
// Fails on the items a test chooses (negative numbers).
constexpr auto m_checked = loom::task<"m_checked">([](std::int64_t x) {
  if (x < 0) throw std::runtime_error("negative: " + std::to_string(x));
  return x * 2;
});

// Mapped or bound, from the types alone.
using loom::detail::mapped_mask;
static_assert(mapped_mask<decltype(m_square), ints>() == 0b1);
static_assert(mapped_mask<decltype(m_square), promise<ints>>() == 0b1);
static_assert(mapped_mask<decltype(m_square), std::vector<promise<std::int64_t>>>() == 0b1);
static_assert(mapped_mask<decltype(m_add), promise<ints>, std::int64_t>() == 0b01);
static_assert(mapped_mask<decltype(m_add), int, promise<ints>>() == 0b10);
static_assert(mapped_mask<decltype(m_add), ints, promise<ints>>() == 0b11);
static_assert(mapped_mask<decltype(m_weighted), std::vector<ints>, std::int64_t>() == 0b01);
static_assert(mapped_mask<decltype(m_weighted), ints, ints>() == 0b10);
static_assert(mapped_mask<decltype(m_weighted), promise<ints>, promise<ints>>() == 0b10);

constexpr auto squares_of_range = loom::dynamic<"m_squares_of_range">([](loom::dynamic_builder& wf, std::int64_t n) {
  return wf.map(m_square, wf(m_range, n));
});
constexpr auto plus_each = loom::dynamic<"m_plus_each">([](loom::dynamic_builder& wf, ints xs, std::int64_t k) {
  return wf.map(m_add, xs, k);  // xs mapped, k bound to every item
});
constexpr auto zipped = loom::dynamic<"m_zipped">([](loom::dynamic_builder& wf, ints a, ints b) {
  return wf.map(m_add, a, b);
});
constexpr auto weighted = loom::dynamic<"m_weighted_dyn">(
    [](loom::dynamic_builder& wf, std::vector<ints> lists, ints weights) {
      // lists: mapped (a list of the parameter's type); weights: mapped.
      const auto by_list = wf.map(m_weighted, lists, weights);
      // The same task with the list bound and the weights mapped.
      const auto by_weight = wf.map(m_weighted, wf.literal(ints{1, 2, 3}), weights);
      return std::tuple{by_list, by_weight};
    });
constexpr auto split_all = loom::dynamic<"m_split_all">([](loom::dynamic_builder& wf, ints xs) {
  auto [tens, units] = wf.map(m_split, xs);
  return std::tuple{tens, units};
});
constexpr auto checked_all = loom::dynamic<"m_checked_all">([](loom::dynamic_builder& wf, ints xs) {
  return wf.map(m_checked, xs, loom::map_options{.concurrency = 2});
});
constexpr auto checked_partial = loom::dynamic<"m_checked_partial">(
    [](loom::dynamic_builder& wf, ints xs, double ratio, std::int64_t at_least) {
      loom::partial_map_options options{.min_success_ratio = ratio};
      if (at_least >= 0) options.min_successes = static_cast<std::size_t>(at_least);
      promise<std::vector<std::optional<std::int64_t>>> doubled = wf.map(m_checked, xs, options);
      return doubled;
    });
// The map's list feeds a downstream task like any list.
constexpr auto sum_of_squares = loom::dynamic<"m_sum_of_squares">([](loom::dynamic_builder& wf, std::int64_t n) {
  return wf(m_sum, wf.map(m_square, wf(m_range, n)));
});

std::string failure_of(auto&& run) {
  try {
    run();
  } catch (const std::exception& e) {
    return e.what();
  }
  return "(no failure)";
}

}  // namespace

TEST_CASE("map: a task over a list, the list from another node", "[map]") {
  loom::executor ex({.threads = 2});
  CHECK(ex.run(squares_of_range, 5) == ints{0, 1, 4, 9, 16});
  CHECK(ex.run(squares_of_range, 0).empty());
  CHECK(ex.run(sum_of_squares, 100) == 328350);
}

TEST_CASE("map: bound arguments go to every item, mapped lists are zipped", "[map]") {
  loom::executor ex({.threads = 2});
  CHECK(ex.run(plus_each, ints{1, 2, 3}, 10) == ints{11, 12, 13});
  CHECK(ex.run(zipped, ints{1, 2, 3}, ints{10, 20, 30}) == ints{11, 22, 33});
  const auto message = failure_of([&] { (void)ex.run(zipped, ints{1, 2, 3}, ints{10, 20}); });
  // (The inputs are named after the lambda's parameters by loom-codegen: a and b.)
  CHECK_THAT(message, Catch::Contains("map over lists of different lengths") && Catch::Contains(" has 3 items, ") &&
                          Catch::Contains(" has 2"));
}

TEST_CASE("map: a list parameter is mapped by a list of lists and bound by a list", "[map]") {
  loom::executor ex({.threads = 1});
  const auto [by_list, by_weight] = ex.run(weighted, std::vector<ints>{{1, 2}, {3}, {}}, ints{1, 10, 100});
  CHECK(by_list == ints{3, 30, 0});
  CHECK(by_weight == ints{6, 60, 600});
}

TEST_CASE("map: a task with several outputs gives a tuple of lists", "[map]") {
  loom::executor ex({.threads = 2});
  const auto [tens, units] = ex.run(split_all, ints{12, 345, 7});
  CHECK(tens == ints{1, 34, 0});
  CHECK(units == std::vector<std::string>{"2", "5", "7"});
}

TEST_CASE("map: with map_options every item must succeed, the first failure is named", "[map]") {
  loom::executor ex({.threads = 2});
  CHECK(ex.run(checked_all, ints{1, 2, 3}) == ints{2, 4, 6});
  const auto message = failure_of([&] { (void)ex.run(checked_all, ints{1, -2, 3, -4}); });
  CHECK_THAT(message, Catch::Contains("map item 1 of 4 failed") && Catch::Contains("negative: -2"));
}

TEST_CASE("map: partial maps keep going, failed items are empty, the threshold is checked", "[map]") {
  loom::executor ex({.threads = 2});
  const ints xs{1, -2, 3, -4, 5};
  using result = std::vector<std::optional<std::int64_t>>;
  CHECK(ex.run(checked_partial, xs, 0.6, -1) == result{2, std::nullopt, 6, std::nullopt, 10});
  // ceil(0.7 x 5) = 4 successes needed, 3 happened.
  const auto message = failure_of([&] { (void)ex.run(checked_partial, xs, 0.7, -1); });
  CHECK_THAT(message, Catch::Contains("3 of 5 items succeeded, fewer than the 4 required") &&
                          Catch::Contains("2 failed") && Catch::Contains("item 1: negative: -2"));
  // min_successes takes precedence over the ratio.
  CHECK(ex.run(checked_partial, xs, 1.0, 3).size() == 5);
  CHECK_THAT(failure_of([&] { (void)ex.run(checked_partial, xs, 0.0, 4); }),
             Catch::Contains("fewer than the 4 required"));
  CHECK(ex.run(checked_partial, ints{}, 1.0, -1).empty());
}

namespace {
std::atomic<int> flaky_calls{0};
// Fails the first attempt of every odd item; .with_retries gives each item its own retries.
constexpr auto m_flaky = loom::task<"m_flaky">([](std::int64_t x) {
  static std::mutex mutex;
  static std::map<std::int64_t, int> attempts;
  flaky_calls.fetch_add(1);
  std::lock_guard lock(mutex);
  if (x % 2 == 1 && attempts[x]++ == 0) throw std::runtime_error("flaky " + std::to_string(x));
  return x;
}).with_retries(1);
constexpr auto flaky_all = loom::dynamic<"m_flaky_all">([](loom::dynamic_builder& wf, ints xs) {
  return wf.map(m_flaky, xs);
});
}  // namespace

TEST_CASE("map: each item retries by itself", "[map]") {
  loom::executor ex({.threads = 2});
  flaky_calls = 0;
  CHECK(ex.run(flaky_all, ints{0, 1, 2, 3, 4, 5}) == ints{0, 1, 2, 3, 4, 5});
  CHECK(flaky_calls == 6 + 3);  // each odd item ran twice, the others once
}

TEST_CASE("map: one node in the sub-DAG, whatever the length", "[map]") {
  loom::executor ex({.threads = 2});
  loom::run_trace trace;
  loom::run_options options;
  options.trace = &trace;
  CHECK(ex.run(options, sum_of_squares, 10000) == std::int64_t{333283335000});
  bool found = false;
  for (const auto& frame : trace.frames()) {
    if (frame.path != "n0") continue;  // the sub-DAG of the root dynamic node
    found = true;
    REQUIRE(frame.graph->nodes.size() == 3);  // m_range, the map, m_sum
    CHECK(frame.graph->nodes[1].kind == loom::detail::node_kind::map);
  }
  CHECK(found);
}

TEST_CASE("map: through the futures file: one node with its \"map\", read back and run", "[map]") {
  loom::executor ex({.threads = 2});
  loom::run_options options;
  options.verify_futures = true;  // every sub-DAG is written, read back, validated, run
  CHECK(ex.run(options, sum_of_squares, 100) == 328350);
  CHECK(ex.run(options, plus_each, ints{1, 2, 3}, 10) == ints{11, 12, 13});
  const auto [tens, units] = ex.run(options, split_all, ints{12, 345});
  CHECK(tens == ints{1, 34});
  CHECK(units == std::vector<std::string>{"2", "5"});
  using result = std::vector<std::optional<std::int64_t>>;
  CHECK(ex.run(options, checked_partial, ints{1, -2, 3}, 0.5, -1) == result{2, std::nullopt, 6});

  loom::run_trace trace;
  options.trace = &trace;
  (void)ex.run(options, checked_partial, ints{1, -2, 3}, 0.5, 2);
  for (const auto& frame : trace.frames()) {
    if (frame.path != "n0") continue;
    const auto doc = loom::write_futures_file(*frame.graph, "m_checked_partial");
    REQUIRE(doc["nodes"].size() == 1);
    const auto& map = doc["nodes"][0]["map"];
    CHECK(map["mapped"].size() == 1);
    CHECK(map["partial"] == true);
    CHECK(map["min_success_ratio"] == 0.5);
    CHECK(map["min_successes"] == 2);
    CHECK(map["concurrency"] == 0);
    // A "map" the reader refuses: an input that is not the task's.
    auto bad = doc;
    bad["nodes"][0]["map"]["mapped"] = loom::json::array({"nope"});
    CHECK_THAT(failure_of([&] { (void)loom::read_futures_file(bad.dump(), "bad.json"); }),
               Catch::Contains("\"map\": mapped input \"nope\" is not an input of m_checked"));
    bad["nodes"][0]["map"] = loom::json{{"mapped", doc["nodes"][0]["map"]["mapped"]}, {"partial", "yes"}};
    CHECK_THAT(failure_of([&] { (void)loom::read_futures_file(bad.dump(), "bad.json"); }),
               Catch::Contains("\"partial\" must be true or false"));
    // Without its "map", the node's list input no longer fits the task's parameter.
    bad["nodes"][0].erase("map");
    CHECK_THAT(failure_of([&] { (void)loom::read_futures_file(bad.dump(), "bad.json"); }),
               Catch::Contains("literal does not match integer"));
  }
}

TEST_CASE("map: a stored run keeps a map's outputs as one list object", "[map]") {
  const auto dir = std::filesystem::temp_directory_path() / ("loom-map-test-" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  {
    loom::object_store store(dir);
    loom::executor ex({.threads = 2});
    loom::run_options options;
    options.store = &store;
    options.execution_id = "mapped";
    CHECK(ex.run(options, sum_of_squares, 5) == 30);
    // dn0: m_range, dn1: the map, dn2: m_sum.
    CHECK(loom::json::parse(*store.get("mapped/n0/dn1/outputs.json")) == loom::json{{"o0", {0, 1, 4, 9, 16}}});
    CHECK_FALSE(store.contains("mapped/n0/dn1/0/outputs.json"));  // nothing per item
    const auto futures = loom::json::parse(*store.get("mapped/n0/futures.json"));
    CHECK(futures["nodes"][1].contains("map"));
  }
  std::filesystem::remove_all(dir);
}

namespace {
std::atomic<int> in_flight{0};
std::atomic<int> most_in_flight{0};
// Sleeps a little, so that items that may overlap do.
constexpr auto m_slow = loom::task<"m_slow">([](std::int64_t x) {
  const int now = in_flight.fetch_add(1) + 1;
  int seen = most_in_flight.load();
  while (now > seen && !most_in_flight.compare_exchange_weak(seen, now)) {
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(2));
  in_flight.fetch_sub(1);
  return x + 1;
});
constexpr auto slow_all = loom::dynamic<"m_slow_all">([](loom::dynamic_builder& wf, ints xs, std::int64_t limit) {
  return wf.map(m_slow, xs, loom::map_options{.concurrency = static_cast<std::size_t>(limit)});
});
}  // namespace

TEST_CASE("map: items run in chunks on the executor's threads, at most `concurrency` at once", "[map]") {
  loom::executor ex({.threads = 4});
  ints xs(40);
  for (std::size_t i = 0; i < xs.size(); ++i) xs[i] = static_cast<std::int64_t>(i);
  ints expected(xs);
  for (auto& x : expected) x += 1;

  most_in_flight = 0;
  CHECK(ex.run(slow_all, xs, 0) == expected);  // unbounded: the 4 threads share the chunks
  CHECK(most_in_flight.load() >= 2);
  CHECK(most_in_flight.load() <= 4);

  most_in_flight = 0;
  CHECK(ex.run(slow_all, xs, 2) == expected);
  CHECK(most_in_flight.load() <= 2);

  most_in_flight = 0;
  CHECK(ex.run(slow_all, xs, 1) == expected);
  CHECK(most_in_flight.load() == 1);
}

TEST_CASE("map: a large map is right, and a failing item stops a whole map", "[map]") {
  loom::executor ex({.threads = 2});
  ints xs(200000);
  for (std::size_t i = 0; i < xs.size(); ++i) xs[i] = static_cast<std::int64_t>(i % 1000);
  const auto doubled = ex.run(checked_all, xs);
  REQUIRE(doubled.size() == xs.size());
  bool all = true;
  for (std::size_t i = 0; i < xs.size(); ++i) all = all && doubled[i] == 2 * xs[i];
  CHECK(all);
  xs[123456] = -1;  // fails; the items after it in its chunk, and other chunks, stop
  CHECK_THAT(failure_of([&] { (void)ex.run(checked_all, xs); }),
             Catch::Contains("map item 123456 of 200000 failed: negative: -1"));
}

namespace {
// Parameters taken as `P&&` and `const P&`: a map hands each item a copy or a reference.
constexpr auto m_shout = loom::task<"m_shout">([](std::string&& word, const std::string& mark) {
  std::string out = std::move(word);
  for (auto& c : out) c = static_cast<char>(c - 'a' + 'A');
  return out + mark;
});
constexpr auto shout_all = loom::dynamic<"m_shout_all">([](loom::dynamic_builder& wf, std::vector<std::string> words) {
  return wf.map(m_shout, words, std::string("!"));
});
}  // namespace

TEST_CASE("map: a task taking P&& gets a copy of each item", "[map]") {
  loom::executor ex({.threads = 2});
  CHECK(ex.run(shout_all, std::vector<std::string>{"ab", "cd"}) == std::vector<std::string>{"AB!", "CD!"});
}
