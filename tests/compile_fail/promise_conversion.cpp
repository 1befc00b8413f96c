// Reading a promise's value in a workflow body: converting promise<std::int64_t> to
// std::int64_t.
// expect: loom: a promise has no value while the workflow is being built; pass it to a task
#include <loom/workflow.hpp>

#include <cstddef>
#include <cstdint>

inline constexpr auto add = loom::task<"add">([](std::int64_t a, std::int64_t b) { return a + b; });

#ifndef LOOM_COMPILE_FAIL_CONTROL
inline constexpr auto misuse = loom::workflow<"misuse">([](auto& wf, loom::promise<std::int64_t> x) {
  const std::int64_t value = x;
  return wf(add, x, value);
});
#else
inline constexpr auto misuse = loom::workflow<"misuse">([](auto& wf, loom::promise<std::int64_t> x) {
  const loom::promise<std::int64_t> value = x;
  return wf(add, x, value);
});
static_assert(loom::plan_of(misuse).size() == 1);
#endif

// The plan is evaluated in both branches: in the misuse, that adds no second error.
inline constexpr std::size_t plan_size = loom::plan_of(misuse).size();
