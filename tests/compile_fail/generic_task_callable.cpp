// A generic lambda as a task: it has no single signature, so no typed interface.
// expect: loom: the callable of task name<...> has no single signature
// expect: generic_task_callable<loom::diagnostic::name<'t', 'w', 'i', 'c', 'e'>
#include <loom/task.hpp>

#include <cstdint>

#ifndef LOOM_COMPILE_FAIL_CONTROL
inline constexpr auto twice = loom::task<"twice">([](auto a) { return a + a; });
#else
inline constexpr auto twice = loom::task<"twice">([](std::int64_t a) { return a + a; });
#endif
