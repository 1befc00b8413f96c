// The seed's count_characters dynamic workflow on two random 50,000-letter strings
// (2 x 50,000 return_index + 2 x 50,000 update_list + 1 derive_count = 200,001 nodes in
// one sub-DAG), run in memory, against the same work as a plain loop in the same process.
//
//   bench_dynamic_count_characters [--length N] [--reps R (default 11)]
//
// Plain loop ("keeps every list"): for each character compute its index and make a NEW
// 26-entry list, a copy of the previous one with one count incremented, keeping all of
// them (as the DAG's nodes each produce a list); then derive the count. A second loop
// ("in place") updates one list per string, for scale.
//
// Loom: `start_wf(s1, s2)` (the native call: executor::shared(), hardware threads), and
// `ex.run(start_wf, s1, s2)` on executors of 1 and 2 threads. The phases of the dynamic
// node are timed on their own as well: running the body (recording 200,001 nodes into a
// graph) and graph::finalize(); the rest of a run is scheduling and executing the nodes.
#include <loom/loom.hpp>  // (the example includes only what it uses)
#include "../../examples/count_characters.hpp"

#include "bench_util.hpp"

#include <cstdint>
#include <cstdio>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

namespace {

std::int64_t index_of(char c) {
  if (c >= 'a' && c <= 'z') return c - 'a';
  if (c >= 'A' && c <= 'Z') return c - 'A';
  throw std::invalid_argument("not a letter");
}

// Every intermediate list kept, as the DAG keeps one per update_list node.
std::int64_t plain_keeping_lists(const std::string& s1, const std::string& s2) {
  auto frequencies = [](const std::string& s) {
    std::vector<std::vector<std::int64_t>> lists;
    lists.reserve(s.size() + 1);
    lists.emplace_back(26, 0);
    for (const char c : s) {
      const std::int64_t index = index_of(c);
      std::vector<std::int64_t> next = lists.back();
      next.at(static_cast<std::size_t>(index)) += 1;
      lists.push_back(std::move(next));
    }
    return lists;
  };
  const auto lists1 = frequencies(s1);
  const auto lists2 = frequencies(s2);
  std::int64_t count = 0;
  for (std::size_t i = 0; i < 26; ++i) count += std::min(lists1.back()[i], lists2.back()[i]);
  return count;
}

std::int64_t plain_in_place(const std::string& s1, const std::string& s2) {
  std::vector<std::int64_t> f1(26, 0), f2(26, 0);
  for (const char c : s1) f1.at(static_cast<std::size_t>(index_of(c))) += 1;
  for (const char c : s2) f2.at(static_cast<std::size_t>(index_of(c))) += 1;
  std::int64_t count = 0;
  for (std::size_t i = 0; i < 26; ++i) count += std::min(f1[i], f2[i]);
  return count;
}

volatile std::int64_t sink = 0;

// One line: wall-clock median, min, max; CPU-time median; wall µs per node; ratios to
// the baseline's wall and CPU medians.
void row(const char* what, const bench::samples& s, double nodes, const bench::samples* baseline) {
  std::printf("%-44s %9.2f %9.2f %9.2f %9.2f %8.3f", what, s.median(), s.min(), s.max(), s.cpu_median(),
              1000.0 * s.median() / nodes);
  if (baseline != nullptr) {
    std::printf(" %8.1fx %8.1fx\n", s.median() / baseline->median(), s.cpu_median() / baseline->cpu_median());
  } else {
    std::printf(" %9s %9s\n", "-", "-");
  }
}

bench::samples difference(const bench::samples& a, const bench::samples& b) {
  bench::samples d;
  d.ms = {a.median() - b.median()};
  d.cpu_ms = {a.cpu_median() - b.cpu_median()};
  return d;
}

}  // namespace

int main(int argc, char** argv) {
  const auto length = static_cast<std::size_t>(bench::int_arg(argc, argv, "--length", 50'000));
  const int reps = bench::int_arg(argc, argv, "--reps", 11);
  const std::string s1 = bench::random_letters(length, 1);
  const std::string s2 = bench::random_letters(length, 2);
  const double nodes = 2.0 * static_cast<double>(length) * 2.0 + 1.0;

  bench::print_machine("bench_dynamic_count_characters");
  std::printf("# two random strings of %zu letters: %.0f nodes in the sub-DAG; median of %d runs (1 warm-up)\n",
              length, nodes, reps);

  const std::int64_t expected = plain_in_place(s1, s2);
  auto check = [&](std::int64_t got, const char* who) {
    if (got != expected) {
      std::fprintf(stderr, "%s: %lld common characters, expected %lld\n", who, static_cast<long long>(got),
                   static_cast<long long>(expected));
      std::exit(1);
    }
  };
  check(plain_keeping_lists(s1, s2), "plain loop");
  check(start_wf(s1, s2), "start_wf");
  std::printf("# common characters: %lld (plain loop and Loom agree)\n", static_cast<long long>(expected));

  const auto keeping = bench::time_reps(reps, 1, [&] { sink = plain_keeping_lists(s1, s2); });
  const auto in_place = bench::time_reps(reps, 1, [&] { sink = plain_in_place(s1, s2); });

  const auto native = bench::time_reps(reps, 1, [&] { check(start_wf(s1, s2), "start_wf"); });
  loom::executor one({.threads = 1});
  const auto t1 = bench::time_reps(reps, 1, [&] { check(one.run(start_wf, s1, s2), "threads=1"); });
  loom::executor two({.threads = 2});
  const auto t2 = bench::time_reps(reps, 1, [&] { check(two.run(start_wf, s1, s2), "threads=2"); });

  // The phases of the dynamic node, by hand: the body records the sub-DAG; finalize()
  // resolves slots and successors. (What the executor does in dynamic_expander::expand.)
  std::size_t recorded = 0;
  const auto body = bench::time_reps(reps, 1, [&] {
    loom::detail::graph g;
    loom::dynamic_builder b(g);
    const auto result = count_characters.function()(b, s1, s2);
    (void)result;
    recorded = g.nodes.size();
  });
  const auto body_finalize = bench::time_reps(reps, 1, [&] {
    loom::detail::graph g;
    loom::dynamic_builder b(g);
    const auto result = count_characters.function()(b, s1, s2);
    (void)result;
    g.finalize();
  });
  if (recorded + 0.0 != nodes) {
    std::fprintf(stderr, "the body recorded %zu nodes, expected %.0f\n", recorded, nodes);
    return 1;
  }

  std::printf("\n%-44s %9s %9s %9s %9s %8s %9s %9s\n", "run", "median ms", "min ms", "max ms", "cpu ms",
              "us/node", "vs loop", "cpu vs");
  row("plain loop, keeping every list", keeping, nodes, nullptr);
  row("plain loop, one list per string (in place)", in_place, nodes, &keeping);
  row("Loom start_wf(s1, s2) (shared executor)", native, nodes, &keeping);
  row("Loom executor threads=1", t1, nodes, &keeping);
  row("Loom executor threads=2", t2, nodes, &keeping);
  std::printf("\n# phases of the dynamic node (same process, outside the executor)\n");
  row("body: recording the sub-DAG", body, nodes, &keeping);
  row("body + graph::finalize()", body_finalize, nodes, &keeping);
  row("rest of a threads=1 run (derived)", difference(t1, body_finalize), nodes, &keeping);
  std::printf("# shared executor: %zu threads; load average at end: %s\n", loom::executor::shared().thread_count(),
              bench::load_average().c_str());
  return 0;
}
