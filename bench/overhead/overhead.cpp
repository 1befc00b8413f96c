// Execution overhead per node of static workflows on the in-process executor, against
// the same work written as a plain loop, in the same process.
//
//   bench_overhead [--rounds R] [--samples S] [--csv] [--only TEXT]
//
// --only keeps the configurations whose "shape nodes runner" contains TEXT (e.g.
// --only "tree 4096 loom, 2"), for profiling one of them.
//
// Shapes (trivial tasks, so that the time is the executor's):
//   chain  N nodes:  x -> inc -> inc -> ... -> inc                  (no parallelism)
//   tree   2L nodes: one source, L independent leaves add(src, i), then a balanced
//                    binary reduction tree of `add` over the leaves (L - 1 nodes): wide
// Plain loops doing the same work: `x = inc(x)` N times; L leaves into a vector, then a
// pairwise in-place reduction. Each loop step goes through an optimization barrier so
// that the compiler cannot fold the loop away.
//
// A sample is the mean time of one ex.run(wf, x) (or one loop) over enough repetitions
// to last >= 2 ms. Each round takes S samples per configuration and keeps their median;
// the configurations are interleaved round after round (so that a load spike on the
// machine hits one round, not one configuration), and the table shows the median over
// the R rounds and, beside it, the lowest and highest round medians, and the process's
// CPU time per node (all threads: above the wall time when both threads are busy). The
// last line says how busy other processes kept the machine meanwhile: with two cores,
// the two-thread numbers mean little unless that is near 0%.
//
// As a user would, the file static_asserts the size of every workflow's compile-time
// plan, so its compile cost includes evaluating four plans of 1,000-4,096 nodes. The
// two 4,000-node plans exceed clang's default constexpr budget (-fconstexpr-steps=
// 1048576 covers a chain of about 2,850 nodes, a tree of about 2,000): the CMake target
// raises it. Define LOOM_BENCH_NO_STATIC_PLANS (CMake: -DLOOM_BENCH_STATIC_PLANS=OFF) to
// leave the plans out; the executor does not use them either way.
#include <loom/loom.hpp>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <functional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <unistd.h>

