// with_resources({.partition = ...}) where the partition has a space (or a quote, or a
// control character) and could not be passed to sbatch as it is: in a constexpr entity
// the call of the reporting function is the error, and its name says what is wrong.
// expect: with_resources_partition_has_a_space_quote_or_control_character
#include <loom/task.hpp>

#include <cstdint>

inline constexpr auto add = loom::task<"add">([](std::int64_t a, std::int64_t b) { return a + b; });

#ifndef LOOM_COMPILE_FAIL_CONTROL
inline constexpr auto gpu_add = add.with_resources({.gpus = 1, .partition = "gpu nodes"});
#else
inline constexpr auto gpu_add = add.with_resources({.gpus = 1, .partition = "gpu"});
#endif
