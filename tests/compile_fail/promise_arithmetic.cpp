// Computing with a promise's value in a workflow body: `x + 1`.
// expect: loom: a promise has no value while the workflow is being built, so operator + cannot apply to it
#include <loom/workflow.hpp>

#include <cstddef>
#include <cstdint>

inline constexpr auto add = loom::task<"add">([](std::int64_t a, std::int64_t b) { return a + b; });

#ifndef LOOM_COMPILE_FAIL_CONTROL
inline constexpr auto misuse = loom::workflow<"misuse">([](auto& wf, loom::promise<std::int64_t> x) {
  return wf(add, x, x + 1);
});
#else
inline constexpr auto misuse = loom::workflow<"misuse">([](auto& wf, loom::promise<std::int64_t> x) {
  return wf(add, x, wf(add, x, 1));
});
static_assert(loom::plan_of(misuse).size() == 2);
#endif

// The plan is evaluated in both branches: in the misuse, that adds no second error.
inline constexpr std::size_t plan_size = loom::plan_of(misuse).size();
