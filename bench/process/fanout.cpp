// Per-node overhead of the process backend (one process per task node) on a fan-out of
// trivial tasks, its node processes forked by the run's fork server (the default) and
// spawned one by one (`--process-fork-server off`), against the in-process run of the
// same workflow and, beside it, the floor: starting this same binary doing nothing
// (`BINARY --help`), spawned and waited for by the same code, on the same number of
// threads; and the fork floor: a fresh process of this binary (single-threaded, as the
// fork server is) forking children that exit at once, and waiting for each; and the
// fork server's children running K nodes each in turn (--process-nodes-per-process).
// docs/process-backend.md has the results and the machine.
//
//   bench_process_fanout measure [--nodes 1000] [--reps 3] [--threads 1,2] [--nodes-per-process 10,100]
//   bench_process_fanout fork-floor 1000                           # the fork floor, 1000 forks
//   bench_process_fanout run fanout --n 1000 --backend process     # one run by hand
//   bench_process_fanout run fanout --n 1000 --backend process --process-fork-server off
//
// The process backend's private store is a directory under $TMPDIR if set, else in
// /dev/shm when that is a memory file system with 1 GiB free, else in /tmp.
#include <loom/loom.hpp>
#include <loom/process_backend.hpp>

#include "../dynamic/bench_util.hpp"

#include <atomic>
#include <cstdint>
#include <cstdio>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <sys/wait.h>
#include <unistd.h>

namespace {

inline constexpr auto trivial = loom::task<"trivial">([](std::int64_t x) { return x + 1; }).with_inputs("x");

// n independent trivial task nodes, gathered as one list (no further node).
inline constexpr auto fanout = loom::dynamic<"fanout">([](loom::dynamic_builder& wf, std::int64_t n) {
  std::vector<loom::promise<std::int64_t>> out;
  out.reserve(static_cast<std::size_t>(n));
  for (std::int64_t i = 0; i < n; ++i) out.push_back(wf(trivial, i));
  return out;
}).with_inputs("n");

std::vector<int> int_list_arg(int argc, char** argv, std::string_view name, std::vector<int> fallback) {
  for (int i = 1; i + 1 < argc; ++i) {
    if (name == argv[i]) {
      std::vector<int> out;
      std::string text = argv[i + 1];
      std::size_t start = 0;
      while (start <= text.size()) {
        const auto comma = std::min(text.find(',', start), text.size());
        out.push_back(std::atoi(text.substr(start, comma - start).c_str()));
        start = comma + 1;
      }
      return out;
    }
  }
  return fallback;
}

/// `count` spawns of `args` (spawn + wait, output discarded), spread over `threads`.
void spawn_many(const std::string& program, const std::vector<std::string>& args, int count, int threads) {
  std::atomic<int> next{0};
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t) {
    pool.emplace_back([&] {
      while (next.fetch_add(1) < count) {
        const auto exit = loom::detail::spawn_and_wait(program, args, /*forward_output=*/false);
        if (!exit.exited_zero()) {
          std::fprintf(stderr, "floor: %s %s\n", program.c_str(), exit.describe().c_str());
          std::exit(1);
        }
      }
    });
  }
  for (auto& t : pool) t.join();
}

/// `fork-floor N`: N times fork a child that exits at once, and wait for it.
int fork_floor(int count) {
  for (int i = 0; i < count; ++i) {
    const pid_t pid = ::fork();
    if (pid == 0) ::_exit(0);
    int status = 0;
    if (pid < 0 || ::waitpid(pid, &status, 0) != pid || !WIFEXITED(status)) {
      std::perror("fork-floor");
      return 1;
    }
  }
  return 0;
}