namespace {

using loom::promise;

inline constexpr auto inc = loom::task<"inc">([](std::int64_t x) { return x + 1; });
inline constexpr auto add = loom::task<"add">([](std::int64_t a, std::int64_t b) { return a + b; });

/// A chain of N `inc` nodes (the template-loop trick of tests/executor_test.cpp).
template <std::size_t N>
constexpr auto make_chain() {
  return loom::workflow<"chain">([](auto& wf, promise<std::int64_t> x) {
    for (std::size_t i = 0; i < N; ++i) x = wf(inc, x);
    return x;
  });
}

/// One source, L leaves `add(src, i)`, a balanced reduction tree of `add`: 2L nodes.
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

constexpr std::size_t chain_small = 1000, chain_large = 4000;
constexpr std::size_t leaves_small = 512, leaves_large = 2048;

constexpr auto chain_1k = make_chain<chain_small>();
constexpr auto chain_4k = make_chain<chain_large>();
constexpr auto tree_1k = make_tree<leaves_small>();
constexpr auto tree_4k = make_tree<leaves_large>();

#ifndef LOOM_BENCH_NO_STATIC_PLANS
static_assert(loom::plan_of(chain_1k).size() == chain_small);
static_assert(loom::plan_of(chain_4k).size() == chain_large);
static_assert(loom::plan_of(tree_1k).size() == 2 * leaves_small);
static_assert(loom::plan_of(tree_4k).size() == 2 * leaves_large);
#endif

/// Keeps a value alive and opaque to the optimizer.
template <class T>
inline void keep(T& value) {
  asm volatile("" : "+r"(value) : : "memory");
}

std::int64_t plain_chain(std::int64_t x, std::size_t n) {
  const auto& f = inc.function();
  for (std::size_t i = 0; i < n; ++i) {
    x = f(x);
    keep(x);
  }
  return x;
}

std::int64_t plain_tree(std::int64_t x, std::size_t leaves) {
  const auto& a = add.function();
  std::int64_t source = inc.function()(x);
  keep(source);
  std::vector<std::int64_t> level(leaves);
  for (std::size_t i = 0; i < leaves; ++i) {
    level[i] = a(source, static_cast<std::int64_t>(i));
    keep(level[i]);
  }
  for (std::size_t width = leaves; width > 1; width = (width + 1) / 2) {
    for (std::size_t i = 0; i < width / 2; ++i) {
      level[i] = a(level[2 * i], level[2 * i + 1]);
      keep(level[i]);
    }
    if (width % 2 == 1) level[width / 2] = level[width - 1];
  }
  return level[0];
}

constexpr std::int64_t expected_chain(std::int64_t x, std::size_t n) { return x + static_cast<std::int64_t>(n); }
constexpr std::int64_t expected_tree(std::int64_t x, std::size_t leaves) {
  const auto l = static_cast<std::int64_t>(leaves);
  return l * (x + 1) + l * (l - 1) / 2;
}

using clock_type = std::chrono::steady_clock;

struct configuration {
  std::string shape;
  std::size_t nodes = 0;
  std::string runner;  // "loom, 1 thread", "loom, 2 threads", "plain loop"
  std::function<std::int64_t(std::int64_t)> run;
  std::int64_t (*expected)(std::int64_t) = nullptr;
  std::size_t repetitions = 1;  // per sample, calibrated to last >= 2 ms
  std::vector<double> round_medians;      // wall-clock ns per node
  std::vector<double> round_cpu_medians;  // CPU ns per node (all threads of the process)
};

struct timing {
  double wall_ns;  // per node
  double cpu_ns;   // per node, process CPU time (every thread)
};

double process_cpu_ns() {
  timespec ts{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) * 1e9 + static_cast<double>(ts.tv_nsec);
}

/// Busy and total CPU time of the whole machine so far, in seconds (Linux: /proc/stat).
struct machine_time {
  double busy = 0, total = 0;
  bool known = false;
};
machine_time read_machine_time() {
  machine_time t;
  std::FILE* f = std::fopen("/proc/stat", "r");
  if (f == nullptr) return t;
  unsigned long long v[8] = {};
  if (std::fscanf(f, "cpu %llu %llu %llu %llu %llu %llu %llu %llu", &v[0], &v[1], &v[2], &v[3], &v[4], &v[5], &v[6],
                  &v[7]) == 8) {
    const double tick = static_cast<double>(sysconf(_SC_CLK_TCK));
    t.busy = static_cast<double>(v[0] + v[1] + v[2] + v[5] + v[6] + v[7]) / tick;
    t.total = t.busy + static_cast<double>(v[3] + v[4]) / tick;
    t.known = true;
  }
  std::fclose(f);
  return t;
}

std::string fmt_ns(double v, int decimals) {
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%.*f", decimals, v);
  return buffer;
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const std::size_t n = v.size();
  return n % 2 == 1 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/// Mean ns per node of `repetitions` calls; checks every result.
timing sample(configuration& c) {
  std::int64_t x = 7;
  const double cpu_start = process_cpu_ns();
  const auto start = clock_type::now();
  for (std::size_t r = 0; r < c.repetitions; ++r) {
    std::int64_t result = c.run(x);
    keep(result);
    if (result != c.expected(x)) {
      std::fprintf(stderr, "bench_overhead: %s %zu (%s) computed %lld, expected %lld\n", c.shape.c_str(), c.nodes,
                   c.runner.c_str(), static_cast<long long>(result), static_cast<long long>(c.expected(x)));
      std::exit(1);
    }
    ++x;
  }
  const std::chrono::duration<double, std::nano> elapsed = clock_type::now() - start;
  const double cpu = process_cpu_ns() - cpu_start;
  const double per = static_cast<double>(c.repetitions) * static_cast<double>(c.nodes);
  return {elapsed.count() / per, cpu / per};
}

void calibrate(configuration& c) {
  for (int warm = 0; warm < 3; ++warm) sample(c);  // builds the graph, warms the caches
  c.repetitions = 1;
  while (true) {
    const double ns = sample(c).wall_ns * static_cast<double>(c.nodes) * static_cast<double>(c.repetitions);
    if (ns >= 2e6 || c.repetitions >= (1u << 20)) break;
    c.repetitions *= 2;
  }
}

}  // namespace

int main(int argc, char** argv) {
  int rounds = 5;
  int samples = 11;
  bool csv = false;
  std::string only;
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    if (arg == "--rounds" && i + 1 < argc) {
      rounds = std::atoi(argv[++i]);
    } else if (arg == "--samples" && i + 1 < argc) {
      samples = std::atoi(argv[++i]);
    } else if (arg == "--only" && i + 1 < argc) {
      only = argv[++i];
    } else if (arg == "--csv") {
      csv = true;
    } else {
      std::fprintf(stderr, "usage: bench_overhead [--rounds R] [--samples S] [--csv] [--only TEXT]\n");
      return 2;
    }
  }
  if (rounds < 1 || samples < 1) return 2;

