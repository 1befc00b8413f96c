// A stored (recorded) run of the seed's count_characters on two random 50,000-letter
// strings (200,001 nodes in one sub-DAG) against the same run in memory: the cost of an
// execution that survives a crash of the executor. docs/benchmarks-durable.md has the
// results and the machine.
//
//   bench_dynamic_stored_run [--length N (50000)] [--reps R (5)] [--threads T (2)] [--stored-only]
//   [--warm-heap]
//   (--stored-only skips the in-memory rows: for profiling the stored run alone.
//   --warm-heap keeps freed memory in the process (glibc mallopt: no mmap for large
//   blocks, no trimming), so that a run does not pay page faults for fresh pages: a
//   200,001-node run allocates about 100 MB, and on this VM a page fault is expensive.)
//
// Rows, each the median of R runs on one executor of T threads:
// - in memory: `ex.run(start_wf, s1, s2)`, nothing stored;
// - in memory through the futures file: `run_options::verify_futures` (the sub-DAG is
//   written as JSON, read back and validated, as every stored run does);
// - stored: `run_options::store` on a new directory under $TMPDIR (default /tmp: a
//   disk here): the root's inputs, the futures file, every node's outputs (packed,
//   synced once per batch), every node's row in the state store (SQLite, WAL), the
//   root's outputs.
// After the stored runs: the state store's bytes per node (the database and its log,
// divided by the 200,002 rows) and the object store's bytes per node (files and packs of
// one execution); then what the disk under $TMPDIR takes to write that many bytes (32 MiB
// written as the store writes large pieces, through O_DIRECT in 4 MiB appends, then
// fdatasync: the median of 5), the floor of a stored run whose writes are not hidden
// behind its work.
#include <loom/loom.hpp>  // (the example includes only what it uses)
#include "../../examples/count_characters.hpp"
#include <loom/state_store.hpp>
#include <loom/object_store.hpp>

#include "bench_util.hpp"

#include <loom/detail/direct_io.hpp>

#include <fcntl.h>
#include <malloc.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <vector>

#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <random>
#include <string>

namespace {

namespace fs = std::filesystem;

fs::path new_directory() {
  std::random_device random;
  const char* tmp = std::getenv("TMPDIR");
  auto dir = fs::path(tmp != nullptr && *tmp != '\0' ? tmp : "/tmp") / ("loom-bench-stored-" + std::to_string(random()));
  fs::create_directories(dir);
  return dir;
}

/// MB/s of 32 MiB appended to a new file under `dir` in 4 MiB pieces (detail::file_appender:
/// O_DIRECT where the file system takes it, as the store's packs and objects), then
/// fdatasync; the median of 5. 0 if the file cannot be written.
double disk_write_rate(const fs::path& dir) {
  const std::string piece(std::size_t{4} << 20, 'x');
  std::vector<double> rates;
  for (int rep = 0; rep < 5; ++rep) {
    const fs::path file = dir / ("disk-rate-" + std::to_string(rep));
    const int fd = ::open(file.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) return 0;
    loom::detail::file_appender out(fd);
    const auto start = std::chrono::steady_clock::now();
    bool ok = true;
    for (int i = 0; i < 8 && ok; ++i) ok = out.append(piece);
    ok = ok && ::fdatasync(fd) == 0;
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    ::close(fd);
    fs::remove(file);
    if (!ok) return 0;
    rates.push_back(32.0 * 1.048576 / seconds);
  }
  std::sort(rates.begin(), rates.end());
  return rates[rates.size() / 2];
}

}  // namespace

