// A wrong argument type in wf(task, args...) inside a dynamic workflow body: a native
// std::string (the body's materialized input) given to an std::int64_t parameter.
// expect: loom: wrong argument type in wf(task, args...)
// expect: wrong_argument_type<loom::diagnostic::name<'a', 'd', 'd'>
// expect: argument<1>
// expect: expected<long
// expect: got<std::
// <loom/workflow.hpp> too: it specializes detail::node_kind_of<task_kind>, which
// recording a task node in a dynamic body needs (<loom/dynamic.hpp> alone lacks it).
#include <loom/dynamic.hpp>
#include <loom/workflow.hpp>

#include <cstdint>
#include <string>

inline constexpr auto add = loom::task<"add">([](std::int64_t a, std::int64_t b) { return a + b; });

#ifndef LOOM_COMPILE_FAIL_CONTROL
inline constexpr auto misuse = loom::dynamic<"misuse">([](loom::dynamic_builder& wf, std::string s) {
  return wf(add, 1, s);
});
#else
inline constexpr auto misuse = loom::dynamic<"misuse">([](loom::dynamic_builder& wf, std::string s) {
  return wf(add, 1, static_cast<std::int64_t>(s.size()));
});
#endif
