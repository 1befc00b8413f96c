// A task with an unsupported value type, called in a dynamic workflow body: still one
// error, from the task's definition (recording the node adds none).
// expect: loom: unsupported task value type: offending_type<T> is a character type
// expect: unsupported_type<loom::diagnostic::name<'r', 'a', 'n', 'k'>
// expect: input<0>
// expect: offending_type<char>
// <loom/workflow.hpp> too: it specializes detail::node_kind_of<task_kind>, which
// recording a task node in a dynamic body needs (<loom/dynamic.hpp> alone lacks it).
#include <loom/dynamic.hpp>
#include <loom/workflow.hpp>

#include <cstdint>
#include <string>

#ifndef LOOM_COMPILE_FAIL_CONTROL
inline constexpr auto rank = loom::task<"rank">([](char c) -> std::int64_t { return c - 'a'; });
inline constexpr auto misuse = loom::dynamic<"misuse">([](loom::dynamic_builder& wf, std::string s) {
  return wf(rank, s.at(0));
});
#else
inline constexpr auto rank = loom::task<"rank">([](std::string c) -> std::int64_t { return c.at(0) - 'a'; });
inline constexpr auto misuse = loom::dynamic<"misuse">([](loom::dynamic_builder& wf, std::string s) {
  return wf(rank, s.substr(0, 1));
});
#endif
