// wf(x, ...) where x is a plain callable, not a loom::task / workflow / dynamic.
// expect: loom: wf(x, args...) needs x to be a loom::task, loom::workflow or loom::dynamic
// expect: not_a_task<loom::diagnostic::got<doubler>
#include <loom/workflow.hpp>

#include <cstddef>
#include <cstdint>

struct doubler {
  std::int64_t operator()(std::int64_t a) const { return 2 * a; }
};

#ifndef LOOM_COMPILE_FAIL_CONTROL
inline constexpr auto misuse =
    loom::workflow<"misuse">([](auto& wf, loom::promise<std::int64_t> x) { return wf(doubler{}, x); });
#else
inline constexpr auto twice = loom::task<"twice">(doubler{});
inline constexpr auto misuse =
    loom::workflow<"misuse">([](auto& wf, loom::promise<std::int64_t> x) { return wf(twice, x); });
static_assert(loom::plan_of(misuse).size() == 1);
#endif

// The plan is evaluated in both branches: in the misuse, that adds no second error.
inline constexpr std::size_t plan_size = loom::plan_of(misuse).size();
