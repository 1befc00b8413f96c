// Dynamic workflows: graphs decided at run time, collections of promises, nesting in
// both directions, failures and limits.
#include "test_tasks.hpp"

#include <catch2/catch.hpp>

#include <map>

namespace {
using namespace loom_test;
using loom::promise;

constexpr auto square = loom::task<"square">([](std::int64_t x) { return x * x; });
constexpr auto to_text = loom::task<"to_text">([](std::int64_t x) { return std::to_string(x); });
constexpr auto join = loom::task<"join">([](std::vector<std::string> parts) {
  std::string out;
  for (const auto& p : parts) out += (out.empty() ? "" : ",") + p;
  return out;
});
constexpr auto sum_map = loom::task<"sum_map">([](std::map<std::string, std::int64_t> m) {
  std::int64_t s = 0;
  for (const auto& [k, v] : m) s += v * static_cast<std::int64_t>(k.size());
  return s;
});

// A fan-out whose width is an input: one node per item, gathered as a list.
constexpr auto squares = loom::dynamic<"squares">([](loom::dynamic_builder& wf, std::int64_t n) {
  std::vector<promise<std::int64_t>> results;
  for (std::int64_t i = 0; i < n; ++i) results.push_back(wf(square, i));
  return results;
});

constexpr auto labelled = loom::dynamic<"labelled">([](loom::dynamic_builder& wf, std::int64_t x) {
  return wf(join, std::vector{wf(to_text, x), wf.literal(std::string("static")), wf(to_text, wf(square, x))});
});

constexpr auto keyed = loom::dynamic<"keyed">([](loom::dynamic_builder& wf, std::vector<std::string> keys) {
  std::map<std::string, promise<std::int64_t>> by_key;
  for (std::size_t i = 0; i < keys.size(); ++i) by_key[keys[i]] = wf(square, static_cast<std::int64_t>(i + 1));
  return std::tuple{by_key, wf(sum_map, by_key)};
});

constexpr auto no_nodes = loom::dynamic<"no_nodes">([](loom::dynamic_builder& wf, std::int64_t x) {
  return wf.literal(x * 2);  // decided at run time, computed in the body itself
});

// Nesting in both directions: static → dynamic → static → dynamic.
constexpr auto sum_of_squares = loom::workflow<"sum_of_squares">([](auto& wf, promise<std::int64_t> n) {
  return wf(total, wf(squares, n));
});
constexpr auto twice_sum = loom::dynamic<"twice_sum">([](loom::dynamic_builder& wf, std::int64_t n) {
  const auto s = wf(sum_of_squares, n);
  return wf(add, s, s);
});
constexpr auto outer_static = loom::workflow<"outer_static">([](auto& wf, promise<std::int64_t> n) {
  return wf(twice_sum, n);
});
constexpr auto list_of_sums = loom::dynamic<"list_of_sums">([](loom::dynamic_builder& wf, std::int64_t n) {
  std::vector<promise<std::int64_t>> sums;
  for (std::int64_t i = 0; i <= n; ++i) sums.push_back(wf(total, wf(squares, i)));
  return wf(total, sums);
});

constexpr auto fails_at_three = loom::dynamic<"fails_at_three">([](loom::dynamic_builder& wf, std::int64_t x) {
  auto a = wf(add, x, 1);  // dn0
  auto b = wf(add, a, 1);  // dn1
  auto c = wf(add, b, 1);  // dn2
  return wf(add, c, wf(fail_with, "broken on purpose"));  // dn3 fails, dn4 never runs
});
constexpr auto body_throws = loom::dynamic<"body_throws">([](loom::dynamic_builder& wf, std::int64_t x) {
  if (x > 0) throw std::invalid_argument("no positive numbers here");
  return wf.literal(x);
});

loom::promise<std::int64_t> countdown_body(loom::dynamic_builder& wf, std::int64_t n);
constexpr auto countdown = loom::dynamic<"countdown">(&countdown_body);
loom::promise<std::int64_t> countdown_body(loom::dynamic_builder& wf, std::int64_t n) {
  if (n == 0) return wf.literal(std::int64_t{0});
  return wf(add, wf(countdown, n - 1), 1);
}
}  // namespace

