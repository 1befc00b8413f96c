// What a node's job asks a cluster for: .with_resources(...) (loom/policy.hpp). A
// malformed request in a constexpr entity is a compile error (tests/compile_fail/
// with_resources_*.cpp); here: what a good one stores, which memory spellings pass, and
// the exception an entity built at run time gets.
#include <loom/loom.hpp>  // (not only task.hpp: the generated code appended registers the tasks)

#include <catch2/catch.hpp>

#include <chrono>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>

namespace {

inline constexpr auto train = loom::task<"resources_train">([](std::int64_t steps) { return steps * 2; })
                                  .with_resources({.cpus = 8,
                                                   .memory = "16G",
                                                   .time = std::chrono::hours(2),
                                                   .gpus = 1,
                                                   .partition = "gpu"});
inline constexpr auto plain = loom::task<"resources_plain">([](std::int64_t x) { return x; });

std::string memory_problem(std::string_view memory) {
  return std::string(loom::resources{.memory = memory}.memory_problem());
}

}  // namespace

TEST_CASE("with_resources stores the request in the entity's policy", "[resources]") {
  STATIC_REQUIRE(train.policy().resources.cpus == 8);
  STATIC_REQUIRE(train.policy().resources.memory == "16G");
  STATIC_REQUIRE(train.policy().resources.time == std::chrono::seconds(7200));
  STATIC_REQUIRE(train.policy().resources.gpus == 1);
  STATIC_REQUIRE(train.policy().resources.partition == "gpu");
  // Resources are not retries or a timeout: the node still runs the plain way.
  STATIC_REQUIRE(train.policy().plain());
  // Without with_resources: the cluster's defaults.
  STATIC_REQUIRE(plain.policy().resources.cpus == 0);
  STATIC_REQUIRE(plain.policy().resources.memory.empty());
  STATIC_REQUIRE(plain.policy().resources.partition.empty());
  CHECK(train(21) == 42);
}

TEST_CASE("memory is digits then at most one of K, M, G or T", "[resources]") {
  for (const std::string_view good : {"", "512", "512M", "16G", "1T", "64K"}) {
    CAPTURE(good);
    CHECK(memory_problem(good).empty());
  }
  for (const std::string_view bad : {"16 G", "G", "16GB", "-1", "1.5G", "16g", " 16G", "16G "}) {
    CAPTURE(bad);
    CHECK_FALSE(memory_problem(bad).empty());
  }
  STATIC_REQUIRE(loom::resources{.memory = "16G"}.memory_problem().empty());
  STATIC_REQUIRE(!loom::resources{.memory = "16GB"}.memory_problem().empty());
}

TEST_CASE("a partition with a space, a quote or a control character is refused", "[resources]") {
  for (const std::string_view good : {"", "gpu", "long-queue", "p_1.a"}) {
    CAPTURE(good);
    CHECK(loom::resources{.partition = good}.partition_ok());
  }
  for (const std::string_view bad : {"gpu nodes", "gpu'", "\"gpu\"", "gpu\\", "gpu\t", "gpu\n", "\x7f"}) {
    CAPTURE(bad);
    CHECK_FALSE(loom::resources{.partition = bad}.partition_ok());
  }
}

TEST_CASE("an entity built at run time with a malformed request throws, naming the task", "[resources]") {
  const auto task = loom::task<"resources_at_run_time">([](std::int64_t x) { return x + 1; });
  const std::string bad_memory = "16GB";
  CHECK_THROWS_AS(task.with_resources({.memory = bad_memory}), std::invalid_argument);
  CHECK_THROWS_WITH(task.with_resources({.memory = bad_memory}),
                    Catch::Contains("'resources_at_run_time'") && Catch::Contains("\"16GB\""));
  const std::string bad_partition = "gpu nodes";
  CHECK_THROWS_AS(task.with_resources({.partition = bad_partition}), std::invalid_argument);
  CHECK_THROWS_WITH(task.with_resources({.partition = bad_partition}),
                    Catch::Contains("'resources_at_run_time'") && Catch::Contains("\"gpu nodes\""));

  const std::string good_memory = "512M";
  const auto small = task.with_resources({.cpus = 2, .memory = good_memory});
  CHECK(small.policy().resources.cpus == 2);
  CHECK(small.policy().resources.memory == "512M");
}
