// A partial map of a task whose output is itself a std::optional: a failed item and an
// item that returned nullopt would both be empty. The error names the task, the output
// and its type.
// expect: loom: a partial map (partial_map_options) of name<...> would give lists of std::optional
// expect: partial_map_of_optional_output<loom::diagnostic::name<'h', 'a', 'l', 'f'>
// expect: output<0>
// expect: got<std::optional<long
#include <loom/dynamic.hpp>
#include <loom/workflow.hpp>

#include <cstdint>
#include <optional>
#include <vector>

inline constexpr auto half = loom::task<"half">([](std::int64_t x) -> std::optional<std::int64_t> {
  if (x % 2 != 0) return std::nullopt;
  return x / 2;
});

#ifndef LOOM_COMPILE_FAIL_CONTROL
inline constexpr auto misuse = loom::dynamic<"misuse">([](loom::dynamic_builder& wf, std::vector<std::int64_t> xs) {
  return wf.map(half, xs, loom::partial_map_options{.min_success_ratio = 0.5});
});
#else
inline constexpr auto misuse = loom::dynamic<"misuse">([](loom::dynamic_builder& wf, std::vector<std::int64_t> xs) {
  return wf.map(half, xs, loom::map_options{});  // every item must succeed: no ambiguity
});
#endif
