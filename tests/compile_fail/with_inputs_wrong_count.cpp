// with_inputs(...) with fewer names than the task has inputs.
// expect: loom: with_inputs(...) on name<...> needs one name per input
// expect: wrong_number_of_input_names<loom::diagnostic::name<'a', 'd', 'd'>
// expect: expected_count<2>
// expect: got_count<1>
#include <loom/task.hpp>

#include <cstdint>

inline constexpr auto add = loom::task<"add">([](std::int64_t a, std::int64_t b) { return a + b; });

#ifndef LOOM_COMPILE_FAIL_CONTROL
inline constexpr auto named = add.with_inputs("a");
#else
inline constexpr auto named = add.with_inputs("a", "b");
#endif