  loom::executor one({.threads = 1});
  loom::executor two({.threads = 2});

  std::vector<configuration> configs;
  auto add_shape = [&](const std::string& shape, std::size_t nodes, const auto& wf, auto plain,
                       std::int64_t (*expected)(std::int64_t)) {
    auto make = [&](std::string runner, std::function<std::int64_t(std::int64_t)> run) {
      configuration c;
      c.shape = shape;
      c.nodes = nodes;
      c.runner = std::move(runner);
      c.run = std::move(run);
      c.expected = expected;
      configs.push_back(std::move(c));
    };
    make("loom, 1 thread", [&wf, &one](std::int64_t x) { return one.run(wf, x); });
    make("loom, 2 threads", [&wf, &two](std::int64_t x) { return two.run(wf, x); });
    make("plain loop", plain);
  };
  add_shape("chain", chain_small, chain_1k, [](std::int64_t x) { return plain_chain(x, chain_small); },
            [](std::int64_t x) { return expected_chain(x, chain_small); });
  add_shape("chain", chain_large, chain_4k, [](std::int64_t x) { return plain_chain(x, chain_large); },
            [](std::int64_t x) { return expected_chain(x, chain_large); });
  add_shape("tree", 2 * leaves_small, tree_1k, [](std::int64_t x) { return plain_tree(x, leaves_small); },
            [](std::int64_t x) { return expected_tree(x, leaves_small); });
  add_shape("tree", 2 * leaves_large, tree_4k, [](std::int64_t x) { return plain_tree(x, leaves_large); },
            [](std::int64_t x) { return expected_tree(x, leaves_large); });

  if (!only.empty()) {
    std::erase_if(configs, [&](const configuration& c) {
      return (c.shape + " " + std::to_string(c.nodes) + " " + c.runner).find(only) == std::string::npos;
    });
  }
  for (auto& c : configs) calibrate(c);
  const machine_time machine_start = read_machine_time();
  const double own_start = process_cpu_ns();
  for (int round = 0; round < rounds; ++round) {
    for (auto& c : configs) {
      std::vector<double> wall, cpu;
      for (int i = 0; i < samples; ++i) {
        const timing t = sample(c);
        wall.push_back(t.wall_ns);
        cpu.push_back(t.cpu_ns);
      }
      c.round_medians.push_back(median(wall));
      c.round_cpu_medians.push_back(median(cpu));
    }
  }
  const machine_time machine_end = read_machine_time();
  const double own_seconds = (process_cpu_ns() - own_start) / 1e9;

  if (csv) {
    std::printf("shape,nodes,runner,ns_per_node_median,ns_per_node_min_round,ns_per_node_max_round,cpu_ns_per_node\n");
  } else {
    std::printf("| shape | nodes | runner | ns per node (median) | lowest / highest round median | CPU ns per node |\n");
    std::printf("|-------|------:|--------|---------------------:|------------------------------:|----------------:|\n");
  }
  for (const auto& c : configs) {
    const auto [lo, hi] = std::minmax_element(c.round_medians.begin(), c.round_medians.end());
    if (csv) {
      std::printf("%s,%zu,%s,%.2f,%.2f,%.2f,%.2f\n", c.shape.c_str(), c.nodes, c.runner.c_str(),
                  median(c.round_medians), *lo, *hi, median(c.round_cpu_medians));
    } else {
      // Two decimals below 1 ns (the plain loops), one above.
      auto ns = [](double v) { return std::string(v < 1 ? fmt_ns(v, 2) : fmt_ns(v, 1)); };
      std::printf("| %s | %zu | %s | %s | %s / %s | %s |\n", c.shape.c_str(), c.nodes, c.runner.c_str(),
                  ns(median(c.round_medians)).c_str(), ns(*lo).c_str(), ns(*hi).c_str(),
                  ns(median(c.round_cpu_medians)).c_str());
    }
  }
  if (!csv) {
    std::printf("\n%d rounds x %d samples per configuration; a sample is the mean of >= 2 ms of runs.\n", rounds,
                samples);
    if (machine_start.known && machine_end.known && machine_end.total > machine_start.total) {
      const double others = (machine_end.busy - machine_start.busy) - own_seconds;
      std::printf("Other processes kept the machine's CPUs %.0f%% busy during the measurements.\n",
                  std::max(0.0, 100.0 * others / (machine_end.total - machine_start.total)));
    }
  }
}
