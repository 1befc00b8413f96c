// A task taking a struct that is not described with Boost.Hana: no encoding is known.
// expect: loom: unsupported task value type: offending_type<T> is a class with no known encoding
// expect: BOOST_HANA_DEFINE_STRUCT
// expect: unsupported_type<loom::diagnostic::name<'n', 'o', 'r', 'm'>
// expect: input<0>
// expect: offending_type<point>
#include <loom/task.hpp>

#include <boost/hana/define_struct.hpp>

#include <cstdint>

#ifndef LOOM_COMPILE_FAIL_CONTROL
struct point {
  std::int64_t x = 0;
  std::int64_t y = 0;
};
#else
struct point {
  BOOST_HANA_DEFINE_STRUCT(point, (std::int64_t, x), (std::int64_t, y));
};
#endif

inline constexpr auto norm = loom::task<"norm">([](point p) { return p.x * p.x + p.y * p.y; });
