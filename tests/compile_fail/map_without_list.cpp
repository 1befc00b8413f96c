// wf.map(task, args...) where no argument is a list: nothing to map over (a plain
// wf(task, args...) call is what was meant).
// expect: loom: wf.map(task, args...) of name<...> maps nothing
// expect: map_without_list<loom::diagnostic::name<'a', 'd', 'd'>
#include <loom/dynamic.hpp>
#include <loom/workflow.hpp>

#include <cstdint>

inline constexpr auto add = loom::task<"add">([](std::int64_t a, std::int64_t b) { return a + b; });

#ifndef LOOM_COMPILE_FAIL_CONTROL
inline constexpr auto misuse = loom::dynamic<"misuse">([](loom::dynamic_builder& wf, std::int64_t x) {
  return wf.map(add, x, 1);
});
#else
inline constexpr auto misuse = loom::dynamic<"misuse">([](loom::dynamic_builder& wf, std::int64_t x) {
  return wf(add, x, 1);
});
#endif
