// A task returning a raw pointer: outputs must be values too.
// expect: loom: unsupported task value type: offending_type<T> is a pointer
// expect: unsupported_type<loom::diagnostic::name<'n', 'a', 'm', 'e'>
// expect: output<0>
// expect: offending_type<const char
#include <loom/task.hpp>

#include <cstdint>
#include <string>

#ifndef LOOM_COMPILE_FAIL_CONTROL
inline constexpr auto name = loom::task<"name">([](std::int64_t) -> const char* { return "loom"; });
#else
inline constexpr auto name = loom::task<"name">([](std::int64_t) -> std::string { return "loom"; });
#endif
