// Map tasks in static workflow bodies: wf.map is part of the compile-time plan (one
// node of kind map, its lists bound like any input), and the same body runs.
#include <loom/loom.hpp>

#include <catch2/catch.hpp>

#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <tuple>
#include <vector>

namespace {

using loom::promise;
using ints = std::vector<std::int64_t>;
using loom::detail::node_kind;
using loom::detail::source_kind;

constexpr auto ms_range = loom::task<"ms_range">([](std::int64_t n) {
  ints out;
  for (std::int64_t i = 0; i < n; ++i) out.push_back(i);
  return out;
});
constexpr auto ms_scale = loom::task<"ms_scale">([](std::int64_t x, std::int64_t factor) { return x * factor; });
constexpr auto ms_sum = loom::task<"ms_sum">([](ints xs) {
  std::int64_t s = 0;
  for (const auto x : xs) s += x;
  return s;
});
constexpr auto ms_checked = loom::task<"ms_checked">([](std::int64_t x) {
  if (x % 3 == 2) throw std::runtime_error("item " + std::to_string(x) + " fails");
  return x;
});
constexpr auto ms_count = loom::task<"ms_count">([](std::vector<std::optional<std::int64_t>> xs) {
  std::int64_t n = 0;
  for (const auto& x : xs) n += x.has_value() ? 1 : 0;
  return n;
});

// range(n) → scale every item by `factor` (bound) → sum.
constexpr auto scaled_sum = loom::workflow<"ms_scaled_sum">([](auto& wf, promise<std::int64_t> n,
                                                               promise<std::int64_t> factor) {
  const auto scaled = wf.map(ms_scale, wf(ms_range, n), factor);
  return wf(ms_sum, scaled);
});
// A literal list mapped, a literal bound, options given.
constexpr auto literal_lists = loom::workflow<"ms_literal_lists">([](auto& wf, promise<std::int64_t> factor) {
  return wf.map(ms_scale, ints{1, 2, 3}, factor, loom::map_options{.concurrency = 1});
});
// A partial map: the result type follows the options' type.
constexpr auto tolerant = loom::workflow<"ms_tolerant">([](auto& wf, promise<ints> xs) {
  promise<std::vector<std::optional<std::int64_t>>> kept =
      wf.map(ms_checked, xs, loom::partial_map_options{.min_success_ratio = 0.5});
  return std::tuple{kept, wf(ms_count, kept)};
});

// The plan is a constant: the map is one node, of kind map, between its producer and
// its consumer, whatever the list's length.
constexpr const auto& scaled_plan = loom::plan_of(scaled_sum);
static_assert(scaled_plan.size() == 3);
static_assert(scaled_plan.nodes[1].kind == node_kind::map);
static_assert(scaled_plan.nodes[1].name == "ms_scale");
static_assert(scaled_plan.binding_of(1, 0).from == source_kind::node_output && scaled_plan.binding_of(1, 0).node == 0);
static_assert(scaled_plan.binding_of(1, 1).from == source_kind::input && scaled_plan.binding_of(1, 1).index == 1);
static_assert(scaled_plan.edge_count() == 2);
static_assert(scaled_plan.order[0] == 0 && scaled_plan.order[1] == 1 && scaled_plan.order[2] == 2);
static_assert(loom::plan_of(literal_lists).nodes[0].kind == node_kind::map);
static_assert(loom::plan_of(literal_lists).literal_count == 1);
static_assert(loom::plan_of(tolerant).size() == 2);

}  // namespace

TEST_CASE("map in a static workflow: the plan's map node runs over the items", "[map][static]") {
  loom::executor ex({.threads = 2});
  CHECK(ex.run(scaled_sum, 5, 10) == 100);  // (0+1+2+3+4) x 10
  CHECK(ex.run(scaled_sum, 0, 10) == 0);
  CHECK(ex.run(literal_lists, 3) == ints{3, 6, 9});
  const auto& g = loom::detail::graph_of<decltype(scaled_sum)>();
  REQUIRE(g.nodes.size() == 3);
  CHECK(g.nodes[1].kind == node_kind::map);
  REQUIRE(g.maps.size() == 1);
  CHECK(g.maps[0].mapped == 0b01);
}

TEST_CASE("map in a static workflow: partial maps tolerate failures up to the threshold", "[map][static]") {
  loom::executor ex({.threads = 2});
  const auto [kept, count] = ex.run(tolerant, ints{0, 1, 2, 3});
  CHECK(kept == std::vector<std::optional<std::int64_t>>{0, 1, std::nullopt, 3});
  CHECK(count == 3);
  try {
    (void)ex.run(tolerant, ints{2, 5, 8, 0});
    FAIL("a map with 1 success of 4 passed a 0.5 ratio");
  } catch (const std::exception& e) {
    CHECK_THAT(std::string(e.what()), Catch::Contains("item 2 fails"));
  }
}
