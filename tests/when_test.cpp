// Conditionals in static workflows (loom/when.hpp): wf.when(cond, then_fn, else_fn) puts
// both branches in the plan and the graph, runs only the one the condition selects,
// records the other's nodes as skipped, and nests.
#include <loom/loom.hpp>
#include <loom/state_store.hpp>
#include <loom/object_store.hpp>

#include <catch2/catch.hpp>

#include <atomic>
#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <tuple>

#include <unistd.h>

namespace {

using loom::promise;
using loom::detail::branch_side;
using loom::detail::node_kind;

std::atomic<int> doubled_runs{0};
std::atomic<int> negated_runs{0};

constexpr auto w_is_big = loom::task<"w_is_big">([](std::int64_t x) { return x > 100; });
constexpr auto w_is_even = loom::task<"w_is_even">([](std::int64_t x) { return x % 2 == 0; });
constexpr auto w_double = loom::task<"w_double">([](std::int64_t x) {
  ++doubled_runs;
  return x * 2;
});
constexpr auto w_negate = loom::task<"w_negate">([](std::int64_t x) {
  ++negated_runs;
  return -x;
});
constexpr auto w_label = loom::task<"w_label">([](std::int64_t x, std::string what) { return what + " " + std::to_string(x); });
constexpr auto w_add = loom::task<"w_add">([](std::int64_t a, std::int64_t b) { return a + b; });

// big: double it; small: negate it. Then add one (after the branches join).
constexpr auto classify = loom::workflow<"w_classify">([](auto& wf, promise<std::int64_t> x) {
  const auto chosen = wf.when(
      wf(w_is_big, x), [&](auto& b) { return b(w_double, x); },
      [&](auto& b) { return b(w_negate, x); });
  return wf(w_add, chosen, 1);
});

// Several outputs, and a branch that adds no node (it returns what it was given).
constexpr auto labelled = loom::workflow<"w_labelled">([](auto& wf, promise<std::int64_t> x) {
  return wf.when(
      wf(w_is_even, x),
      [&](auto& b) {
        const auto twice = b(w_double, x);
        return std::tuple{twice, b(w_label, twice, "even, doubled:")};
      },
      [&](auto& b) { return std::tuple{x, b(w_label, x, "odd:")}; });
});

// A wf.when inside a branch of another.
constexpr auto nested = loom::workflow<"w_nested">([](auto& wf, promise<std::int64_t> x) {
  return wf.when(
      wf(w_is_big, x),
      [&](auto& b) {
        return b.when(
            b(w_is_even, x), [&](auto& c) { return c(w_label, x, "big even"); },
            [&](auto& c) { return c(w_label, x, "big odd"); });
      },
      [&](auto& b) { return b(w_label, x, "small"); });
});

// A wf.when of `int`s beside those of std::int64_t: both describe as "integer", and are
// two merge entities of one name (the library's own, not in the registry).
constexpr auto w_small = loom::task<"w_small">([](int x) { return x - 1; });
constexpr auto w_is_positive = loom::task<"w_is_positive">([](int x) { return x > 0; });
constexpr auto small_steps = loom::workflow<"w_small_steps">([](auto& wf, promise<int> x) {
  return wf.when(wf(w_is_positive, x), [&](auto& b) { return b(w_small, x); }, [&](auto&) { return x; });
});

// The plan: both branches are there, each node knows its branch node and side.
constexpr const auto& classify_plan = loom::plan_of(classify);
static_assert(classify_plan.size() == 6);  // is_big, when, double, negate, merge, add
static_assert(classify_plan.nodes[1].kind == node_kind::branch);
static_assert(classify_plan.nodes[2].name == "w_double" && classify_plan.nodes[2].guard == 1 &&
              classify_plan.nodes[2].side == branch_side::then_side);
static_assert(classify_plan.nodes[3].name == "w_negate" && classify_plan.nodes[3].side == branch_side::else_side);
static_assert(classify_plan.nodes[4].kind == node_kind::merge && classify_plan.nodes[4].input_count == 3 &&
              classify_plan.nodes[4].side == branch_side::none);
static_assert(classify_plan.nodes[5].name == "w_add" && classify_plan.nodes[5].side == branch_side::none);
// Edges: is_big→when, x... (inputs are no edges), when→double and when→negate (the
// guards), when→merge, double→merge, negate→merge, merge→add.
static_assert(classify_plan.edge_count() == 7);
constexpr const auto& nested_plan = loom::plan_of(nested);
static_assert(nested_plan.nodes[2].name == "w_is_even" && nested_plan.nodes[2].side == branch_side::then_side);
static_assert(nested_plan.nodes[3].kind == node_kind::branch && nested_plan.nodes[3].guard == 1);
static_assert(nested_plan.nodes[4].guard == 3 && nested_plan.nodes[4].side == branch_side::then_side);
static_assert(nested_plan.nodes[6].kind == node_kind::merge && nested_plan.nodes[6].guard == 1 &&
              nested_plan.nodes[6].side == branch_side::then_side);

}  // namespace

