// A task returning a class whose copy constructor is deleted.
// expect: loom: unsupported task value type: offending_type<T> is not copyable
// expect: unsupported_type<loom::diagnostic::name<'o', 'p', 'e', 'n'>
// expect: output<0>
// expect: offending_type<handle>
#include <loom/task.hpp>

#include <cstdint>

struct handle {
  std::int64_t fd = 0;
  handle() = default;
  handle(const handle&) = delete;
  handle(handle&&) = default;
};

#ifndef LOOM_COMPILE_FAIL_CONTROL
inline constexpr auto open = loom::task<"open">([](std::int64_t fd) {
  handle h;
  h.fd = fd;
  return h;
});
#else
inline constexpr auto open = loom::task<"open">([](std::int64_t fd) { return fd; });
#endif
