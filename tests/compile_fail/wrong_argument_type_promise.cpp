// A promise of the wrong type passed to a task in a static workflow body: the error names
// the task, the argument position (0-based) and both types.
// expect: loom: wrong argument type in wf(task, args...)
// expect: wrong_argument_type<loom::diagnostic::name<'a', 'd', 'd'>
// expect: argument<1>
// expect: expected<long
// expect: got<loom::promise<std::
#include <loom/workflow.hpp>

#include <cstddef>
#include <cstdint>
#include <string>

inline constexpr auto add = loom::task<"add">([](std::int64_t a, std::int64_t b) { return a + b; });

#ifndef LOOM_COMPILE_FAIL_CONTROL
inline constexpr auto misuse = loom::workflow<"misuse">(
    [](auto& wf, loom::promise<std::int64_t> x, loom::promise<std::string> s) { return wf(add, x, s); });
#else
inline constexpr auto misuse = loom::workflow<"misuse">(
    [](auto& wf, loom::promise<std::int64_t> x, loom::promise<std::int64_t> y) { return wf(add, x, y); });
static_assert(loom::plan_of(misuse).size() == 1);
#endif

// The plan is evaluated in both branches: in the misuse, that adds no second error.
inline constexpr std::size_t plan_size = loom::plan_of(misuse).size();
