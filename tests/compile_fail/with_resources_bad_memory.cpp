// with_resources({.memory = ...}) where the memory is not Slurm's spelling (digits, then
// at most one of K, M, G or T): in a constexpr entity the call of the reporting function
// is the error, and its name says what is wrong.
// expect: with_resources_memory_is_not_digits_then_K_M_G_or_T
#include <loom/task.hpp>

#include <cstdint>

inline constexpr auto add = loom::task<"add">([](std::int64_t a, std::int64_t b) { return a + b; });

#ifndef LOOM_COMPILE_FAIL_CONTROL
inline constexpr auto big_add = add.with_resources({.cpus = 2, .memory = "16 GB"});
#else
inline constexpr auto big_add = add.with_resources({.cpus = 2, .memory = "16G"});
#endif
