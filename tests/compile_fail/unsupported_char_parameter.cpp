// A task taking a char: a character is a std::string of size 1.
// expect: loom: unsupported task value type: offending_type<T> is a character type
// expect: unsupported_type<loom::diagnostic::name<'r', 'a', 'n', 'k'>
// expect: input<0>
// expect: offending_type<char>
#include <loom/task.hpp>

#include <cstdint>
#include <string>

#ifndef LOOM_COMPILE_FAIL_CONTROL
inline constexpr auto rank = loom::task<"rank">([](char c) -> std::int64_t { return c - 'a'; });
#else
inline constexpr auto rank = loom::task<"rank">([](std::string c) -> std::int64_t { return c.at(0) - 'a'; });
#endif
