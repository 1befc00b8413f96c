// The condition of a wf.when is not a promise<bool>: the error names its type.
// expect: loom: the condition of wf.when(cond, then_fn, else_fn) must be a loom::promise<bool>
// expect: when_condition_not_bool<loom::diagnostic::got<loom::promise<long
#include <loom/workflow.hpp>

#include <cstddef>
#include <cstdint>

inline constexpr auto is_big = loom::task<"is_big">([](std::int64_t x) { return x > 100; });
inline constexpr auto twice = loom::task<"twice">([](std::int64_t x) { return 2 * x; });
inline constexpr auto half = loom::task<"half">([](std::int64_t x) { return x / 2; });

#ifndef LOOM_COMPILE_FAIL_CONTROL
inline constexpr auto misuse = loom::workflow<"misuse">([](auto& wf, loom::promise<std::int64_t> x) {
  return wf.when(x, [&](auto& b) { return b(twice, x); }, [&](auto& b) { return b(half, x); });
});
#else
inline constexpr auto misuse = loom::workflow<"misuse">([](auto& wf, loom::promise<std::int64_t> x) {
  return wf.when(wf(is_big, x), [&](auto& b) { return b(twice, x); }, [&](auto& b) { return b(half, x); });
});
#endif

inline constexpr std::size_t plan_size = loom::plan_of(misuse).size();
