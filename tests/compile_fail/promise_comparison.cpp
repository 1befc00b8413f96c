// Branching on a promise's value in a static workflow body: `if (x > 0)`.
// expect: loom: a promise has no value while the workflow is being built, so operator > cannot apply to it
#include <loom/workflow.hpp>

#include <cstddef>
#include <cstdint>

inline constexpr auto add = loom::task<"add">([](std::int64_t a, std::int64_t b) { return a + b; });
inline constexpr auto sub = loom::task<"sub">([](std::int64_t a, std::int64_t b) { return a - b; });

#ifndef LOOM_COMPILE_FAIL_CONTROL
inline constexpr auto misuse = loom::workflow<"misuse">([](auto& wf, loom::promise<std::int64_t> x) {
  if (x > 0) return wf(add, x, 1);
  return wf(sub, x, 1);
});
#else
// Branching on a native value known while the body is built is fine.
inline constexpr auto misuse = loom::workflow<"misuse">([](auto& wf, loom::promise<std::int64_t> x) {
  constexpr bool up = true;
  if (up) return wf(add, x, 1);
  return wf(sub, x, 1);
});
static_assert(loom::plan_of(misuse).size() == 1);
#endif

// The plan is evaluated in both branches: in the misuse, that adds no second error.
inline constexpr std::size_t plan_size = loom::plan_of(misuse).size();
