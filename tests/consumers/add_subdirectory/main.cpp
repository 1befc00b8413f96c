// Loom used from a project that add_subdirectory()s it: a small static workflow,
// checked at compile time (the plan) and at run time (the result).
#include <loom/loom.hpp>

#include <cstdint>
#include <exception>
#include <iostream>

namespace {

constexpr auto add = loom::task<"add">([](std::int64_t a, std::int64_t b) { return a + b; });
constexpr auto mul = loom::task<"mul">([](std::int64_t a, std::int64_t b) { return a * b; });

// (x + y) * (x + 1)
constexpr auto consumer_wf =
    loom::workflow<"consumer_wf">([](auto& wf, loom::promise<std::int64_t> x, loom::promise<std::int64_t> y) {
      return wf(mul, wf(add, x, y), wf(add, x, 1));
    }).with_inputs("x", "y");

static_assert(loom::plan_of(consumer_wf).size() == 3);
static_assert(loom::plan_of(consumer_wf).name == "consumer_wf");

}  // namespace

int main() {
  try {
    const std::int64_t result = consumer_wf(std::int64_t{3}, std::int64_t{4});
    if (result != 28) {
      std::cerr << "consumer (add_subdirectory): expected 28, got " << result << '\n';
      return 1;
    }
    std::cout << "consumer (add_subdirectory): " << result << '\n';
  } catch (const std::exception& e) {
    std::cerr << "consumer (add_subdirectory): " << e.what() << '\n';
    return 1;
  }
  return 0;
}
