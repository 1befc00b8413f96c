// Calling a task directly (natively) with a promise inside a workflow body, instead of
// wf(task, ...).
// expect: loom: a promise was passed to a direct (native) call of name<...>
// expect: promise_in_native_call<loom::diagnostic::name<'a', 'd', 'd'>
// expect: argument<0>
// expect: got<loom::promise<long
#include <loom/workflow.hpp>

#include <cstddef>
#include <cstdint>

inline constexpr auto add = loom::task<"add">([](std::int64_t a, std::int64_t b) { return a + b; });

#ifndef LOOM_COMPILE_FAIL_CONTROL
inline constexpr auto misuse = loom::workflow<"misuse">([](auto& wf, loom::promise<std::int64_t> x) {
  const std::int64_t sum = add(x, 1);
  return wf(add, x, sum);
});
#else
inline constexpr auto misuse = loom::workflow<"misuse">([](auto& wf, loom::promise<std::int64_t> x) {
  const auto sum = wf(add, x, 1);
  return wf(add, x, sum);
});
static_assert(loom::plan_of(misuse).size() == 2);
#endif

// The plan is evaluated in both branches: in the misuse, that adds no second error.
inline constexpr std::size_t plan_size = loom::plan_of(misuse).size();