int measure(int argc, char** argv) {
  const int nodes = bench::int_arg(argc, argv, "--nodes", 1000);
  const int reps = bench::int_arg(argc, argv, "--reps", 3);
  const auto thread_counts = int_list_arg(argc, argv, "--threads", {1, 2});
  const auto in_turn_counts = int_list_arg(argc, argv, "--nodes-per-process", {10, 100});
  const std::string self = loom::detail::self_program_name();
  bench::print_machine("bench_process_fanout measure");
  std::printf("# fan-out of %d trivial task nodes (x + 1) in one dynamic node; median of %d runs, ms\n", nodes,
              reps);
  std::printf("# per node = time / %d; overhead = (process - thread) / %d\n", nodes, nodes);
  std::printf("%-8s %-34s %10s %10s %10s %12s\n", "threads", "what", "median", "min", "max", "per node");
  const std::int64_t n = nodes;
  std::vector<std::int64_t> expected(static_cast<std::size_t>(nodes));
  for (int i = 0; i < nodes; ++i) expected[static_cast<std::size_t>(i)] = i + 1;
  for (const int threads : thread_counts) {
    loom::executor ex({.threads = static_cast<std::size_t>(threads)});
    auto row = [&](const char* what, const bench::samples& s) {
      std::printf("%-8d %-34s %10.1f %10.1f %10.1f %9.3f ms\n", threads, what, s.median(), s.min(), s.max(),
                  s.median() / nodes);
      std::fflush(stdout);
      return s.median();
    };
    auto check = [&](const std::vector<std::int64_t>& got) {
      if (got != expected) {
        std::fprintf(stderr, "wrong result\n");
        std::exit(1);
      }
    };
    const double in_memory = row("thread backend, no store", bench::time_reps(reps, 1, [&] {
                                   check(ex.run(fanout, n));
                                 }));
    const double process = row("process backend, fork server", bench::time_reps(reps, 0, [&] {
                                 loom::run_options o;
                                 o.backend = loom::execution_backend::process;
                                 check(ex.run(o, fanout, n));
                               }));
    std::vector<std::pair<int, double>> in_turn;  // (K, median ms)
    for (const int k : in_turn_counts) {
      const std::string name = "fork server, " + std::to_string(k) + " nodes/process";
      in_turn.emplace_back(k, row(name.c_str(), bench::time_reps(reps, 0, [&] {
                                    loom::run_options o;
                                    o.backend = loom::execution_backend::process;
                                    o.process.nodes_per_process = static_cast<std::size_t>(k);
                                    check(ex.run(o, fanout, n));
                                  })));
    }
    const double spawned = row("process backend, spawned", bench::time_reps(reps, 0, [&] {
                                 loom::run_options o;
                                 o.backend = loom::execution_backend::process;
                                 o.process.fork_server = false;
                                 check(ex.run(o, fanout, n));
                               }));
    const double floor = row("floor: spawn+wait 'BINARY --help'", bench::time_reps(reps, 0, [&] {
                               spawn_many("/proc/self/exe", {self, "--help"}, nodes, threads);
                             }));
    const double fork_floor = row("floor: fork+exit+wait", bench::time_reps(reps, 0, [&] {
                                    // `threads` fresh processes of this binary, each forking its share.
                                    std::vector<std::thread> forkers;
                                    for (int t = 0; t < threads; ++t) {
                                      const int share = nodes / threads + (t < nodes % threads ? 1 : 0);
                                      forkers.emplace_back([&, share] {
                                        spawn_many("/proc/self/exe", {self, "fork-floor", std::to_string(share)}, 1, 1);
                                      });
                                    }
                                    for (auto& f : forkers) f.join();
                                  }));
    row("spawn+wait '/bin/true'", bench::time_reps(reps, 0, [&] {
          spawn_many("/bin/true", {"true"}, nodes, threads);
        }));
    // Last: its fsyncs (one per node) keep the disk busy for a while after it.
    loom::detail::temporary_store kept;
    row("thread backend, object store", bench::time_reps(reps, 0, [&] {
          loom::run_options o;
          o.store = &kept.store();
          check(ex.run(o, fanout, n));
        }));
    std::printf("%-8d %-34s %10s %10s %10s %9.3f ms\n", threads, "=> overhead per node, fork server", "", "", "",
                (process - in_memory) / nodes);
    std::printf("%-8d %-34s %10s %10s %10s %9.3f ms\n", threads, "=> overhead per node, spawned", "", "", "",
                (spawned - in_memory) / nodes);
    std::printf("%-8d %-34s %10s %10s %10s %9.3f ms\n", threads, "=> of which the floor", "", "", "", floor / nodes);
    std::printf("%-8d %-34s %10s %10s %10s %9.2f x\n", threads, "=> fork server / fork floor", "", "", "",
                process / fork_floor);
    for (const auto& [k, ms] : in_turn) {
      const std::string name = "=> overhead per node, " + std::to_string(k) + " in turn";
      std::printf("%-8d %-34s %10s %10s %10s %9.3f ms\n", threads, name.c_str(), "", "", "", (ms - in_memory) / nodes);
    }
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  loom::register_entities(fanout, trivial);
  if (argc >= 2 && std::string_view(argv[1]) == "measure") return measure(argc, argv);
  if (argc >= 3 && std::string_view(argv[1]) == "fork-floor") return fork_floor(std::atoi(argv[2]));
  return loom::main(argc, argv, fanout, trivial);
}
