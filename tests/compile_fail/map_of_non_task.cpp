// wf.map(x, args...) where x is a workflow, not a task: a map runs a task over items.
// expect: loom: wf.map(x, args...) maps a loom::task over lists
// expect: map_of_non_task<loom::diagnostic::name<'d', 'o', 'u', 'b', 'l', 'e'>
#include <loom/dynamic.hpp>
#include <loom/workflow.hpp>

#include <cstdint>
#include <vector>

inline constexpr auto add = loom::task<"add">([](std::int64_t a, std::int64_t b) { return a + b; });
inline constexpr auto twice = loom::workflow<"double">([](auto& wf, loom::promise<std::int64_t> x) {
  return wf(add, x, x);
});

#ifndef LOOM_COMPILE_FAIL_CONTROL
inline constexpr auto misuse = loom::dynamic<"misuse">([](loom::dynamic_builder& wf, std::vector<std::int64_t> xs) {
  return wf.map(twice, xs);
});
#else
inline constexpr auto misuse = loom::dynamic<"misuse">([](loom::dynamic_builder& wf, std::vector<std::int64_t> xs) {
  return wf.map(add, xs, xs);
});
#endif