TEST_CASE("a fan-out decided by an input, gathered as a list", "[dynamic]") {
  CHECK(squares(0).empty());
  CHECK(squares(5) == int_list{0, 1, 4, 9, 16});
}

TEST_CASE("collections of promises mix node outputs and literals", "[dynamic]") {
  CHECK(labelled(7) == "7,static,49");
  const auto [by_key, weighted] = keyed(std::vector<std::string>{"a", "bb", "ccc"});
  CHECK(by_key == std::map<std::string, std::int64_t>{{"a", 1}, {"bb", 4}, {"ccc", 9}});
  CHECK(weighted == 1 * 1 + 4 * 2 + 9 * 3);
}

TEST_CASE("a body that records no node returns a literal", "[dynamic]") {
  CHECK(no_nodes(21) == 42);
}

TEST_CASE("dynamic and static workflows nest in both directions", "[dynamic]") {
  CHECK(sum_of_squares(4) == 0 + 1 + 4 + 9);
  CHECK(twice_sum(4) == 28);
  CHECK(outer_static(4) == 28);
  STATIC_REQUIRE(loom::plan_of(outer_static).size() == 1);
  STATIC_REQUIRE(loom::plan_of(outer_static).nodes[0].kind == loom::detail::node_kind::dynamic);
  CHECK(list_of_sums(3) == 0 + 0 + 1 + 5);  // sums of squares of 0..i-1
}

TEST_CASE("a failing task inside a dynamic workflow names the full node path", "[dynamic]") {
  loom::executor ex({.threads = 2});
  try {
    ex.run(fails_at_three, 1);
    FAIL("the run should have failed");
  } catch (const loom::task_failed& e) {
    CHECK(e.node_path() == "n0/dn3");
    CHECK(e.task_name() == "fail_with");
    CHECK(e.original_message() == "broken on purpose");
  }
}

TEST_CASE("a dynamic body that throws fails its own node", "[dynamic]") {
  CHECK(body_throws(-3) == -3);
  try {
    body_throws(3);
    FAIL("the run should have failed");
  } catch (const loom::task_failed& e) {
    CHECK(e.node_path() == "n0");
    CHECK(e.task_name() == "body_throws");
    CHECK(e.original_message() == "no positive numbers here");
  }
}

TEST_CASE("recursion works up to the depth limit and fails past it", "[dynamic][limits]") {
  loom::executor ex({.threads = 2});
  CHECK(ex.run(countdown, 10) == 10);
  CHECK(ex.run(countdown, 99) == 99);  // frames at depths 1..100
  CHECK_THROWS_WITH(ex.run(countdown, 100), Catch::Contains("depth") && Catch::Contains("limit 100"));
  try {
    ex.run(loom::run_limits{.max_depth = 5}, countdown, 6);
    FAIL("the run should have failed");
  } catch (const loom::task_failed& e) {
    CHECK(e.node_path() == "n0/dn0/dn0/dn0/dn0/dn0");
    CHECK(e.original_message().find("depth") != std::string::npos);
  }
  CHECK(ex.run(loom::run_limits{.max_depth = 5}, countdown, 4) == 4);
}

TEST_CASE("a dynamic node over the node limit fails before running anything", "[dynamic][limits]") {
  loom::executor ex({.threads = 2});
  CHECK(ex.run(loom::run_limits{.max_dynamic_nodes = 10}, squares, 10).size() == 10);
  CHECK_THROWS_WITH(ex.run(loom::run_limits{.max_dynamic_nodes = 10}, squares, 11),
                    Catch::Contains("11 nodes") && Catch::Contains("limit of 10"));
}

namespace {
constexpr auto braced = loom::dynamic<"braced">([](loom::dynamic_builder& wf, std::int64_t x) {
  auto text = wf(join, {wf(to_text, x), wf.literal(std::string("static"))});
  auto weighted = wf(sum_map, {{"a", wf(square, x)}, {"bb", wf.literal(std::int64_t{5})}});
  return std::tuple{text, weighted, wf(add, weighted, 1)};
});
}  // namespace

TEST_CASE("a braced list of promises is a collection argument", "[dynamic]") {
  CHECK(braced(3) == std::tuple<std::string, std::int64_t, std::int64_t>{"3,static", 9 + 10, 20});
}
