// A dynamic workflow body that returns a native value instead of promises.
// expect: loom: the body of dynamic workflow name<...> must return a loom::promise<R>
// expect: dynamic_body_result_not_promises<loom::diagnostic::name<'t', 'o', 't', 'a', 'l'>
// expect: got<long
// <loom/workflow.hpp> too: it specializes detail::node_kind_of<task_kind>, which
// recording a task node in a dynamic body needs (<loom/dynamic.hpp> alone lacks it).
#include <loom/dynamic.hpp>
#include <loom/workflow.hpp>

#include <cstdint>

inline constexpr auto square = loom::task<"square">([](std::int64_t x) { return x * x; });
inline constexpr auto add = loom::task<"add">([](std::int64_t a, std::int64_t b) { return a + b; });

#ifndef LOOM_COMPILE_FAIL_CONTROL
inline constexpr auto total = loom::dynamic<"total">([](loom::dynamic_builder& wf, std::int64_t n) {
  (void)wf(square, n);
  return n;
});
#else
inline constexpr auto total = loom::dynamic<"total">([](loom::dynamic_builder& wf, std::int64_t n) {
  return wf(add, wf(square, n), n);
});
#endif
