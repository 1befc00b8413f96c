// wf.map(task, args...) with an argument that is neither the parameter's type (bound to
// every item) nor a list of it (mapped): a list of strings for an std::int64_t parameter.
// expect: loom: wrong argument type in wf.map(task, args...)
// expect: map_argument_neither_item_nor_list<loom::diagnostic::name<'a', 'd', 'd'>
// expect: argument<1>
// expect: expected<long
// expect: got<std::vector<std::
#include <loom/dynamic.hpp>
#include <loom/workflow.hpp>

#include <cstdint>
#include <string>
#include <vector>

inline constexpr auto add = loom::task<"add">([](std::int64_t a, std::int64_t b) { return a + b; });

#ifndef LOOM_COMPILE_FAIL_CONTROL
inline constexpr auto misuse = loom::dynamic<"misuse">(
    [](loom::dynamic_builder& wf, std::vector<std::int64_t> xs, std::vector<std::string> words) {
      return wf.map(add, xs, words);
    });
#else
inline constexpr auto misuse = loom::dynamic<"misuse">(
    [](loom::dynamic_builder& wf, std::vector<std::int64_t> xs, std::vector<std::string> words) {
      return wf.map(add, xs, static_cast<std::int64_t>(words.size()));
    });
#endif
