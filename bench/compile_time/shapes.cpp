// The two generated shapes of bench/overhead, alone, for measuring what evaluating
// their compile-time plans costs (bench/compile_time/plan_cost.sh). Compile with
// -DCHAIN=N (a chain of N nodes) or -DTREE=L (one source, L leaves, a reduction tree of
// `add`: 2L nodes). The static_assert makes the compiler evaluate the plan.
#include <loom/loom.hpp>

#include <array>
#include <cstdint>

namespace {

using loom::promise;

inline constexpr auto inc = loom::task<"inc">([](std::int64_t x) { return x + 1; });
inline constexpr auto add = loom::task<"add">([](std::int64_t a, std::int64_t b) { return a + b; });

template <std::size_t N>
constexpr auto make_chain() {
  return loom::workflow<"chain">([](auto& wf, promise<std::int64_t> x) {
    for (std::size_t i = 0; i < N; ++i) x = wf(inc, x);
    return x;
  });
}

template <std::size_t L>
constexpr auto make_tree() {
  return loom::workflow<"tree">([](auto& wf, promise<std::int64_t> x) {
    const auto source = wf(inc, x);
    std::array<promise<std::int64_t>, L> level{};
    for (std::size_t i = 0; i < L; ++i) level[i] = wf(add, source, static_cast<std::int64_t>(i));
    for (std::size_t width = L; width > 1; width = (width + 1) / 2) {
      for (std::size_t i = 0; i < width / 2; ++i) level[i] = wf(add, level[2 * i], level[2 * i + 1]);
      if (width % 2 == 1) level[width / 2] = level[width - 1];
    }
    return level[0];
  });
}

#if defined(CHAIN)
constexpr auto shape = make_chain<CHAIN>();
static_assert(loom::plan_of(shape).size() == CHAIN);
#elif defined(TREE)
constexpr auto shape = make_tree<TREE>();
static_assert(loom::plan_of(shape).size() == 2 * TREE);
#else
#error "define CHAIN=N or TREE=L"
#endif

}  // namespace

int main() { return static_cast<int>(shape(std::int64_t{0}) & 1); }
