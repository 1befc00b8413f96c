// A task taking a move-only type: a value may feed several nodes, so it must be copyable.
// expect: loom: unsupported task value type: offending_type<T> is not copyable
// expect: unsupported_type<loom::diagnostic::name<'o', 'w', 'n'>
// expect: input<0>
// expect: offending_type<std::unique_ptr<int
#include <loom/task.hpp>

#include <cstdint>
#include <memory>

#ifndef LOOM_COMPILE_FAIL_CONTROL
inline constexpr auto own = loom::task<"own">([](std::unique_ptr<int> p) -> std::int64_t { return *p; });
#else
inline constexpr auto own = loom::task<"own">([](std::int64_t p) -> std::int64_t { return p; });
#endif
