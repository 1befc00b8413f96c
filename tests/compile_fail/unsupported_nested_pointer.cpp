// A nested unsupported type: the innermost offending type is named, not the container.
// expect: loom: unsupported task value type: offending_type<T> is a pointer
// expect: unsupported_type<loom::diagnostic::name<'s', 'u', 'm'>
// expect: input<1>
// expect: offending_type<int
#include <loom/task.hpp>

#include <cstdint>
#include <vector>

#ifndef LOOM_COMPILE_FAIL_CONTROL
using element = int*;
inline std::int64_t value_of(element e) { return *e; }
#else
using element = int;
inline std::int64_t value_of(element e) { return e; }
#endif

inline constexpr auto sum = loom::task<"sum">([](std::int64_t start, std::vector<element> v) {
  for (auto e : v) start += value_of(e);
  return start;
});
