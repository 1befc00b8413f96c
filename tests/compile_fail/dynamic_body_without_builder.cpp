// A dynamic workflow body that does not take the builder as its first parameter.
// expect: loom: the body of dynamic workflow name<...> must take loom::dynamic_builder& as its first parameter
// expect: dynamic_body_without_builder<loom::diagnostic::name<'s', 'q', 'u', 'a', 'r', 'e', 's'>
// <loom/workflow.hpp> too: it specializes detail::node_kind_of<task_kind>, which
// recording a task node in a dynamic body needs (<loom/dynamic.hpp> alone lacks it).
#include <loom/dynamic.hpp>
#include <loom/workflow.hpp>

#include <cstdint>
#include <vector>

inline constexpr auto square = loom::task<"square">([](std::int64_t x) { return x * x; });

#ifndef LOOM_COMPILE_FAIL_CONTROL
inline constexpr auto squares = loom::dynamic<"squares">([](std::int64_t n) {
  return std::vector<loom::promise<std::int64_t>>(static_cast<std::size_t>(n));
});
#else
inline constexpr auto squares = loom::dynamic<"squares">([](loom::dynamic_builder& wf, std::int64_t n) {
  std::vector<loom::promise<std::int64_t>> results;
  for (std::int64_t i = 0; i < n; ++i) results.push_back(wf(square, i));
  return results;
});
#endif
