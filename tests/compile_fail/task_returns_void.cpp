// A task that returns nothing: a task's output is its result.
// expect: loom: the task name<...> returns void; a task must return a value
// expect: task_returns_void<loom::diagnostic::name<'l', 'o', 'g'>
#include <loom/task.hpp>

#include <cstdio>
#include <string>

#ifndef LOOM_COMPILE_FAIL_CONTROL
inline constexpr auto log = loom::task<"log">([](std::string s) { std::puts(s.c_str()); });
#else
inline constexpr auto log = loom::task<"log">([](std::string s) { return std::puts(s.c_str()) >= 0; });
#endif
