// Tasks: native calls, names, versions and default values.
#include "test_tasks.hpp"

#include <catch2/catch.hpp>

namespace {
std::int64_t twice(std::int64_t x) { return 2 * x; }
constexpr auto twice_task = loom::task<"twice">(&twice);
constexpr auto scale = loom::task<"scale">([](std::int64_t x, std::int64_t factor) { return x * factor; })
                           .with_inputs("x", "factor")
                           .with_default<1>(10)
                           .with_version("2.1");
constexpr auto greet = loom::task<"greet">([](std::string name, std::vector<std::string> titles) {
                         std::string out = "hello";
                         for (const auto& t : titles) out += " " + t;
                         return out + " " + name;
                       }).with_default<0>("world").with_default<1>([] { return std::vector<std::string>{"dear"}; });
}  // namespace

TEST_CASE("tasks run when called with native values", "[task]") {
  CHECK(loom_test::add(2, 3) == 5);
  CHECK(twice_task(21) == 42);
  CHECK(loom_test::split(loom_test::int_list{1, 2, 3}) ==
        std::tuple{loom_test::int_list{1}, loom_test::int_list{2, 3}});
}

TEST_CASE("tasks have names, versions and input and output names", "[task]") {
  CHECK(twice_task.name == "twice");
  CHECK(twice_task.version() == "1");
  CHECK(twice_task.input_name(0) == "i0");
  CHECK(scale.version() == "2.1");
  CHECK(scale.input_name(0) == "x");
  CHECK(scale.input_name(1) == "factor");
  CHECK(scale.output_name(0) == "o0");
  STATIC_REQUIRE(loom_test::split.output_count == 2);
}

TEST_CASE("default input values fill missing arguments", "[task]") {
  CHECK(scale(4) == 40);
  CHECK(scale(4, 3) == 12);
  CHECK(greet() == "hello dear world");
  CHECK(greet("ann", std::vector<std::string>{}) == "hello ann");
}

TEST_CASE("two different entities may not share a name", "[task][registry]") {
  constexpr auto first = loom::task<"registry_twin">([](std::int64_t x) { return x; });
  constexpr auto same_shape = loom::task<"registry_twin">([](std::int64_t y) { return y + 1; });
  constexpr auto other_shape = loom::task<"registry_twin">([](std::string s) { return s; });
  loom::register_entities(first);
  CHECK_NOTHROW(loom::register_entities(first));  // again: fine
  CHECK_THROWS_WITH(loom::register_entities(same_shape),  // another function under the same name
                    Catch::Contains("two different entities are named 'registry_twin'"));
  CHECK_THROWS_WITH(loom::register_entities(other_shape),
                    Catch::Contains("two different entities are named 'registry_twin'"));
}
