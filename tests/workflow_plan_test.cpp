// Static workflows: the plan is a constant expression with the right nodes, bindings,
// edges and order.
#include "test_tasks.hpp"

#include <catch2/catch.hpp>

namespace {
using namespace loom_test;
using loom::promise;

constexpr auto diamond = loom::workflow<"diamond">([](auto& wf, promise<std::int64_t> x) {
  auto left = wf(add, x, 1);
  auto right = wf(mul, x, 2);
  return wf(sub, left, right);
});
constexpr auto nested = loom::workflow<"nested">([](auto& wf, promise<std::int64_t> x) {
  auto once = wf(diamond, x);
  return std::tuple{once, wf(diamond, once)};
});
constexpr auto halves = loom::workflow<"halves">([](auto& wf, promise<int_list> v) {
  auto [l, r] = wf(split, v);
  return wf(add, wf(total, l), wf(total, r));
});
constexpr auto literals_only = loom::workflow<"literals_only">([](auto& wf) { return wf(concat, "a", "b"); });
constexpr auto passthrough = loom::workflow<"passthrough">([](auto&, promise<std::string> s) { return s; });
constexpr auto concrete_builder = loom::workflow<"concrete_builder">(
    [](loom::workflow_builder& wf, promise<std::int64_t> x) { return wf(add, x, x); });

// The plans are constant expressions: these are checked by the compiler.
static_assert(loom::plan_of(diamond).size() == 3);
static_assert(loom::plan_of(diamond).edge_count() == 2);
static_assert(loom::plan_of(diamond).input_count == 1);
static_assert(loom::plan_of(diamond).literal_count == 2);
static_assert(loom::plan_of(nested).size() == 2, "a nested workflow is one node of the outer plan");
static_assert(loom::plan_of(halves).size() == 4);
static_assert(loom::plan_of(literals_only).size() == 1);
static_assert(loom::plan_of(passthrough).size() == 0);
static_assert(loom::plan_of(concrete_builder).size() == 1);
static_assert(loom::plan_of(diamond).name == "diamond");
}  // namespace

TEST_CASE("a plan records nodes, bindings and edges", "[plan]") {
  constexpr const auto& p = loom::plan_of(diamond);
  STATIC_REQUIRE(p.nodes[0].name == "add");
  STATIC_REQUIRE(p.nodes[1].name == "mul");
  STATIC_REQUIRE(p.nodes[2].name == "sub");
  // add(x, 1): the workflow input and a literal.
  STATIC_REQUIRE(p.binding_of(0, 0).from == loom::detail::source_kind::input);
  STATIC_REQUIRE(p.binding_of(0, 1).from == loom::detail::source_kind::literal);
  // sub(left, right): outputs of nodes 0 and 1, in that order.
  STATIC_REQUIRE(p.binding_of(2, 0).from == loom::detail::source_kind::node_output);
  STATIC_REQUIRE(p.binding_of(2, 0).node == 0);
  STATIC_REQUIRE(p.binding_of(2, 1).node == 1);
  STATIC_REQUIRE(p.edges[0].to_node == 2);
  STATIC_REQUIRE(p.outputs[0].node == 2);
}

TEST_CASE("a plan's order puts every producer before its consumers", "[plan]") {
  constexpr const auto& p = loom::plan_of(halves);
  std::array<std::size_t, 4> position{};
  for (std::size_t i = 0; i < p.order.size(); ++i) position[p.order[i]] = i;
  for (const auto& e : p.edges) CHECK(position[e.from_node] < position[e.to_node]);
  // split has two outputs, each feeding one total.
  CHECK(p.nodes[0].output_count == 2);
  CHECK(p.binding_of(1, 0).index == 0);
  CHECK(p.binding_of(2, 0).index == 1);
}

TEST_CASE("nested workflows appear as one workflow node", "[plan]") {
  constexpr const auto& p = loom::plan_of(nested);
  STATIC_REQUIRE(p.nodes[0].kind == loom::detail::node_kind::workflow);
  STATIC_REQUIRE(p.nodes[0].name == "diamond");
  STATIC_REQUIRE(p.outputs.size() == 2);
}

TEST_CASE("static workflows compute right", "[workflow]") {
  CHECK(diamond(5) == (5 + 1) - (5 * 2));
  CHECK(nested(5) == std::tuple<std::int64_t, std::int64_t>{-4, (-4 + 1) - (-4 * 2)});
  CHECK(halves(int_list{1, 2, 3, 4, 5}) == 15);
  CHECK(literals_only() == "ab");
  CHECK(passthrough("same") == "same");
  CHECK(concrete_builder(21) == 42);
}

namespace {
constexpr auto sum_pair = loom::workflow<"sum_pair">([](auto& wf, promise<std::int64_t> a, promise<std::int64_t> b) {
  return wf(total, std::vector{wf(mul, a, a), wf(mul, b, b), a});
});
static_assert(loom::plan_of(sum_pair).size() == 3);
static_assert(loom::plan_of(sum_pair).edge_count() == 2, "total depends on both products");
}  // namespace

TEST_CASE("a vector of promises is a collection argument in static workflows too", "[plan]") {
  constexpr const auto& p = loom::plan_of(sum_pair);
  STATIC_REQUIRE(p.binding_of(2, 0).from == loom::detail::source_kind::collection);
  STATIC_REQUIRE(p.binding_of(2, 0).index == 3);
  STATIC_REQUIRE(p.items[2].from == loom::detail::source_kind::input);
  CHECK(sum_pair(3, 4) == 9 + 16 + 3);
}
