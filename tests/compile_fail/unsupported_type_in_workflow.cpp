// A task with an unsupported value type, called in a static workflow body whose plan is
// evaluated: still one error, from the task's definition (recording the node adds none).
// expect: loom: unsupported task value type: offending_type<T> is a character type
// expect: unsupported_type<loom::diagnostic::name<'r', 'a', 'n', 'k'>
// expect: input<0>
// expect: offending_type<char>
#include <loom/workflow.hpp>

#include <cstddef>
#include <cstdint>
#include <string>

#ifndef LOOM_COMPILE_FAIL_CONTROL
inline constexpr auto rank = loom::task<"rank">([](char c) -> std::int64_t { return c - 'a'; });
inline constexpr auto misuse = loom::workflow<"misuse">([](auto& wf) { return wf(rank, 'c'); });
#else
inline constexpr auto rank = loom::task<"rank">([](std::string c) -> std::int64_t { return c.at(0) - 'a'; });
inline constexpr auto misuse = loom::workflow<"misuse">([](auto& wf) { return wf(rank, "c"); });
static_assert(loom::plan_of(misuse).size() == 1);
#endif

// The plan is evaluated in both branches: in the misuse, that adds no second error.
inline constexpr std::size_t plan_size = loom::plan_of(misuse).size();
