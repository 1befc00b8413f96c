// The same fan-out of 100,000 items as a dynamic workflow (one node per item) and as a
// map (one node), both stored (recorded, resumable: the futures file, every node's
// outputs and state-store row): time, futures-file bytes and state-store bytes side by
// side. Bar (issue 6): the map uses at least 20 times fewer state-store bytes.
//
//   bench_map_fanout_compare [--items N (100000)] [--reps R (3)] [--threads T (2)]
//
// Each run gets a store of its own under $TMPDIR, so that the database's size is one
// run's. In memory (no store) too, for scale.
#include <loom/loom.hpp>
#include <loom/state_store.hpp>
#include <loom/object_store.hpp>

#include "../dynamic/bench_util.hpp"

#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <random>
#include <string>
#include <vector>

namespace fs = std::filesystem;

namespace {

using ints = std::vector<std::int64_t>;

constexpr auto inc = loom::task<"inc">([](std::int64_t x) { return x + 1; });
constexpr auto as_nodes = loom::dynamic<"as_nodes">([](loom::dynamic_builder& wf, ints xs) {
  std::vector<loom::promise<std::int64_t>> out;
  out.reserve(xs.size());
  for (const auto x : xs) out.push_back(wf(inc, x));
  return out;
});
constexpr auto as_map = loom::dynamic<"as_map">([](loom::dynamic_builder& wf, ints xs) {
  return wf.map(inc, std::move(xs));
});

struct stored_sizes {
  std::uintmax_t futures = 0;
  std::uintmax_t state = 0;
  std::uintmax_t objects = 0;
};

}  // namespace

int main(int argc, char** argv) {
  const auto n = static_cast<std::size_t>(bench::int_arg(argc, argv, "--items", 100000));
  const int reps = bench::int_arg(argc, argv, "--reps", 3);
  const int threads = bench::int_arg(argc, argv, "--threads", 2);
  loom::register_entities(as_nodes, as_map, inc);
  bench::print_machine("bench_map_fanout_compare");
  std::printf("# %zu items: inc(x) = x + 1; executor of %d threads; median of %d\n", n, threads, reps);
  ints xs(n);
  for (std::size_t i = 0; i < n; ++i) xs[i] = static_cast<std::int64_t>(i);
  loom::executor ex({.threads = static_cast<std::size_t>(threads)});
  const ints expected = ex.run(as_map, xs);
  if (ex.run(as_nodes, xs) != expected) {
    std::fprintf(stderr, "the two fan-outs disagree\n");
    return 1;
  }
  std::random_device random;
  const fs::path root = fs::temp_directory_path() / ("loom-bench-fanout-" + std::to_string(random()));
  int run = 0;
  auto stored = [&](const auto& entity, stored_sizes& sizes) {
    return bench::time_reps(reps, 0, [&] {
      const fs::path dir = root / ("run-" + std::to_string(run++));
      loom::object_store store(dir);
      loom::run_options o;
      o.store = &store;
      o.execution_id = "bench";
      if (ex.run(o, entity, xs) != expected) std::exit(1);
      sizes.futures = store.get("bench/n0/futures.json").value_or("").size();
      sizes.objects = store.bytes_under("bench");
      sizes.state = loom::state_store(loom::state_store::default_path(dir)).file_bytes();
    });
  };
  std::printf("%-40s %10s %10s %10s %12s %12s %12s\n", "run", "median ms", "min ms", "max ms", "futures B", "state B",
              "objects B");
  auto row = [&](const char* what, const bench::samples& s, const stored_sizes* sizes) {
    if (sizes != nullptr) {
      std::printf("%-40s %10.1f %10.1f %10.1f %12ju %12ju %12ju\n", what, s.median(), s.min(), s.max(), sizes->futures,
                  sizes->state, sizes->objects);
    } else {
      std::printf("%-40s %10.1f %10.1f %10.1f %12s %12s %12s\n", what, s.median(), s.min(), s.max(), "-", "-", "-");
    }
    std::fflush(stdout);
  };
  row("dynamic workflow, in memory", bench::time_reps(reps, 1, [&] { (void)ex.run(as_nodes, xs); }), nullptr);
  row("map, in memory", bench::time_reps(reps, 1, [&] { (void)ex.run(as_map, xs); }), nullptr);
  stored_sizes nodes_sizes, map_sizes;
  row("dynamic workflow (100,000 nodes), stored", stored(as_nodes, nodes_sizes), &nodes_sizes);
  row("map (1 node), stored", stored(as_map, map_sizes), &map_sizes);
  std::error_code ec;
  fs::remove_all(root, ec);
  // The state store of an empty database (its schema) is part of both: compared as is.
  std::printf("# state-store bytes, dynamic / map: %.1fx (bar: at least 20x); futures-file bytes: %.1fx\n",
              static_cast<double>(nodes_sizes.state) / static_cast<double>(map_sizes.state),
              static_cast<double>(nodes_sizes.futures) / static_cast<double>(map_sizes.futures));
  std::printf("# load average at the end: %s\n", bench::load_average().c_str());
  return 0;
}
