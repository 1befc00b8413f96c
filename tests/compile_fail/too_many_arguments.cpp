// More arguments than the task has inputs.
// expect: loom: wrong number of arguments: the task name<...> takes expected_count<N> inputs
// expect: too_many_arguments<loom::diagnostic::name<'a', 'd', 'd'>
// expect: expected_count<2>
// expect: got_count<3>
#include <loom/workflow.hpp>

#include <cstddef>
#include <cstdint>

inline constexpr auto add = loom::task<"add">([](std::int64_t a, std::int64_t b) { return a + b; });

#ifndef LOOM_COMPILE_FAIL_CONTROL
inline constexpr auto misuse =
    loom::workflow<"misuse">([](auto& wf, loom::promise<std::int64_t> x) { return wf(add, x, x, 3); });
#else
inline constexpr auto misuse =
    loom::workflow<"misuse">([](auto& wf, loom::promise<std::int64_t> x) { return wf(add, x, x); });
static_assert(loom::plan_of(misuse).size() == 1);
#endif

// The plan is evaluated in both branches: in the misuse, that adds no second error.
inline constexpr std::size_t plan_size = loom::plan_of(misuse).size();