int main(int argc, char** argv) {
  const int length = bench::int_arg(argc, argv, "--length", 50000);
  const int reps = bench::int_arg(argc, argv, "--reps", 5);
  const int threads = bench::int_arg(argc, argv, "--threads", 2);
  const bool stored_only = bench::flag(argc, argv, "--stored-only");
  const bool warm_heap = bench::flag(argc, argv, "--warm-heap");
  if (warm_heap) {
    ::mallopt(M_MMAP_THRESHOLD, 512 << 20);
    ::mallopt(M_TRIM_THRESHOLD, 1 << 30);
  }
  loom::register_entities(start_wf);
  const std::string s1 = bench::random_letters(static_cast<std::size_t>(length), 1);
  const std::string s2 = bench::random_letters(static_cast<std::size_t>(length), 2);
  const std::int64_t nodes = 4 * std::int64_t{length} + 1;

  bench::print_machine("bench_dynamic_stored_run");
  std::printf("# count_characters on 2 x %d letters: %lld nodes in one sub-DAG; executor of %d threads; median of %d%s\n",
              length, static_cast<long long>(nodes), threads, reps, warm_heap ? "; warm heap (mallopt)" : "");
  loom::executor ex({.threads = static_cast<std::size_t>(threads)});
  const std::int64_t expected = ex.run(start_wf, s1, s2);
  std::printf("%-44s %10s %10s %10s %10s %10s\n", "run", "median ms", "min ms", "max ms", "cpu ms", "us/node");
  auto row = [&](const char* what, const bench::samples& s) {
    std::printf("%-44s %10.1f %10.1f %10.1f %10.1f %10.2f\n", what, s.median(), s.min(), s.max(), s.cpu_median(),
                1000.0 * s.median() / static_cast<double>(nodes));
    std::fflush(stdout);
    return s.median();
  };
  auto check = [&](std::int64_t got) {
    if (got != expected) {
      std::fprintf(stderr, "wrong result %lld, expected %lld\n", static_cast<long long>(got),
                   static_cast<long long>(expected));
      std::exit(1);
    }
  };

  double memory = 0;
  double through = 0;
  if (!stored_only) {
    memory = row("in memory", bench::time_reps(reps, 1, [&] { check(ex.run(start_wf, s1, s2)); }));
    loom::run_options verify;
    verify.verify_futures = true;
    through = row("in memory, through the futures file",
                  bench::time_reps(reps, 0, [&] { check(ex.run(verify, start_wf, s1, s2)); }));
  }
  const fs::path root = new_directory();
  std::uintmax_t state_bytes = 0;
  std::uintmax_t object_bytes = 0;
  int run = 0;
  const double stored = row("stored (--store: recorded, resumable)", bench::time_reps(reps, 0, [&] {
                              // A store of its own per run: the database's size is one run's.
                              const fs::path dir = root / ("run-" + std::to_string(run++));
                              loom::object_store store(dir);
                              loom::run_options o;
                              o.store = &store;
                              o.execution_id = "bench";
                              check(ex.run(o, start_wf, s1, s2));
                              state_bytes = loom::state_store(loom::state_store::default_path(dir)).file_bytes();
                              object_bytes = store.bytes_under("bench");
                            }));
  const double disk_mb_per_s = disk_write_rate(root);
  std::error_code ec;
  fs::remove_all(root, ec);
  if (!stored_only) {
    std::printf("# stored / in memory: %.1fx; stored / in memory through the futures file: %.2fx\n", stored / memory,
                stored / through);
  }
  std::printf("# state store: %ju bytes, %.1f bytes per node (%lld nodes + the root)\n", state_bytes,
              static_cast<double>(state_bytes) / static_cast<double>(nodes + 1), static_cast<long long>(nodes));
  std::printf("# object store: %ju bytes for the execution, %.1f bytes per node\n", object_bytes,
              static_cast<double>(object_bytes) / static_cast<double>(nodes + 1));
  if (disk_mb_per_s > 0) {
    const double mb = static_cast<double>(object_bytes + state_bytes) / 1e6;
    std::printf("# the disk under the stores: %.0f MB/s (32 MiB, direct, synced); one run's %.1f MB take %.1f ms of it\n",
                disk_mb_per_s, mb, 1000.0 * mb / disk_mb_per_s);
  }
  std::printf("# load average at the end: %s\n", bench::load_average().c_str());
  return 0;
}
