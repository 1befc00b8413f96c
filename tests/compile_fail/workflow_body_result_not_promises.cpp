// A static workflow body that returns a native value instead of a promise.
// expect: loom: the body of workflow name<...> must return a loom::promise<R> or a std::tuple of promises
// expect: workflow_body_result_not_promises<loom::diagnostic::name<'m', 'i', 's', 'u', 's', 'e'>
// expect: got<long
#include <loom/workflow.hpp>

#include <cstddef>
#include <cstdint>

inline constexpr auto add = loom::task<"add">([](std::int64_t a, std::int64_t b) { return a + b; });

#ifndef LOOM_COMPILE_FAIL_CONTROL
inline constexpr auto misuse = loom::workflow<"misuse">([](auto& wf, loom::promise<std::int64_t> x) {
  (void)wf(add, x, x);
  return std::int64_t{0};
});
#else
inline constexpr auto misuse = loom::workflow<"misuse">([](auto& wf, loom::promise<std::int64_t> x) {
  return wf(add, x, x);
});
static_assert(loom::plan_of(misuse).size() == 1);
#endif

// The plan is evaluated in both branches: in the misuse, that adds no second error.
inline constexpr std::size_t plan_size = loom::plan_of(misuse).size();
