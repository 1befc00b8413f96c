// with_default<I>(value) for an input that does not exist (inputs are 0-based).
// expect: loom: with_default<I>(value) on name<...>: input<I> does not exist
// expect: default_index_out_of_range<loom::diagnostic::name<'a', 'd', 'd'>
// expect: input<2>
// expect: expected_count<2>
#include <loom/task.hpp>

#include <cstdint>

inline constexpr auto add = loom::task<"add">([](std::int64_t a, std::int64_t b) { return a + b; });

#ifndef LOOM_COMPILE_FAIL_CONTROL
inline constexpr auto add_five = add.with_default<2>(5);
#else
inline constexpr auto add_five = add.with_default<1>(5);
#endif
