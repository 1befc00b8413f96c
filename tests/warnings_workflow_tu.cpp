// A workflow translation unit as a user writes one, header-only (no loom_generate):
// tasks, a dynamic workflow, a static workflow with wf.map and wf.when, and loom::main.
// The test "warnings: g++ -O3 workflow TU" (tests/warnings_gcc.cmake) compiles it
// with g++ -O3 -DNDEBUG (Release) -Wall -Wextra -Werror=restrict: GCC 12's -Wrestrict
// false positives on string concatenations inlined from Loom's headers (GCC bug
// 105329) must not reach a user's build. It is compiled, never run.
#include <loom/loom.hpp>

#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

namespace {

using ints = std::vector<std::int64_t>;

constexpr auto letter_index = loom::task<"w_letter_index">([](std::string character) -> std::int64_t {
  const char c = character.at(0);
  if (c >= 'a' && c <= 'z') return c - 'a';
  throw std::invalid_argument("w_letter_index: '" + character + "' is not a letter a-z");
});
constexpr auto add = loom::task<"w_add">([](std::int64_t a, std::int64_t b) { return a + b; });
constexpr auto sum = loom::task<"w_sum">([](ints xs) {
  std::int64_t total = 0;
  for (const std::int64_t x : xs) total += x;
  return total;
});
constexpr auto is_big = loom::task<"w_is_big">([](std::int64_t x) { return x > 10; });
constexpr auto twice = loom::task<"w_twice">([](std::int64_t x) { return 2 * x; });
constexpr auto negate = loom::task<"w_negate">([](std::int64_t x) { return -x; });

// The graph is decided at run time: one node per character.
constexpr auto indices = loom::dynamic<"w_indices">([](loom::dynamic_builder& wf, std::string s) {
  std::vector<loom::promise<std::int64_t>> out;
  for (const char c : s) out.push_back(wf(letter_index, std::string(1, c)));
  return out;
});

constexpr auto shifted_sum = loom::workflow<"w_shifted_sum">(
                                 [](auto& wf, loom::promise<std::string> s, loom::promise<std::int64_t> k) {
                                   const auto total = wf(sum, wf.map(add, wf(indices, s), k));
                                   return wf.when(
                                       wf(is_big, total), [&](auto& b) { return b(twice, total); },
                                       [&](auto& b) { return b(negate, total); });
                                 })
                                 .with_inputs("s", "k");

}  // namespace

int main(int argc, char** argv) {
  return loom::main(argc, argv, letter_index, add, sum, is_big, twice, negate, indices, shifted_sum);
}