TEST_CASE("when: only the branch the condition selects runs", "[when]") {
  loom::executor ex({.threads = 2});
  doubled_runs = 0;
  negated_runs = 0;
  CHECK(ex.run(classify, 500) == 1001);
  CHECK(doubled_runs == 1);
  CHECK(negated_runs == 0);
  CHECK(ex.run(classify, 7) == -6);
  CHECK(doubled_runs == 1);
  CHECK(negated_runs == 1);
}

TEST_CASE("when: branches with several outputs, and a branch without nodes", "[when]") {
  loom::executor ex({.threads = 1});
  CHECK(ex.run(labelled, 4) == std::tuple<std::int64_t, std::string>{8, "even, doubled: 8"});
  CHECK(ex.run(labelled, 5) == std::tuple<std::int64_t, std::string>{5, "odd: 5"});
}

TEST_CASE("when: a wf.when inside a branch runs only when its branch does", "[when]") {
  loom::executor ex({.threads = 2});
  CHECK(ex.run(nested, 200) == "big even 200");
  CHECK(ex.run(nested, 201) == "big odd 201");
  CHECK(ex.run(nested, 3) == "small 3");
}

TEST_CASE("when: a stored run records the branch, the merge and the skipped nodes", "[when]") {
  const auto dir = std::filesystem::temp_directory_path() / ("loom-when-test-" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  {
    loom::object_store store(dir);
    loom::executor ex({.threads = 2});
    loom::run_options options;
    options.store = &store;
    options.execution_id = "branched";
    CHECK(ex.run(options, nested, 3) == "small 3");
    loom::state_store states(loom::state_store::default_path(store.root()));
    std::map<std::string, std::pair<std::string, std::string>> rows;  // path → (task, phase)
    for (const auto& r : states.nodes("branched")) rows[r.path] = {r.task, std::string(loom::phase_name(r.phase))};
    CHECK(rows["n1"] == std::pair<std::string, std::string>{"loom.when", "succeeded"});
    CHECK(rows["n2"] == std::pair<std::string, std::string>{"w_is_even", "skipped"});
    CHECK(rows["n3"] == std::pair<std::string, std::string>{"loom.when", "skipped"});  // the inner wf.when
    CHECK(rows["n4"].second == "skipped");
    CHECK(rows["n5"].second == "skipped");
    CHECK(rows["n6"].second == "skipped");  // the inner merge
    CHECK(rows["n7"] == std::pair<std::string, std::string>{"w_label", "succeeded"});
    CHECK(rows["n8"] == std::pair<std::string, std::string>{"loom.when.merge<string>", "succeeded"});
    CHECK(states.execution("branched")->nodes_done == 9);
    CHECK(loom::json::parse(*store.get("branched/n1/outputs.json")) == loom::json{{"o0", false}});
    // The spec of the workflow (for `loom graph`) has both branches, each node with its side.
    const auto spec_text = store.get("branched/workflow.json");
    REQUIRE(spec_text);
    INFO(*spec_text);
    const auto spec = loom::json::parse(*spec_text);
    CHECK(spec["nodes"][2]["when"] == loom::json{{"branch", "n1"}, {"side", "then"}});
    CHECK(spec["nodes"][7]["when"] == loom::json{{"branch", "n1"}, {"side", "else"}});
    CHECK(spec["entities"]["loom.when"]["kind"] == "branch");
  }
  std::filesystem::remove_all(dir);
}

namespace {
// A promise made in a branch, smuggled out of it and used after the wf.when.
constexpr auto leaky = loom::workflow<"w_leaky">([](auto& wf, promise<std::int64_t> x) {
  promise<std::int64_t> smuggled;
  const auto chosen = wf.when(
      wf(w_is_big, x),
      [&](auto& b) {
        smuggled = b(w_double, x);
        return smuggled;
      },
      [&](auto& b) { return b(w_negate, x); });
  return wf(w_add, chosen, smuggled);
});
}  // namespace

TEST_CASE("when: a value made in a branch and used outside it is an error that says so", "[when]") {
  loom::executor ex({.threads = 1});
  CHECK_THROWS_WITH(ex.run(leaky, 1), Catch::Contains("workflow w_leaky: node n5 (w_add) takes an output of node n2 (w_double)") &&
                                          Catch::Contains("then-branch of the wf.when at node n1"));
}

TEST_CASE("when: merges of C++ types that describe alike (int, std::int64_t) in one program", "[when]") {
  loom::executor ex({.threads = 1});
  CHECK(ex.run(small_steps, 5) == 4);
  CHECK(ex.run(small_steps, -5) == -5);
  CHECK(ex.run(classify, 500) == 1001);
  loom::register_entities(small_steps, classify);  // no "two different entities" error
  CHECK(loom::detail::registry::global().find("loom.when.merge<integer>") == nullptr);
}
