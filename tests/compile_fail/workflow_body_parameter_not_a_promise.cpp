// A static workflow body whose input parameter is a native value, not a promise.
// expect: loom: the body of workflow name<...> must take (auto& wf, loom::promise<A> a, ...)
// expect: workflow_body_parameter_not_a_promise<loom::diagnostic::name<'m', 'i', 's', 'u', 's', 'e'>
// expect: input<1>
// expect: got<long
#include <loom/workflow.hpp>

#include <cstddef>
#include <cstdint>

inline constexpr auto add = loom::task<"add">([](std::int64_t a, std::int64_t b) { return a + b; });

#ifndef LOOM_COMPILE_FAIL_CONTROL
inline constexpr auto misuse = loom::workflow<"misuse">(
    [](auto& wf, loom::promise<std::int64_t> x, std::int64_t y) { return wf(add, x, y); });
#else
inline constexpr auto misuse = loom::workflow<"misuse">(
    [](auto& wf, loom::promise<std::int64_t> x, loom::promise<std::int64_t> y) { return wf(add, x, y); });
static_assert(loom::plan_of(misuse).size() == 1);
#endif

// The plan is evaluated in both branches: in the misuse, that adds no second error.
inline constexpr std::size_t plan_size = loom::plan_of(misuse).size();
