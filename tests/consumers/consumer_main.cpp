// Loom used from a downstream project (add_subdirectory or find_package, named by
// CONSUMER_MODE), built with loom_generate(consumer): a static workflow checked at
// compile time, and a task on a plain struct run by name with a named input.
#include <loom/loom.hpp>

#include <cstdint>
#include <exception>
#include <iostream>
#include <sstream>
#include <string>

#include "consumer_types.hpp"

std::string consumer_stored_run_id();  // second_tu.cpp

namespace {

constexpr auto add = loom::task<"add">([](std::int64_t a, std::int64_t b) { return a + b; });
constexpr auto mul = loom::task<"mul">([](std::int64_t a, std::int64_t b) { return a * b; });
constexpr auto scale = loom::task<"scale">([](point p, std::int64_t factor = 2) { return point{p.x * factor, p.y * factor}; });

// (x + y) * (x + 1)
constexpr auto consumer_wf =
    loom::workflow<"consumer_wf">([](auto& wf, loom::promise<std::int64_t> x, loom::promise<std::int64_t> y) {
      return wf(mul, wf(add, x, y), wf(add, x, 1));
    });

static_assert(loom::plan_of(consumer_wf).size() == 3);
static_assert(loom::plan_of(consumer_wf).name == "consumer_wf");

int fail(const std::string& what) {
  std::cerr << "consumer (" CONSUMER_MODE "): " << what << '\n';
  return 1;
}

}  // namespace

int main() {
  try {
    const std::int64_t result = consumer_wf(std::int64_t{3}, std::int64_t{4});
    if (result != 28) return fail("expected 28, got " + std::to_string(result));
    // By name, with the input named after its parameter and the default argument.
    std::ostringstream out, err;
    std::string args[] = {"consumer", "run", "scale", "--p", R"({"x":1,"y":-2})"};
    char* argv[] = {args[0].data(), args[1].data(), args[2].data(), args[3].data(), args[4].data()};
    const int status = loom::run_command_line(5, argv, out, err);
    if (status != 0 || out.str() != "{\"o0\":{\"x\":2,\"y\":-4}}\n") {
      return fail("scale: exit " + std::to_string(status) + ", out '" + out.str() + "', err '" + err.str() + "'");
    }
    if (consumer_stored_run_id().rfind("ex-", 0) != 0) return fail("no execution id from the second unit");
    std::cout << "consumer (" CONSUMER_MODE "): " << result << ' ' << out.str();
  } catch (const std::exception& e) {
    return fail(e.what());
  }
  return 0;
}
