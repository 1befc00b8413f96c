// The branches of a wf.when return promises of different types: the error names the
// output and both types.
// expect: loom: the branches of wf.when(cond, then_fn, else_fn) must return promises of the same types
// expect: when_branches_disagree<loom::diagnostic::output<0>
// expect: expected<long
// expect: got<std::
#include <loom/workflow.hpp>

#include <cstddef>
#include <cstdint>
#include <string>

inline constexpr auto is_big = loom::task<"is_big">([](std::int64_t x) { return x > 100; });
inline constexpr auto twice = loom::task<"twice">([](std::int64_t x) { return 2 * x; });
inline constexpr auto text = loom::task<"text">([](std::int64_t x) { return std::to_string(x); });
inline constexpr auto half = loom::task<"half">([](std::int64_t x) { return x / 2; });

#ifndef LOOM_COMPILE_FAIL_CONTROL
inline constexpr auto misuse = loom::workflow<"misuse">([](auto& wf, loom::promise<std::int64_t> x) {
  return wf.when(wf(is_big, x), [&](auto& b) { return b(twice, x); }, [&](auto& b) { return b(text, x); });
});
#else
inline constexpr auto misuse = loom::workflow<"misuse">([](auto& wf, loom::promise<std::int64_t> x) {
  return wf.when(wf(is_big, x), [&](auto& b) { return b(twice, x); }, [&](auto& b) { return b(half, x); });
});
static_assert(loom::plan_of(misuse).size() == 5);
#endif

// The plan is evaluated in both branches: in the misuse, that adds no second error.
inline constexpr std::size_t plan_size = loom::plan_of(misuse).size();
