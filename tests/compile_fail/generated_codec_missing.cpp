// A plain struct in a target built with loom_generate, serialized in a translation unit
// where no task or workflow uses it: loom-codegen wrote no serializer for it there.
// expect: loom: no generated serializer for T
// expect: use the type in one of them
// expect: unused_in_tasks
#define LOOM_GENERATED 1
#include <loom/literal.hpp>

#include <cstdint>

struct unused_in_tasks {
  std::int64_t x = 0;
};

#ifndef LOOM_COMPILE_FAIL_CONTROL
inline loom::json write() { return loom::to_literal(unused_in_tasks{}); }
#else
inline loom::json write() { return loom::to_literal(std::int64_t{1}); }
#endif

// What loom_generate appends to the translation unit (here, for no type).
#include <loom/generated.hpp>
