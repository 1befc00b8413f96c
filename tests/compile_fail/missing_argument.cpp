// Too few arguments, and the missing input has no default value.
// expect: loom: wrong number of arguments: the task name<...> needs an argument
// expect: missing_argument<loom::diagnostic::name<'a', 'd', 'd'>
// expect: argument<1>
// expect: expected<long
#include <loom/workflow.hpp>

#include <cstddef>
#include <cstdint>

inline constexpr auto add = loom::task<"add">([](std::int64_t a, std::int64_t b) { return a + b; });

#ifndef LOOM_COMPILE_FAIL_CONTROL
inline constexpr auto misuse =
    loom::workflow<"misuse">([](auto& wf, loom::promise<std::int64_t> x) { return wf(add, x); });
#else
// With a default value for the second input, the same call is well formed.
inline constexpr auto add_one = add.with_default<1>(1);
inline constexpr auto misuse =
    loom::workflow<"misuse">([](auto& wf, loom::promise<std::int64_t> x) { return wf(add_one, x); });
static_assert(loom::plan_of(misuse).size() == 1);
#endif

// The plan is evaluated in both branches: in the misuse, that adds no second error.
inline constexpr std::size_t plan_size = loom::plan_of(misuse).size();
