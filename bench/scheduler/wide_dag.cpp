// The scheduler's parallel speed-up: a dynamic workflow of N independent tasks of about
// 1 µs each (a busy wait on the clock), joined by one task that sums their outputs, run
// in memory on executors of 1 and 2 threads, side by side in one process. Also the
// seed's count_characters (200,001 nodes, a chain per string: little parallelism) on
// both, as the check that a deep DAG does not get slower.
//
//   bench_scheduler_wide_dag [--nodes N (default 100000)] [--task-ns T (default 1000)] [--reps R (default 7)]
//   bench_scheduler_wide_dag --only-threads 2   # only the wide DAG on 2 threads (for perf record)
//
// Prints, per executor: the median wall time, its min and max, the median CPU time, the
// wall time per node, and the speed-up of 2 threads over 1 (the bar: at least 1.7x on
// 100,000 nodes of 1 µs).
#include "../../examples/count_characters.hpp"
#include "../dynamic/bench_util.hpp"

#include <loom/loom.hpp>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

namespace {

std::int64_t task_ns = 1000;

inline constexpr auto spin = loom::task<"spin">([](std::int64_t i) -> std::int64_t {
                               const auto until = std::chrono::steady_clock::now() + std::chrono::nanoseconds(task_ns);
                               while (std::chrono::steady_clock::now() < until) {
                               }
                               return i;
                             }).with_inputs("i");

inline constexpr auto sum = loom::task<"sum">([](std::vector<std::int64_t> values) -> std::int64_t {
                              std::int64_t total = 0;
                              for (const auto v : values) total += v;
                              return total;
                            }).with_inputs("values");

inline constexpr auto wide = loom::dynamic<"wide">([](loom::dynamic_builder& wf,
                                                     std::int64_t n) -> loom::promise<std::int64_t> {
                               std::vector<loom::promise<std::int64_t>> parts;
                               parts.reserve(static_cast<std::size_t>(n));
                               for (std::int64_t i = 0; i < n; ++i) parts.push_back(wf(spin, i));
                               return wf(sum, parts);
                             }).with_inputs("n");

volatile std::int64_t sink = 0;

void row(const char* what, const bench::samples& s, double nodes, const bench::samples* one_thread) {
  std::printf("%-40s %9.2f %9.2f %9.2f %9.2f %9.1f", what, s.median(), s.min(), s.max(), s.cpu_median(),
              1e6 * s.median() / nodes);
  if (one_thread != nullptr) {
    std::printf(" %8.2fx\n", one_thread->median() / s.median());
  } else {
    std::printf(" %9s\n", "-");
  }
}

}  // namespace

int main(int argc, char** argv) {
  const std::int64_t n = bench::int_arg(argc, argv, "--nodes", 100000);
  task_ns = bench::int_arg(argc, argv, "--task-ns", 1000);
  const int reps = bench::int_arg(argc, argv, "--reps", 7);
  bench::print_machine("bench_scheduler_wide_dag");
  std::printf("# %lld independent tasks of %lld ns, then one sum; %d repetitions (median)\n",
              static_cast<long long>(n), static_cast<long long>(task_ns), reps);
  std::printf("%-40s %9s %9s %9s %9s %9s %9s\n", "run", "wall ms", "min", "max", "cpu ms", "ns/node", "speed-up");
  const std::int64_t expected = n * (n - 1) / 2;
  const double nodes = static_cast<double>(n + 1);
  if (const int only = bench::int_arg(argc, argv, "--only-threads", 0); only > 0) {
    loom::executor ex({.threads = static_cast<std::size_t>(only)});
    const auto s = bench::time_reps(reps, 1, [&] {
      const std::int64_t got = ex.run(wide, n);
      if (got != expected) std::abort();
      sink = got;
    });
    row("wide DAG, --only-threads", s, nodes, nullptr);
    return 0;
  }
  loom::executor one({.threads = 1});
  loom::executor two({.threads = 2});
  auto run_wide = [&](loom::executor& ex) {
    const std::int64_t got = ex.run(wide, n);
    if (got != expected) std::abort();
    sink = got;
  };
  const auto wide1 = bench::time_reps(reps, 1, [&] { run_wide(one); });
  const auto wide2 = bench::time_reps(reps, 1, [&] { run_wide(two); });
  row("wide DAG, 1 thread", wide1, nodes, nullptr);
  row("wide DAG, 2 threads", wide2, nodes, &wide1);

  const std::string s1 = bench::random_letters(50000, 1);
  const std::string s2 = bench::random_letters(50000, 2);
  const auto cc1 = bench::time_reps(reps, 1, [&] { sink = one.run(start_wf, s1, s2); });
  const auto cc2 = bench::time_reps(reps, 1, [&] { sink = two.run(start_wf, s1, s2); });
  row("count_characters (200,001 nodes), 1 thread", cc1, 200001, nullptr);
  row("count_characters (200,001 nodes), 2 threads", cc2, 200001, &cc1);
  return 0;
}
