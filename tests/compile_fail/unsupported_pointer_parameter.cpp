// A task taking a raw pointer: an address means nothing in another process or host.
// expect: loom: unsupported task value type: offending_type<T> is a pointer
// expect: unsupported_type<loom::diagnostic::name<'d', 'e', 'r', 'e', 'f'>
// expect: input<0>
// expect: offending_type<const long
#include <loom/task.hpp>

#include <cstdint>

#ifndef LOOM_COMPILE_FAIL_CONTROL
inline constexpr auto deref = loom::task<"deref">([](const std::int64_t* p) { return *p; });
#else
inline constexpr auto deref = loom::task<"deref">([](std::int64_t p) { return p; });
#endif
