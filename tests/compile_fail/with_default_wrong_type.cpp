// with_default<I>(value) where the value does not convert to the input's type.
// expect: loom: with_default<I>(value) on name<...>: the value of type got<T> does not convert
// expect: wrong_default_type<loom::diagnostic::name<'a', 'd', 'd'>
// expect: input<1>
// expect: expected<long
// expect: got<const char
#include <loom/task.hpp>

#include <cstdint>

inline constexpr auto add = loom::task<"add">([](std::int64_t a, std::int64_t b) { return a + b; });

#ifndef LOOM_COMPILE_FAIL_CONTROL
inline constexpr auto add_five = add.with_default<1>("five");
#else
inline constexpr auto add_five = add.with_default<1>(5);
#endif
