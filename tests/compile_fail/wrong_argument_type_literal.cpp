// A native value that does not convert to the task's parameter type, bound as a literal
// in a static workflow body: the error names the task, the position and both types.
// expect: loom: wrong argument type in wf(task, args...)
// expect: wrong_argument_type<loom::diagnostic::name<'a', 'd', 'd'>
// expect: argument<1>
// expect: expected<long
// expect: got<std::vector<long
#include <loom/workflow.hpp>

#include <cstddef>
#include <cstdint>
#include <vector>

inline constexpr auto add = loom::task<"add">([](std::int64_t a, std::int64_t b) { return a + b; });

#ifndef LOOM_COMPILE_FAIL_CONTROL
inline constexpr auto misuse = loom::workflow<"misuse">(
    [](auto& wf, loom::promise<std::int64_t> x) { return wf(add, x, std::vector<std::int64_t>{1, 2}); });
#else
inline constexpr auto misuse =
    loom::workflow<"misuse">([](auto& wf, loom::promise<std::int64_t> x) { return wf(add, x, 2); });
static_assert(loom::plan_of(misuse).size() == 1);
#endif

// The plan is evaluated in both branches: in the misuse, that adds no second error.
inline constexpr std::size_t plan_size = loom::plan_of(misuse).size();
