// A branch of a wf.when that returns a plain value, not promises: the error says which
// branch and what it returned.
// expect: loom: a branch of wf.when(cond, then_fn, else_fn) must be a callable taking the builder
// expect: when_branch_not_a_branch<loom::diagnostic::else_branch, loom::diagnostic::got<long
#include <loom/workflow.hpp>

#include <cstddef>
#include <cstdint>

inline constexpr auto is_big = loom::task<"is_big">([](std::int64_t x) { return x > 100; });
inline constexpr auto twice = loom::task<"twice">([](std::int64_t x) { return 2 * x; });

#ifndef LOOM_COMPILE_FAIL_CONTROL
inline constexpr auto misuse = loom::workflow<"misuse">([](auto& wf, loom::promise<std::int64_t> x) {
  return wf.when(wf(is_big, x), [&](auto& b) { return b(twice, x); }, [](auto&) { return std::int64_t{0}; });
});
#else
inline constexpr auto misuse = loom::workflow<"misuse">([](auto& wf, loom::promise<std::int64_t> x) {
  return wf.when(wf(is_big, x), [&](auto& b) { return b(twice, x); }, [&](auto&) { return x; });
});
#endif

inline constexpr std::size_t plan_size = loom::plan_of(misuse).size();
