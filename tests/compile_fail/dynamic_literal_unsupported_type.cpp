// wf.literal(v) of a value that is not a task value: the innermost offending type is
// named.
// expect: loom: wf.literal(v) needs a task value type
// expect: got<std::vector<int
// expect: offending_type<int
// <loom/workflow.hpp> too: it specializes detail::node_kind_of<task_kind>, which
// recording a task node in a dynamic body needs (<loom/dynamic.hpp> alone lacks it).
#include <loom/dynamic.hpp>
#include <loom/workflow.hpp>

#include <cstdint>
#include <vector>

inline constexpr auto count = loom::task<"count">([](std::vector<std::int64_t> v) {
  return static_cast<std::int64_t>(v.size());
});

#ifndef LOOM_COMPILE_FAIL_CONTROL
inline constexpr auto misuse = loom::dynamic<"misuse">([](loom::dynamic_builder& wf, std::int64_t n) {
  static int cell = 0;
  const auto cells = wf.literal(std::vector<int*>(static_cast<std::size_t>(n), &cell));
  (void)cells;
  return wf(count, std::vector<std::int64_t>{});
});
#else
inline constexpr auto misuse = loom::dynamic<"misuse">([](loom::dynamic_builder& wf, std::int64_t n) {
  const auto cells = wf.literal(std::vector<std::int64_t>(static_cast<std::size_t>(n), 0));
  (void)cells;
  return wf(count, std::vector<std::int64_t>{});
});
#endif
