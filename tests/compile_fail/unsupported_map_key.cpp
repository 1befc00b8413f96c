// A task taking a map whose keys are not strings (map keys are JSON object keys).
// expect: loom: unsupported task value type: offending_type<T> is a map whose key is not std::string
// expect: unsupported_type<loom::diagnostic::name<'c', 'o', 'u', 'n', 't'>
// expect: input<0>
// expect: offending_type<std::map<long
#include <loom/task.hpp>

#include <cstdint>
#include <map>
#include <string>

#ifndef LOOM_COMPILE_FAIL_CONTROL
using table = std::map<std::int64_t, std::string>;
#else
using table = std::map<std::string, std::string>;
#endif

inline constexpr auto count =
    loom::task<"count">([](const table& t) { return static_cast<std::int64_t>(t.size()); });
