// A map task over a million trivial items (`wf.map(inc, xs)` in a dynamic workflow: x + 1
// on std::int64_t), against the same work as a plain loop in the same process. Bars
// (issue 6): at most 0.5 µs of overhead per item, and peak memory at most 3 times the
// input and output vectors.
//
//   bench_map_overhead [--items N (1000000)] [--reps R (7)] [--threads T (2)]
//
// Time: medians of R runs after one warm-up, of the plain loop (a new output vector
// each time) and of `ex.run(map_inc, xs)` (the run takes its input by value: the copy of
// xs into the run is part of it, as it is for any caller). Overhead per item: (Loom -
// plain) / N.
//
// Memory: each case runs once in a fresh child process (fork), which reports its peak
// resident set (getrusage ru_maxrss); a child that only builds the input gives the
// baseline. Peak / (input + output bytes) is the ratio of the bar.
#include <loom/loom.hpp>

#include "../dynamic/bench_util.hpp"

#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

namespace {

using ints = std::vector<std::int64_t>;

constexpr auto inc = loom::task<"inc">([](std::int64_t x) { return x + 1; });
constexpr auto map_inc = loom::dynamic<"map_inc">([](loom::dynamic_builder& wf, ints xs) {
  return wf.map(inc, std::move(xs));
});

ints plain(const ints& xs) {
  ints out(xs.size());
  for (std::size_t i = 0; i < xs.size(); ++i) out[i] = inc.function()(xs[i]);
  return out;
}

ints input(std::size_t n) {
  ints xs(n);
  for (std::size_t i = 0; i < n; ++i) xs[i] = static_cast<std::int64_t>(i);
  return xs;
}

/// Peak resident set (KiB) of a child process running `fn`.
template <class Fn>
long peak_kib_of(Fn&& fn) {
  const pid_t pid = ::fork();
  if (pid == 0) {
    fn();
    ::_exit(0);
  }
  int status = 0;
  rusage usage{};
  ::wait4(pid, &status, 0, &usage);
  return usage.ru_maxrss;
}

}  // namespace

int main(int argc, char** argv) {
  const auto n = static_cast<std::size_t>(bench::int_arg(argc, argv, "--items", 1000000));
  const int reps = bench::int_arg(argc, argv, "--reps", 7);
  const int threads = bench::int_arg(argc, argv, "--threads", 2);
  loom::register_entities(map_inc, inc);
  bench::print_machine("bench_map_overhead");
  std::printf("# wf.map(inc, xs) over %zu std::int64_t items; executor of %d threads; median of %d\n", n, threads, reps);

  // Memory first, in children, before this process has grown.
  const long base = peak_kib_of([&] {
    volatile auto xs = input(n).size();
    (void)xs;
  });
  const long plain_peak = peak_kib_of([&] {
    const ints xs = input(n);
    volatile auto s = plain(xs).size();
    (void)s;
  });
  const long loom_peak = peak_kib_of([&] {
    loom::executor ex({.threads = static_cast<std::size_t>(threads)});
    const ints xs = input(n);
    volatile auto s = ex.run(map_inc, xs).size();
    (void)s;
  });

  const ints xs = input(n);
  const ints expected = plain(xs);
  loom::executor ex({.threads = static_cast<std::size_t>(threads)});
  if (ex.run(map_inc, xs) != expected) {
    std::fprintf(stderr, "the map's result differs from the plain loop's\n");
    return 1;
  }
  std::printf("%-36s %10s %10s %10s %10s %10s\n", "run", "median ms", "min ms", "max ms", "cpu ms", "ns/item");
  auto row = [&](const char* what, const bench::samples& s) {
    std::printf("%-36s %10.2f %10.2f %10.2f %10.2f %10.1f\n", what, s.median(), s.min(), s.max(), s.cpu_median(),
                1e6 * s.median() / static_cast<double>(n));
    return s.median();
  };
  std::size_t sink = 0;
  const double p = row("plain loop", bench::time_reps(reps, 1, [&] { sink += plain(xs).size(); }));
  const double l = row("wf.map(inc, xs)", bench::time_reps(reps, 1, [&] { sink += ex.run(map_inc, xs).size(); }));
  std::printf("# overhead per item: %.1f ns (bar: 500 ns)\n", 1e6 * (l - p) / static_cast<double>(n));
  const double data_kib = 2.0 * static_cast<double>(n * sizeof(std::int64_t)) / 1024.0;
  std::printf("# peak memory above a process holding only the input: plain loop %ld KiB, map %ld KiB\n",
              plain_peak - base, loom_peak - base);
  std::printf("# input + output: %.0f KiB; map peak (input held) / (input + output): %.2f (bar: 3)\n", data_kib,
              static_cast<double>(loom_peak - base + static_cast<long>(data_kib / 2)) / data_kib);
  std::printf("# load average at the end: %s (sink %zu)\n", bench::load_average().c_str(), sink);
  return 0;
}
