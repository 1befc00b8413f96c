// The seed's merge_sort (recursion through dynamic workflows) on 1,000,000 random int64
// numbers with threshold 10,000: 7 levels of splits, 128 leaves sorted with std::sort,
// merged back up. Against std::sort of the same data, in the same process.
//
//   bench_dynamic_merge_sort [--count N] [--threshold T] [--reps R (default 11)]
//
// Rows: std::sort; the same algorithm as a plain sequential recursion (split into two
// copied halves, sort leaves with std::sort, std::merge into a new vector: the tasks'
// own work without Loom); Loom ex.run(merge_sort, numbers, threshold) on executors of
// 1 and 2 threads. Every result is checked to be sorted and equal to std::sort's. The
// input copy handed to each run is made outside the timed region.
//
// examples/merge_sort.hpp defines ::split and ::merge: it is included alone here.
#include "../../examples/merge_sort.hpp"

#include "bench_util.hpp"

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <random>
#include <vector>

namespace {

numbers_t plain_merge_sort(numbers_t numbers, std::int64_t threshold) {
  if (static_cast<std::int64_t>(numbers.size()) <= threshold) {
    std::sort(numbers.begin(), numbers.end());
    return numbers;
  }
  const auto half = static_cast<std::ptrdiff_t>(numbers.size() / 2);
  numbers_t left(numbers.begin(), numbers.begin() + half);
  numbers_t right(numbers.begin() + half, numbers.end());
  left = plain_merge_sort(std::move(left), threshold);
  right = plain_merge_sort(std::move(right), threshold);
  numbers_t result;
  result.reserve(left.size() + right.size());
  std::merge(left.begin(), left.end(), right.begin(), right.end(), std::back_inserter(result));
  return result;
}

/// Times `fn(copy)` where the copy of `input` is made before the clock starts.
template <class Fn>
bench::samples time_on_copies(int reps, const numbers_t& input, const numbers_t& expected, const char* who, Fn&& fn) {
  bench::samples s;
  for (int i = 0; i < reps + 1; ++i) {  // the first is a warm-up
    numbers_t copy = input;
    const double cpu = bench::process_cpu_ms();
    const auto start = bench::clock::now();
    numbers_t out = fn(std::move(copy));
    const double ms = bench::ms_since(start);
    const double cpu_ms = bench::process_cpu_ms() - cpu;
    if (out != expected || !std::is_sorted(out.begin(), out.end())) {
      std::fprintf(stderr, "%s: the result is not std::sort's\n", who);
      std::exit(1);
    }
    if (i > 0) {
      s.ms.push_back(ms);
      s.cpu_ms.push_back(cpu_ms);
    }
  }
  return s;
}

// One line: wall-clock median, min, max; CPU-time median; ratio of wall medians.
void row(const char* what, const bench::samples& s, const bench::samples* baseline) {
  std::printf("%-44s %9.2f %9.2f %9.2f %9.2f", what, s.median(), s.min(), s.max(), s.cpu_median());
  if (baseline != nullptr) {
    std::printf(" %8.2fx\n", s.median() / baseline->median());
  } else {
    std::printf(" %9s\n", "-");
  }
}

}  // namespace

int main(int argc, char** argv) {
  const auto count = static_cast<std::size_t>(bench::int_arg(argc, argv, "--count", 1'000'000));
  const std::int64_t threshold = bench::int_arg(argc, argv, "--threshold", 10'000);
  const int reps = bench::int_arg(argc, argv, "--reps", 11);
  bench::print_machine("bench_dynamic_merge_sort");

  std::mt19937_64 rng(42);
  numbers_t input(count);
  for (auto& x : input) x = static_cast<std::int64_t>(rng());
  numbers_t expected = input;
  std::sort(expected.begin(), expected.end());

  std::size_t leaves = 1, levels = 0;
  for (std::size_t n = count; static_cast<std::int64_t>(n) > threshold; n = (n + 1) / 2) {
    leaves *= 2;
    ++levels;
  }
  std::printf("# %zu random int64, threshold %lld: %zu levels of splits, %zu leaves; median of %d runs (1 warm-up)\n",
              count, static_cast<long long>(threshold), levels, leaves, reps);

  const auto sorted = time_on_copies(reps, input, expected, "std::sort", [](numbers_t v) {
    std::sort(v.begin(), v.end());
    return v;
  });
  const auto plain = time_on_copies(reps, input, expected, "plain merge sort",
                                    [&](numbers_t v) { return plain_merge_sort(std::move(v), threshold); });
  loom::executor one({.threads = 1});
  const auto t1 = time_on_copies(reps, input, expected, "Loom threads=1",
                                 [&](numbers_t v) { return one.run(merge_sort, std::move(v), threshold); });
  loom::executor two({.threads = 2});
  const auto t2 = time_on_copies(reps, input, expected, "Loom threads=2",
                                 [&](numbers_t v) { return two.run(merge_sort, std::move(v), threshold); });

  std::printf("\n%-44s %9s %9s %9s %9s %9s\n", "sort", "median ms", "min ms", "max ms", "cpu ms", "vs sort");
  row("std::sort", sorted, nullptr);
  row("plain recursive merge sort (same tasks)", plain, &sorted);
  row("Loom merge_sort, executor threads=1", t1, &sorted);
  row("Loom merge_sort, executor threads=2", t2, &sorted);
  std::printf("# load average at end: %s\n", bench::load_average().c_str());
  return 0;
}
