// The Slurm backend against raw sbatch (bench/slurm/run.sh runs every case and prints the
// table; docs/benchmarks-slurm.md has the command, the machine and the results). One
// binary for both sides, so that the jobs of every case start the same program:
//
//   bench_slurm sbatch --n 1000 --dir DIR --name NAME [--submitters 1] [--poll-ms 500]
//       the ceiling: N sbatch submissions of a trivial job script (#!/bin/sh, true) with
//       the flags Loom's jobs get (--parsable --no-requeue --job-name --output --error
//       --chdir --open-mode=truncate), from SUBMITTERS threads of this one process as
//       fast as they go; then `squeue -h --name=NAME` every POLL ms until it lists
//       nothing. Prints one line: submitted_s=... total_s=... polls=...
//
//   bench_slurm run fan_sum --n 1000 --backend slurm --store DIR   # Loom, a job per node
//   bench_slurm run map_sum --n 1000 --backend slurm --store DIR   # Loom, one map node
//       fan_sum: a dynamic workflow of N trivial task nodes (inc: x + 1), then their sum
//       (one more node); map_sum: the same as wf.map(inc, 0..N-1), then the sum. Both
//       print {"o0": N(N+1)/2}. Everything after `run` is Loom's command line (loom::main),
//       as is the hidden verb `exec-node` that every Slurm job of a Loom case runs.
#include <loom/loom.hpp>

#include "../dynamic/bench_util.hpp"

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <numeric>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

extern "C" {
extern char** environ;  // NOLINT: POSIX
}

namespace {

inline constexpr auto inc = loom::task<"inc">([](std::int64_t x) { return x + 1; }).with_inputs("x");

inline constexpr auto sum = loom::task<"sum">([](std::vector<std::int64_t> xs) {
                              return std::accumulate(xs.begin(), xs.end(), std::int64_t{0});
                            }).with_inputs("xs");

/// N trivial task nodes, then one node that sums them: N + 2 jobs on Slurm (this body,
/// the N nodes, the sum).
inline constexpr auto fan_sum = loom::dynamic<"fan_sum">([](loom::dynamic_builder& wf, std::int64_t n) {
                                  std::vector<loom::promise<std::int64_t>> values;
                                  values.reserve(static_cast<std::size_t>(n));
                                  for (std::int64_t i = 0; i < n; ++i) values.push_back(wf(inc, i));
                                  return wf(sum, values);
                                }).with_inputs("n");

/// The same N calls of inc as one map node, then the sum.
inline constexpr auto map_sum = loom::dynamic<"map_sum">([](loom::dynamic_builder& wf, std::int64_t n) {
                                  std::vector<std::int64_t> xs(static_cast<std::size_t>(n));
                                  std::iota(xs.begin(), xs.end(), std::int64_t{0});
                                  return wf(sum, wf.map(inc, std::move(xs)));
                                }).with_inputs("n");

std::string string_arg(int argc, char** argv, std::string_view name, std::string fallback) {
  for (int i = 1; i + 1 < argc; ++i) {
    if (name == argv[i]) return argv[i + 1];
  }
  return fallback;
}

/// Runs `program args...` (PATH lookup), stdin from /dev/null, stderr inherited; its
/// stdout, and whether it exited 0.
bool run_program(const std::string& program, const std::vector<std::string>& args, std::string& out) {
  out.clear();
  int pipe_fds[2];
  if (::pipe2(pipe_fds, O_CLOEXEC) != 0) return false;
  posix_spawn_file_actions_t actions;
  ::posix_spawn_file_actions_init(&actions);
  ::posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  ::posix_spawn_file_actions_adddup2(&actions, pipe_fds[1], 1);
  std::vector<char*> argv;
  argv.push_back(const_cast<char*>(program.c_str()));
  for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  pid_t pid = -1;
  const int rc = ::posix_spawnp(&pid, program.c_str(), &actions, nullptr, argv.data(), environ);
  ::posix_spawn_file_actions_destroy(&actions);
  ::close(pipe_fds[1]);
  if (rc != 0) {
    ::close(pipe_fds[0]);
    std::fprintf(stderr, "%s: %s\n", program.c_str(), std::strerror(rc));
    return false;
  }
  char buffer[4096];
  while (true) {
    const auto n = ::read(pipe_fds[0], buffer, sizeof buffer);
    if (n > 0) {
      out.append(buffer, static_cast<std::size_t>(n));
    } else if (n == 0 || errno != EINTR) {
      break;
    }
  }
  ::close(pipe_fds[0]);
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

int raw_sbatch(int argc, char** argv) {
  namespace fs = std::filesystem;
  const int n = bench::int_arg(argc, argv, "--n", 1000);
  const int submitters = std::max(1, bench::int_arg(argc, argv, "--submitters", 1));
  const int poll_ms = std::max(1, bench::int_arg(argc, argv, "--poll-ms", 500));
  const fs::path dir = fs::absolute(string_arg(argc, argv, "--dir", ""));
  const std::string name = string_arg(argc, argv, "--name", "bench-raw-" + std::to_string(::getpid()));
  if (dir.empty() || string_arg(argc, argv, "--dir", "").empty()) {
    std::fprintf(stderr, "bench_slurm sbatch: --dir DIR is required (a directory the cluster's jobs see)\n");
    return 2;
  }
  fs::create_directories(dir);
  const fs::path script = dir / "job.sh";
  std::ofstream(script, std::ios::binary | std::ios::trunc) << "#!/bin/sh\ntrue\n";
  fs::permissions(script, fs::perms::owner_all);
  const std::vector<std::string> args{"--parsable",
                                      "--no-requeue",
                                      "--job-name=" + name,
                                      "--output=" + (dir / "raw-%j.out").string(),
                                      "--error=" + (dir / "raw-%j.err").string(),
                                      "--chdir=" + dir.string(),
                                      "--open-mode=truncate",
                                      script.string()};

  const auto start = bench::clock::now();
  std::atomic<int> next{0};
  std::atomic<int> failures{0};
  std::vector<std::thread> pool;
  for (int t = 0; t < submitters; ++t) {
    pool.emplace_back([&] {
      std::string out;
      while (next.fetch_add(1) < n) {
        // A refused or unanswered submission is tried again (a controller under load may
        // time out), and counted.
        int tries = 0;
        while (!run_program("sbatch", args, out) || out.empty() || out[0] < '0' || out[0] > '9') {
          failures.fetch_add(1);
          if (++tries == 5) {
            std::fprintf(stderr, "bench_slurm sbatch: sbatch failed 5 times in a row\n");
            std::exit(1);
          }
          std::this_thread::sleep_for(std::chrono::milliseconds(200));
        }
      }
    });
  }
  for (auto& t : pool) t.join();
  const double submitted_s = bench::ms_since(start) / 1e3;

  int polls = 0;
  std::string out;
  while (true) {
    ++polls;
    const bool ok = run_program("squeue", {"-h", "--name=" + name, "-o", "%i"}, out);
    if (ok && out.find_first_not_of(" \n") == std::string::npos) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(poll_ms));
  }
  const double total_s = bench::ms_since(start) / 1e3;
  std::printf("submitted_s=%.3f total_s=%.3f polls=%d sbatch_failures=%d jobs=%d submitters=%d\n", submitted_s,
              total_s, polls, failures.load(), n, submitters);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc >= 2 && std::string_view(argv[1]) == "sbatch") return raw_sbatch(argc, argv);
  return loom::main(argc, argv, fan_sum, map_sum, inc, sum);
}
