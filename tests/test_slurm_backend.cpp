// The Slurm backend (run_options::backend = execution_backend::slurm) on a real cluster:
// munged, slurmctld and slurmd started by tools/slurm-local.sh (the CTest fixture
// "slurm", see tests/slurm_backend.cmake; SLURM_CONF and LOOM_SLURM_DIR point at it).
// Every node is a Slurm job running this very program as `loom_slurm_tests exec-node
// ...`: main() (below) registers the entities and hands that verb over before Catch2
// sees the command line. Nothing is mocked: the outages are the daemons' own, stopped and
// started again by the script.
#define CATCH_CONFIG_RUNNER
#include <catch2/catch.hpp>
#include <loom/cli.hpp>
#include <loom/object_store.hpp>
#include <loom/process_backend.hpp>
#include <loom/slurm.hpp>
#include <loom/state_store.hpp>

#include "process_tasks.hpp"
#include "sanitizers.hpp"
#include "test_programs.hpp"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <future>
#include <map>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <csignal>
#include <cstdio>
#include <iostream>
#include <string_view>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

extern "C" {
extern char** environ;  // NOLINT: POSIX
}

namespace loom_slurm_test {

using loom::promise;

/// Appends a line to DIR/runs-ID each time it runs (in a job): how often a node ran.
inline constexpr auto counted = loom::task<"s_counted">([](std::string dir, std::int64_t id, std::int64_t ms) {
                                  std::ofstream(dir + "/runs-" + std::to_string(id), std::ios::app) << ::getpid() << '\n';
                                  std::this_thread::sleep_for(std::chrono::milliseconds(ms));
                                  return id * id;
                                }).with_inputs("dir", "id", "ms");

inline constexpr auto counted_sum = loom::task<"s_counted_sum">([](std::vector<std::int64_t> values) {
  std::int64_t s = 0;
  for (const auto v : values) s += v;
  return s;
});

/// N counted nodes, each `ms` long, then their sum.
inline constexpr auto fan_out = loom::dynamic<"s_fan_out">(
    [](loom::dynamic_builder& wf, std::string dir, std::int64_t n, std::int64_t ms) {
      std::vector<promise<std::int64_t>> values;
      for (std::int64_t i = 0; i < n; ++i) values.push_back(wf(counted, dir, i, ms));
      return wf(counted_sum, values);
    }).with_inputs("dir", "n", "ms");

/// Asks the cluster for 2 CPUs, 64 MiB and 3 minutes.
inline constexpr auto sized = loom::task<"s_sized">([](std::int64_t x) { return x + 1; })
                                  .with_resources({.cpus = 2, .memory = "64M", .time = std::chrono::minutes(3)});

/// A long node beside one that fails at once.
inline constexpr auto doomed = loom::dynamic<"s_doomed">([](loom::dynamic_builder& wf, std::string dir) {
  return std::vector{wf(counted, dir, std::int64_t{0}, std::int64_t{120000}),
                     wf(loom_test::fail_with, std::string("early failure"))};
});

/// An item of a map: appends a line to DIR/item-X each time it runs, sleeps `ms`, and
/// gives 3 X; a negative X throws.
inline constexpr auto item = loom::task<"s_item">([](std::int64_t x, std::string dir, std::int64_t ms) {
                               std::ofstream(dir + "/item-" + std::to_string(x), std::ios::app) << ::getpid() << '\n';
                               std::this_thread::sleep_for(std::chrono::milliseconds(ms));
                               if (x < 0) throw std::runtime_error("negative item " + std::to_string(x));
                               return 3 * x;
                             }).with_inputs("x", "dir", "ms");

inline constexpr auto item_map = loom::workflow<"s_item_map">(
    [](auto& wf, promise<std::vector<std::int64_t>> xs, promise<std::string> dir, promise<std::int64_t> ms) {
      return wf.map(item, xs, dir, ms);
    }).with_inputs("xs", "dir", "ms");

/// At most 2 items at once: the job array's %2.
inline constexpr auto throttled_map = loom::workflow<"s_throttled_map">(
    [](auto& wf, promise<std::vector<std::int64_t>> xs, promise<std::string> dir, promise<std::int64_t> ms) {
      return wf.map(item, xs, dir, ms, loom::map_options{.concurrency = 2});
    }).with_inputs("xs", "dir", "ms");

/// Touches `mb` MiB, then holds them 4 s (slurmstepd samples memory every second): over
/// its 64 MiB, its job is killed.
inline constexpr auto hog = loom::task<"s_hog">([](std::int64_t mb) {
                              std::vector<char> memory(static_cast<std::size_t>(mb) << 20U);
                              for (std::size_t i = 0; i < memory.size(); i += 4096) memory[i] = 1;
                              std::this_thread::sleep_for(std::chrono::seconds(4));
                              return static_cast<std::int64_t>(memory.size());
                            }).with_resources({.memory = "64M"});

/// Prints what slurmstepd prints when the cgroup's OOM killer killed a process of the
/// job, then returns normally: its job exits 0.
inline constexpr auto oom_killed_child = loom::task<"s_oom_killed_child">([](std::int64_t x) {
  std::cerr << "slurmstepd: error: Detected 1 oom-kill event(s) in StepId=1.batch. Some of your processes may have "
               "been killed by the cgroup out-of-memory handler.\n";
  return x;
});

/// Appends its pid to DIR/runs-ID, says so on stdout and stderr (one line each, its id
/// in them); the first time node DOOMED runs, it exits with status 3 after printing.
inline constexpr auto talker = loom::task<"s_talker">([](std::string dir, std::int64_t id, std::int64_t doomed) {
                                 const std::string runs = dir + "/runs-" + std::to_string(id);
                                 const bool first = !std::filesystem::exists(runs);
                                 std::ofstream(runs, std::ios::app) << ::getpid() << '\n';
                                 std::printf("talker %lld says hello\n", static_cast<long long>(id));
                                 std::cerr << "talker " << id << " warns\n";
                                 if (id == doomed && first) {
                                   std::fflush(stdout);
                                   std::_Exit(3);
                                 }
                                 return id;
                               })
                                   .with_inputs("dir", "id", "doomed")
                                   .with_retries(1, {.initial = std::chrono::milliseconds(1)});

/// N talkers (node DOOMED exits the first time), then the sum of their ids.
inline constexpr auto talkers = loom::dynamic<"s_talkers">(
    [](loom::dynamic_builder& wf, std::string dir, std::int64_t n, std::int64_t doomed) {
      std::vector<promise<std::int64_t>> ids;
      for (std::int64_t i = 0; i < n; ++i) ids.push_back(wf(talker, dir, i, doomed));
      return wf(counted_sum, ids);
    }).with_inputs("dir", "n", "doomed");

inline void register_all() {
  loom_process_test::register_all();
  loom::register_entities(counted, counted_sum, fan_out, sized, doomed, item, item_map, throttled_map, hog,
                          oom_killed_child, talker, talkers);
}

}  // namespace loom_slurm_test

namespace {

using namespace loom_process_test;
using namespace loom_slurm_test;
namespace fs = std::filesystem;

/// A fresh directory the cluster's jobs see (this machine's /tmp), removed at the end.
using loom_test::scratch_dir;

/// A run on the cluster, kept in `store`; the liveness check every second (tests must
/// not wait 5 s for a verdict).
loom::run_options on_slurm(const loom::object_store& store) {
  loom::run_options o;
  o.backend = loom::execution_backend::slurm;
  o.store = &store;
  o.slurm.liveness_interval = std::chrono::seconds(1);
  o.warn = [](const std::string&) {};
  return o;
}

/// Runs a shell command line; its stdout. Fails the test when it fails.
std::string shell(const std::string& command) {
  std::string out;
  FILE* pipe = ::popen((command + " 2>&1").c_str(), "r");
  REQUIRE(pipe != nullptr);
  char buffer[4096];
  while (const auto n = std::fread(buffer, 1, sizeof buffer, pipe)) out.append(buffer, n);
  const int status = ::pclose(pipe);
  INFO(command << "\n" << out);
  REQUIRE(status == 0);
  return out;
}

/// tools/slurm-local.sh ACTION on the test cluster.
void cluster(const std::string& action) {
  const char* dir = std::getenv("LOOM_SLURM_DIR");
  REQUIRE(dir != nullptr);
  shell("bash '" LOOM_SLURM_LOCAL_SCRIPT "' " + action + " '" + dir + "'");
}

/// The Slurm job ids the run's nodes recorded (their job-a*.json records).
std::vector<std::string> job_ids(const loom::object_store& store, const std::string& execution) {
  std::vector<std::string> ids;
  for (const auto& key : store.list(execution)) {
    if (key.find("/job") == std::string::npos || key.size() < 5 || key.substr(key.size() - 5) != ".json") continue;
    const auto text = store.get(key);
    if (!text) continue;
    const auto record = loom::json::parse(*text);
    if (record.contains("job") && !record["job"].get<std::string>().empty()) ids.push_back(record["job"].get<std::string>());
  }
  return ids;
}

/// How many times each of n things ran: the lines of DIR/PREFIX0, DIR/PREFIX1, ...
std::vector<std::size_t> line_counts(const fs::path& dir, const std::string& prefix, std::int64_t n) {
  std::vector<std::size_t> counts;
  for (std::int64_t i = 0; i < n; ++i) {
    std::ifstream in(dir / (prefix + std::to_string(i)));
    std::size_t lines = 0;
    std::string line;
    while (std::getline(in, line)) ++lines;
    counts.push_back(lines);
  }
  return counts;
}

/// What a resume printed, and how it ended.
struct resumed {
  int status = 0;
  std::string out;
  std::string err;
};

/// `run` (the command line after the binary) in a driver, killed with SIGKILL once
/// DIR/`started` exists; then `resume EXECUTION` with `common`: how that went.
resumed kill_then_resume(const fs::path& dir, std::vector<std::string> run, const std::string& started,
                         const std::string& execution, const std::vector<std::string>& common);

/// How many times each counted node ran: DIR/runs-ID's lines.
std::vector<std::size_t> run_counts(const fs::path& dir, std::int64_t n) { return line_counts(dir, "runs-", n); }

/// A driver: this program's command line (`loom_slurm_tests run ...`) in a process of
/// its own, its stdout and stderr in files.
struct driver {
  pid_t pid = -1;
  fs::path out;
  fs::path err;
  driver(const fs::path& dir, const std::string& name, std::vector<std::string> args) {
    out = dir / (name + ".out");
    err = dir / (name + ".err");
    args.insert(args.begin(), loom::detail::self_program_name());
    pid = loom_test::spawn(args, {}, out, err);
  }
  /// Its wait status.
  int wait() {
    int status = 0;
    REQUIRE(::waitpid(pid, &status, 0) == pid);
    pid = -1;
    return status;
  }
  ~driver() {
    if (pid > 0) {
      ::kill(pid, SIGKILL);
      ::waitpid(pid, nullptr, 0);
    }
  }
  driver(const driver&) = delete;
  driver& operator=(const driver&) = delete;
};


using loom_test::slurp;

/// Waits until `ready()` holds (up to 60 s).
template <class Ready>
bool eventually(Ready&& ready) {
  const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (std::chrono::steady_clock::now() < until) {
    if (ready()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return false;
}

resumed kill_then_resume(const fs::path& dir, std::vector<std::string> run, const std::string& started,
                         const std::string& execution, const std::vector<std::string>& common) {
  run.insert(run.end(), common.begin(), common.end());
  {
    driver first(dir, "first", run);
    REQUIRE(eventually([&] { return fs::exists(dir / started); }));
    ::kill(first.pid, SIGKILL);
    first.wait();
  }
  std::vector<std::string> args{"resume", execution};
  args.insert(args.end(), common.begin(), common.end());
  driver second(dir, "second", args);
  resumed r;
  r.status = second.wait();
  r.out = slurp(second.out);
  r.err = slurp(second.err);
  return r;
}

}  // namespace

TEST_CASE("the seed's count_characters on Slurm gives the thread backend's answer", "[slurm]") {
  scratch_dir dir("count");
  loom::object_store store(dir.path / "store");
  loom::executor ex({.threads = 2});
  const auto expected = ex.run(start_wf, std::string("Pear"), std::string("Earth"));
  auto options = on_slurm(store);
  options.execution_id = "ex-count";
  CHECK(ex.run(options, start_wf, std::string("Pear"), std::string("Earth")) == expected);
  CHECK(expected == 3);
  // Every task node and dynamic body was a job of its own, with its logs in the store.
  const auto ids = job_ids(store, "ex-count");
  CHECK(ids.size() >= 5);
  CHECK(std::set<std::string>(ids.begin(), ids.end()).size() == ids.size());
  bool logs = false;
  for (const auto& key : store.list("ex-count")) logs = logs || key.find("/job-a0.json") != std::string::npos;
  CHECK(logs);
}

TEST_CASE("the seed's merge_sort on Slurm sorts as the thread backend does (recursion through jobs)", "[slurm]") {
  scratch_dir dir("merge");
  loom::object_store store(dir.path / "store");
  loom::executor ex({.threads = 2});
  const std::vector<std::int64_t> numbers{31, 4, 15, 9, 26, 5, 35, 8};
  const auto expected = ex.run(merge_sort, numbers, std::int64_t{4});
  CHECK(ex.run(on_slurm(store), merge_sort, numbers, std::int64_t{4}) == expected);
  CHECK(expected == std::vector<std::int64_t>{4, 5, 8, 9, 15, 26, 31, 35});
}

TEST_CASE("a static workflow with a wf.when and a map runs on Slurm as on threads", "[slurm]") {
  scratch_dir dir("branched");
  loom::object_store store(dir.path / "store");
  loom::executor ex({.threads = 2});
  for (const std::int64_t n : {4, -3}) {
    CHECK(ex.run(on_slurm(store), branched, n) == ex.run(branched, n));
  }
}

TEST_CASE("a fan-out's nodes run as jobs at the same time, each once, holding no thread", "[slurm]") {
  scratch_dir dir("fan");
  loom::object_store store(dir.path / "store");
  loom::executor ex({.threads = 1});  // one thread: the jobs cannot each hold one
  const auto started = std::chrono::steady_clock::now();
  CHECK(ex.run(on_slurm(store), fan_out, dir.path.string(), std::int64_t{12}, std::int64_t{3000}) == 506);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  CHECK(run_counts(dir.path, 12) == std::vector<std::size_t>(12, 1));
  // 12 nodes of 3 s each, one after the other, would take 36 s.
  CHECK(seconds < 25);
}

TEST_CASE("a task that throws on Slurm fails with its message, its retries are new jobs", "[slurm]") {
  scratch_dir dir("fail");
  loom::object_store store(dir.path / "store");
  loom::executor ex({.threads = 2});
  try {
    (void)ex.run(on_slurm(store), loom_test::fail_with, std::string("the input is odd"));
    FAIL("the run should have failed");
  } catch (const loom::task_failed& e) {
    CHECK_THAT(e.what(), Catch::Contains("the input is odd"));
  }
  constexpr auto retried = flaky_process.with_retries(3, {.initial = std::chrono::milliseconds(10)});
  CHECK(ex.run(on_slurm(store), retried, dir.path.string(), std::int64_t{2}) == 3);
}

TEST_CASE("a job that exits or is killed fails its node with the job id and its last output", "[slurm]") {
  scratch_dir dir("exit");
  loom::object_store store(dir.path / "store");
  loom::executor ex({.threads = 2});
  try {
    (void)ex.run(on_slurm(store), exit_three, std::int64_t{1});
    FAIL("the run should have failed");
  } catch (const loom::task_failed& e) {
    CHECK_THAT(e.what(), Catch::Contains("its Slurm job"));
    CHECK_THAT(e.what(), Catch::Contains("exited with status 3"));
    CHECK_THAT(e.what(), Catch::Contains("the disk is on fire"));
  }
  try {
    (void)ex.run(on_slurm(store), crash_kill, std::int64_t{1});
    FAIL("the run should have failed");
  } catch (const loom::task_failed& e) {
    CHECK_THAT(e.what(), Catch::Contains("was killed by signal SIGKILL"));
  }
}

TEST_CASE("a task's timeout stops its job", "[slurm]") {
  scratch_dir dir("timeout");
  loom::object_store store(dir.path / "store");
  loom::executor ex({.threads = 2});
  const auto started = std::chrono::steady_clock::now();
  try {
    (void)ex.run(on_slurm(store), sleeper, dir.path.string(), std::int64_t{20000});
    FAIL("the run should have failed");
  } catch (const loom::task_failed& e) {
    CHECK_THAT(e.what(), Catch::Contains("timed out after 300 ms"));
  }
  CHECK(std::chrono::steady_clock::now() - started < std::chrono::seconds(15));
}

TEST_CASE("a task's resources reach sbatch: CPUs, memory, time limit", "[slurm]") {
  scratch_dir dir("sized");
  loom::object_store store(dir.path / "store");
  loom::executor ex({.threads = 2});
  auto options = on_slurm(store);
  options.execution_id = "ex-sized";
  CHECK(ex.run(options, sized, std::int64_t{41}) == 42);
  const auto ids = job_ids(store, "ex-sized");
  REQUIRE(ids.size() == 1);
  const std::string job = shell("scontrol show job --oneliner " + ids[0]);
  CHECK_THAT(job, Catch::Contains("CPUs/Task=2"));
  CHECK_THAT(job, Catch::Contains("MinMemoryNode=64M"));
  CHECK_THAT(job, Catch::Contains("TimeLimit=00:03:00"));
  CHECK_THAT(job, Catch::Contains("JobName=loom:ex-sized"));
}

TEST_CASE("a partition the cluster does not have fails the node at once with sbatch's reason", "[slurm]") {
  scratch_dir dir("partition");
  loom::object_store store(dir.path / "store");
  loom::executor ex({.threads = 2});
  auto options = on_slurm(store);
  options.slurm.partition = "no-such-partition";
  const auto started = std::chrono::steady_clock::now();
  try {
    (void)ex.run(options, square, std::int64_t{3});
    FAIL("the run should have failed");
  } catch (const loom::task_failed& e) {
    CHECK_THAT(e.what(), Catch::Contains("sbatch refused the job"));
    CHECK_THAT(e.what(), Catch::Contains("Invalid partition"));
  }
  CHECK(std::chrono::steady_clock::now() - started < std::chrono::seconds(10));
}

TEST_CASE("the Slurm backend without a store says it needs one", "[slurm]") {
  loom::executor ex({.threads = 1});
  loom::run_options options;
  options.backend = loom::execution_backend::slurm;
  CHECK_THROWS_WITH(ex.run(options, square, std::int64_t{3}), Catch::Contains("needs a store"));
}

TEST_CASE("scancel of a running node's job fails the node, naming the job", "[slurm]") {
  scratch_dir dir("scancel");
  loom::object_store store(dir.path / "store");
  loom::executor ex({.threads = 2});
  auto options = on_slurm(store);
  options.execution_id = "ex-scancel";
  auto run = std::async(std::launch::async, [&] {
    return ex.run(options, counted, dir.path.string(), std::int64_t{0}, std::int64_t{60000});
  });
  REQUIRE(eventually([&] { return fs::exists(dir.path / "runs-0"); }));  // the job runs
  const auto ids = job_ids(store, "ex-scancel");
  REQUIRE(ids.size() == 1);
  const auto cancelled = std::chrono::steady_clock::now();
  shell("scancel " + ids[0]);
  try {
    (void)run.get();
    FAIL("the run should have failed");
  } catch (const loom::task_failed& e) {
    CHECK_THAT(e.what(), Catch::Contains("Slurm job " + ids[0]));
    CHECK_THAT(e.what(), Catch::Contains("cancelled"));
  }
  CHECK(std::chrono::steady_clock::now() - cancelled < std::chrono::seconds(20));
}

TEST_CASE("a failed run cancels its jobs still running", "[slurm]") {
  scratch_dir dir("cancel-rest");
  loom::object_store store(dir.path / "store");
  loom::executor ex({.threads = 2});
  auto options = on_slurm(store);
  options.execution_id = "ex-rest";
  CHECK_THROWS_WITH(ex.run(options, doomed, dir.path.string()), Catch::Contains("early failure"));
  // Its job is gone from the queue at once, not after two minutes.
  REQUIRE(eventually([&] { return shell("squeue -h --name=loom:ex-rest -o %i").empty(); }));
}

TEST_CASE("an sbatch that fails 1 time in 5 (before or after submitting) runs every node once", "[slurm]") {
  scratch_dir dir("flaky");
  loom::object_store store(dir.path / "store");
  // Every 5th call fails: the odd ones before submitting, the even ones after (the job
  // exists, the answer is lost), both with the error a timed-out controller gives.
  const fs::path wrapper = dir.path / "flaky-sbatch";
  // The counter is locked: the executor's threads call sbatch at once.
  std::ofstream(wrapper) << "#!/bin/sh\n"
                            "exec 9>'" << (dir.path / "calls.lock").string() << "'; flock 9\n"
                            "n=$(cat '" << (dir.path / "calls").string() << "' 2>/dev/null || echo 0)\n"
                            "n=$((n + 1)); echo $n > '" << (dir.path / "calls").string() << "'\n"
                            "if [ $((n % 5)) -eq 0 ]; then\n"
                            "  if [ $((n % 10)) -eq 0 ]; then sbatch \"$@\" >/dev/null; fi\n"
                            "  echo 'sbatch: error: Batch job submission failed: Socket timed out on send/recv operation' >&2\n"
                            "  exit 1\n"
                            "fi\n"
                            "flock -u 9\n"
                            "exec sbatch \"$@\" 9>&-\n";
  fs::permissions(wrapper, fs::perms::owner_all);
  loom::executor ex({.threads = 2});
  auto options = on_slurm(store);
  options.slurm.sbatch = wrapper.string();
  CHECK(ex.run(options, fan_out, dir.path.string(), std::int64_t{16}, std::int64_t{0}) == 1240);
  CHECK(run_counts(dir.path, 16) == std::vector<std::size_t>(16, 1));
  // 18 jobs (the body, 16 nodes, the sum) and every 5th call failed: at least 20 calls.
  CHECK(std::stoi(slurp(dir.path / "calls")) >= 20);
}

TEST_CASE("SIGTERM or SIGINT (Ctrl-C) to a driver cancels its jobs and exits 128+signal", "[slurm]") {
  const int sig = GENERATE(SIGTERM, SIGINT);
  const std::string name = sig == SIGTERM ? "SIGTERM" : "SIGINT";
  const std::string execution = "ex-term-" + std::to_string(sig);
  scratch_dir dir("sig" + std::to_string(sig));
  const auto store = (dir.path / "store").string();
  driver d(dir.path, "driver",
           {"run", "s_fan_out", "--dir", dir.path.string(), "--n", "3", "--ms", "120000", "--backend", "slurm",
            "--store", store, "--execution-id", execution, "--slurm-liveness-ms", "1000"});
  REQUIRE(eventually([&] { return fs::exists(dir.path / "runs-2"); }));  // all three run
  REQUIRE(shell("squeue -h --name=loom:" + execution + " -o %i").size() > 0);
  ::kill(d.pid, sig);
  const int status = d.wait();
  INFO(slurp(d.err));
  CHECK(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 128 + sig);
  CHECK_THAT(slurp(d.err), Catch::Contains("the driver was stopped by " + name));
  // Its jobs are gone (cancelled), not left running for two minutes.
  CHECK(eventually([&] { return shell("squeue -h --name=loom:" + execution + " -o %i").empty(); }));
}

TEST_CASE("liveness: one scontrol call a look, less often while no job starts or ends, never squeue", "[slurm]") {
  scratch_dir dir("liveness");
  loom::object_store store(dir.path / "store");
  // Both commands through wrappers that log each call's time (ms) and arguments.
  const fs::path calls = dir.path / "calls";
  auto wrapper = [&](const std::string& program) {
    const fs::path path = dir.path / ("logged-" + program);
    std::ofstream(path) << "#!/bin/sh\n"
                           "echo \"$(date +%s%3N) " << program << " $*\" >> '" << calls.string() << "'\n"
                           "exec " << program << " \"$@\"\n";
    fs::permissions(path, fs::perms::owner_all);
    return path.string();
  };
  loom::executor ex({.threads = 2});
  auto options = on_slurm(store);
  options.execution_id = "ex-live";
  options.slurm.liveness_interval = std::chrono::milliseconds(400);
  options.slurm.scontrol = wrapper("scontrol");
  options.slurm.squeue = wrapper("squeue");
  // Two nodes of 9 s (0 and 1, squared and summed): for most of the run no job starts or ends.
  CHECK(ex.run(options, fan_out, dir.path.string(), std::int64_t{2}, std::int64_t{9000}) == 1);
  std::vector<long long> looks;  // when the run's jobs were listed
  std::istringstream lines(slurp(calls));
  std::string line;
  while (std::getline(lines, line)) {
    INFO(line);
    CHECK(line.find(" squeue ") == std::string::npos);  // squeue costs the controller two RPCs
    if (line.find(" scontrol --oneliner show job") != std::string::npos &&
        line.size() == line.find("show job") + std::string("show job").size()) {
      looks.push_back(std::stoll(line.substr(0, line.find(' '))));
    }
  }
  INFO(slurp(calls));
  // Every 400 ms, the looks would be about 0.42 s apart (the command's own time added);
  // the interval doubles to 1.6 s (4 x 400 ms) while nothing changes, which is most of
  // the run (how long the run takes depends on the machine: the gaps, not the count).
  REQUIRE(looks.size() >= 4);
  std::vector<long long> gaps;
  for (std::size_t k = 1; k < looks.size(); ++k) gaps.push_back(looks[k] - looks[k - 1]);
  std::sort(gaps.begin(), gaps.end());
  CHECK(gaps[gaps.size() / 2] >= 1000);  // the median gap: doubled
  CHECK(gaps.back() >= 1500);  // 1.6 s reached
  CHECK(gaps.back() <= 1600 + 1500);  // and not beyond (the rest: the command itself, a slow machine)
}

TEST_CASE("kill -9 of the driver, then resume: running jobs are adopted, no node runs twice", "[slurm]") {
  scratch_dir dir("resume");
  const auto store = (dir.path / "store").string();
  const std::vector<std::string> common{"--backend", "slurm", "--store", store, "--slurm-liveness-ms", "1000"};
  // Killed once every node's job runs.
  const resumed r = kill_then_resume(dir.path,
                                     {"run", "s_fan_out", "--dir", dir.path.string(), "--n", "6", "--ms", "6000",
                                      "--execution-id", "ex-kill"},
                                     "runs-5", "ex-kill", common);
  INFO(r.err);
  CHECK(WIFEXITED(r.status));
  CHECK(WEXITSTATUS(r.status) == 0);
  CHECK(r.out == "{\"o0\":55}\n");
  CHECK_THAT(r.err, Catch::Contains("adopting Slurm job"));
  CHECK(run_counts(dir.path, 6) == std::vector<std::size_t>(6, 1));
}

// ---- Map nodes as job arrays ----

/// 0, 1, ..., n - 1.
std::vector<std::int64_t> iota(std::int64_t n) {
  std::vector<std::int64_t> xs;
  for (std::int64_t i = 0; i < n; ++i) xs.push_back(i);
  return xs;
}

/// How many times each item of a map ran: DIR/item-X's lines.
std::vector<std::size_t> item_counts(const fs::path& dir, std::int64_t n) { return line_counts(dir, "item-", n); }

/// The files under `root` whose names match `pattern` (a regular expression).
std::vector<fs::path> files_named(const fs::path& root, const std::string& pattern) {
  std::vector<fs::path> found;
  const std::regex re(pattern);
  for (const auto& entry : fs::recursive_directory_iterator(root)) {
    if (std::regex_match(entry.path().filename().string(), re)) found.push_back(entry.path());
  }
  std::sort(found.begin(), found.end());
  return found;
}

TEST_CASE("a map of 1000 items runs as job arrays, split where MaxArraySize (301 here) requires", "[slurm]") {
  scratch_dir dir("array");
  loom::object_store store(dir.path / "store");
  loom::executor ex({.threads = 2});
  auto options = on_slurm(store);
  options.execution_id = "ex-array";
  const auto result = ex.run(options, item_map, iota(1000), dir.path.string(), std::int64_t{0});
  REQUIRE(result.size() == 1000);
  for (std::size_t i = 0; i < result.size(); ++i) REQUIRE(result[i] == 3 * static_cast<std::int64_t>(i));
  CHECK(item_counts(dir.path, 1000) == std::vector<std::size_t>(1000, 1));
  // One item an element (at most 1,000 elements a map), indices 0..300: four arrays, one
  // sbatch each.
  CHECK(files_named(store.root(), R"(array-\d+\.sh)").size() == 4);
  std::set<std::string> arrays;
  std::set<std::string> elements;
  for (const auto& done : files_named(store.root(), R"(job\.done)")) {
    const auto record = loom::json::parse(slurp(done));
    const std::string id = record["job"].get<std::string>();
    CHECK(record["exit"] == 0);
    REQUIRE(id.find('_') != std::string::npos);
    arrays.insert(id.substr(0, id.find('_')));
    elements.insert(id);
  }
  CHECK(elements.size() == 1000);
  CHECK(arrays.size() == 4);
}

TEST_CASE("a map's items per job, its failures and its concurrency on job arrays", "[slurm]") {
  scratch_dir dir("array-items");
  loom::object_store store(dir.path / "store");
  loom::executor ex({.threads = 2});
  auto options = on_slurm(store);
  options.slurm.items_per_job = 8;
  SECTION("50 items, 8 an element: 7 elements of one array") {
    const auto result = ex.run(options, item_map, iota(50), dir.path.string(), std::int64_t{0});
    REQUIRE(result.size() == 50);
    CHECK(result[49] == 147);
    CHECK(item_counts(dir.path, 50) == std::vector<std::size_t>(50, 1));
    CHECK(files_named(store.root(), R"(job\.done)").size() == 7);
    CHECK(files_named(store.root(), R"(array-\d+\.sh)").size() == 1);
  }
  SECTION("an item that throws fails the map with its message") {
    auto xs = iota(20);
    xs[13] = -13;
    CHECK_THROWS_WITH(ex.run(options, item_map, xs, dir.path.string(), std::int64_t{0}),
                      Catch::Contains("map item 13 of 20 failed") && Catch::Contains("negative item -13"));
  }
  SECTION("concurrency 2: never more than two elements run at once") {
    options.slurm.items_per_job = 1;
    options.execution_id = "ex-throttle";
    std::atomic<bool> over{false};
    std::atomic<std::size_t> most{0};
    auto run = std::async(std::launch::async, [&] {
      return ex.run(options, throttled_map, iota(6), dir.path.string(), std::int64_t{1500});
    });
    while (run.wait_for(std::chrono::milliseconds(200)) != std::future_status::ready) {
      const std::string running = shell("squeue -h --array -t RUNNING --name=loom:ex-throttle -o %i");
      const auto n = static_cast<std::size_t>(std::count(running.begin(), running.end(), '\n'));
      most = std::max(most.load(), n);
      if (n > 2) over = true;
    }
    CHECK(run.get().size() == 6);
    CHECK_FALSE(over);
    CHECK(most == 2);
  }
}

TEST_CASE("scancel of a map's element fails its items, naming the job", "[slurm]") {
  scratch_dir dir("array-scancel");
  loom::object_store store(dir.path / "store");
  loom::executor ex({.threads = 2});
  auto options = on_slurm(store);
  options.execution_id = "ex-array-scancel";
  auto run = std::async(std::launch::async, [&] {
    return ex.run(options, item_map, iota(4), dir.path.string(), std::int64_t{60000});
  });
  REQUIRE(eventually([&] { return fs::exists(dir.path / "item-2"); }));
  const std::string element = shell("squeue -h --array --name=loom:ex-array-scancel -o %i | grep '_2$'");
  REQUIRE_FALSE(element.empty());
  const std::string id = element.substr(0, element.find('\n'));
  shell("scancel " + id);
  CHECK_THROWS_WITH(run.get(), Catch::Contains("map item 2 of 4 failed") &&
                                   Catch::Contains("its Slurm job " + id + " was cancelled (scancel)"));
  CHECK(eventually([&] { return shell("squeue -h --name=loom:ex-array-scancel -o %i").empty(); }));
}

TEST_CASE("kill -9 of the driver while a map's elements run, then resume: adopted, each item once", "[slurm]") {
  scratch_dir dir("array-resume");
  const auto store = (dir.path / "store").string();
  const std::vector<std::string> common{"--backend", "slurm", "--store", store, "--slurm-liveness-ms", "1000"};
  // Killed once every element runs.
  const resumed r = kill_then_resume(dir.path,
                                     {"run", "s_item_map", "--xs", "[0,1,2,3,4,5]", "--dir", dir.path.string(), "--ms",
                                      "6000", "--execution-id", "ex-array-kill"},
                                     "item-5", "ex-array-kill", common);
  INFO(r.err);
  CHECK(WIFEXITED(r.status));
  CHECK(WEXITSTATUS(r.status) == 0);
  CHECK(r.out == "{\"o0\":[0,3,6,9,12,15]}\n");
  CHECK_THAT(r.err, Catch::Contains("adopting Slurm job"));
  CHECK(item_counts(dir.path, 6) == std::vector<std::size_t>(6, 1));
}

// ---- Pilot workers ----

loom::run_options with_workers(const loom::object_store& store, std::size_t workers, std::size_t slots) {
  auto options = on_slurm(store);
  options.slurm.workers = workers;
  options.slurm.worker_slots = slots;
  options.slurm.worker_address = "127.0.0.1";
  return options;
}

TEST_CASE("pilot workers run a fan-out's nodes in forks: no job per node, no worker left after", "[slurm]") {
  scratch_dir dir("pilots");
  loom::object_store store(dir.path / "store");
  loom::executor ex({.threads = 2});
  auto options = with_workers(store, 2, 2);
  options.execution_id = "ex-pilots";
  CHECK(ex.run(options, fan_out, dir.path.string(), std::int64_t{40}, std::int64_t{0}) == 20540);
  CHECK(run_counts(dir.path, 40) == std::vector<std::size_t>(40, 1));
  // The body, 40 nodes and the sum ran on the workers: no job of their own, no job
  // record, no file per node (inputs came with the requests, outputs went back with the
  // answers, nothing was printed) but the body's futures file.
  CHECK(job_ids(store, "ex-pilots").empty());
  CHECK(files_named(store.root(), R"(job-a\d+\..*)").empty());
  for (const auto& file : files_named(store.root(), R"((inputs|outputs)\.json.*)")) {
    CHECK(file.parent_path() == store.root() / "ex-pilots");  // the execution's outputs, not a node's
  }
  CHECK(files_named(store.root(), R"(futures\.json)").size() == 1);
  // The pool's journal: each node sent to a worker, and how it ended.
  std::ifstream journal(store.root() / "ex-pilots" / "pilots" / "nodes.jsonl");
  std::size_t sent = 0;
  std::size_t exited_0 = 0;
  for (std::string line; std::getline(journal, line);) {
    const auto entry = loom::json::parse(line);
    if (entry.contains("node")) ++sent;
    if (entry.contains("exit") && entry["exit"] == 0) ++exited_0;
  }
  CHECK(sent == 42);
  CHECK(exited_0 == 42);
  // A resume of the finished run reuses every node's outputs (kept in the run's pack).
  options.resume = true;
  CHECK(ex.run(options, fan_out, dir.path.string(), std::int64_t{40}, std::int64_t{0}) == 20540);
  CHECK(run_counts(dir.path, 40) == std::vector<std::size_t>(40, 1));
  // The workers ran as one job array of 2, and are gone with the run. The resume's
  // array, with nothing to run, may be cancelled before any, some or all of its
  // workers start, so it leaves 0 to 2 logs.
  CHECK(eventually([&] { return shell("squeue -h --name=loom:ex-pilots -o %i").empty(); }));
  std::map<long, std::size_t> logs_per_array;
  const std::regex worker_log(R"(worker-(\d+)_\d+\.err)");
  for (const auto& log : files_named(store.root(), R"(worker-\d+_\d+\.err)")) {
    std::smatch match;
    const auto name = log.filename().string();
    REQUIRE(std::regex_match(name, match, worker_log));
    ++logs_per_array[std::stol(match[1].str())];
  }
  REQUIRE(!logs_per_array.empty());
  CHECK(logs_per_array.size() <= 2);
  // The first run's array: at least one worker ran (one may take all 42 nodes before
  // the other starts, and the other is then cancelled).
  CHECK(logs_per_array.begin()->second >= 1);
  CHECK(logs_per_array.begin()->second <= 2);
  CHECK(logs_per_array.rbegin()->second <= 2);
}

TEST_CASE("on pilot workers a task's error, its exit status and its output come back, a silent node has no log",
          "[slurm]") {
  scratch_dir dir("pilots-fail");
  loom::object_store store(dir.path / "store");
  loom::executor ex({.threads = 2});
  auto options = with_workers(store, 1, 2);
  options.execution_id = "ex-pilots-fail";
  try {
    (void)ex.run(options, loom_test::fail_with, std::string("the input is odd"));
    FAIL("the run should have failed");
  } catch (const loom::task_failed& e) {
    CHECK_THAT(e.what(), Catch::Contains("the input is odd"));
  }
  CHECK(files_named(store.root(), R"(error\.json.*)").empty());  // the message came back with the answer
  options.execution_id = "ex-pilots-exit";
  try {
    (void)ex.run(options, exit_three, std::int64_t{1});
    FAIL("the run should have failed");
  } catch (const loom::task_failed& e) {
    CHECK_THAT(e.what(), Catch::Contains("on pilot worker"));
    CHECK_THAT(e.what(), Catch::Contains("exited with status 3"));
    CHECK_THAT(e.what(), Catch::Contains("the disk is on fire"));
  }
  // The node printed: its log was written (the other, stdout, was not: it printed nothing there).
  CHECK(files_named(store.root() / "ex-pilots-exit", R"(job-a0\.err)").size() == 1);
  CHECK(files_named(store.root() / "ex-pilots-exit", R"(job-a0\.out)").empty());
  options.execution_id = "ex-pilots-timeout";
  try {
    (void)ex.run(options, sleeper, dir.path.string(), std::int64_t{20000});
    FAIL("the run should have failed");
  } catch (const loom::task_failed& e) {
    CHECK_THAT(e.what(), Catch::Contains("timed out after 300 ms"));
  }
}

/// The pids in DIR/runs-0 .. runs-(N-1), each line one run.
std::vector<std::string> run_pids(const fs::path& dir, std::int64_t n) {
  std::vector<std::string> pids;
  for (std::int64_t i = 0; i < n; ++i) {
    std::ifstream in(dir / ("runs-" + std::to_string(i)));
    for (std::string line; std::getline(in, line);) pids.push_back(line);
  }
  return pids;
}

TEST_CASE("a pilot worker's process runs nodes in turn, K at most, each node's output goes to its own logs",
          "[slurm]") {
  scratch_dir dir("pilots-reuse");
  loom::object_store store(dir.path / "store");
  loom::executor ex({.threads = 2});
  auto options = with_workers(store, 1, 1);
  options.slurm.worker_nodes_per_process = 4;
  options.execution_id = "ex-pilots-reuse";
  CHECK(ex.run(options, talkers, dir.path.string(), std::int64_t{10}, std::int64_t{-1}) == 45);
  // One slot: the body, the 10 talkers and the sum ran one after another, 4 to a process:
  // the talkers in 3 processes (the body's first, with 3 of them; 4; 3 and the sum).
  const auto pids = run_pids(dir.path, 10);
  REQUIRE(pids.size() == 10);
  std::map<std::string, int> per_pid;
  for (const auto& pid : pids) ++per_pid[pid];
  CHECK(per_pid.size() == 3);
  for (const auto& [pid, count] : per_pid) CHECK(count <= 4);
  // Each node's logs hold what it printed, no other node's.
  std::set<std::string> said;
  std::set<std::string> warned;
  for (const auto& file : files_named(store.root() / "ex-pilots-reuse", R"(job-a0\.(out|err))")) {
    const std::string text = slurp(file);
    const bool out = file.extension() == ".out";
    INFO(file.string() << ": " << text);
    CHECK(std::count(text.begin(), text.end(), '\n') == 1);
    CHECK_THAT(text, Catch::Contains(out ? " says hello" : " warns"));
    (out ? said : warned).insert(text);
  }
  CHECK(said.size() == 10);
  CHECK(warned.size() == 10);
}

TEST_CASE("a node that exits takes its process with it: the next node gets a new one", "[slurm]") {
  scratch_dir dir("pilots-exit-reuse");
  loom::object_store store(dir.path / "store");
  loom::executor ex({.threads = 2});
  auto options = with_workers(store, 1, 1);
  options.execution_id = "ex-pilots-exit-reuse";
  // Talker 3 exits (status 3) the first time: its retry, and every node after it, run in
  // a second process; every node before it ran in the first.
  CHECK(ex.run(options, talkers, dir.path.string(), std::int64_t{8}, std::int64_t{3}) == 28);
  const auto pids = run_pids(dir.path, 8);
  CHECK(pids.size() == 9);
  CHECK(std::set<std::string>(pids.begin(), pids.end()).size() == 2);
  const std::string doomed_runs = slurp(dir.path / "runs-3");
  CHECK(std::count(doomed_runs.begin(), doomed_runs.end(), '\n') == 2);
  // Its first attempt's output is in that attempt's log, the exit status in the journal.
  std::ifstream journal(store.root() / "ex-pilots-exit-reuse" / "pilots" / "nodes.jsonl");
  std::size_t exited_3 = 0;
  for (std::string line; std::getline(journal, line);) {
    const auto entry = loom::json::parse(line);
    if (entry.contains("exit") && entry["exit"] == 3) ++exited_3;
  }
  CHECK(exited_3 == 1);
}

TEST_CASE("a node that declares resources gets a job of its own beside the pilot workers", "[slurm]") {
  scratch_dir dir("pilots-sized");
  loom::object_store store(dir.path / "store");
  loom::executor ex({.threads = 2});
  auto options = with_workers(store, 1, 1);
  options.execution_id = "ex-pilots-sized";
  CHECK(ex.run(options, sized, std::int64_t{41}) == 42);
  const auto ids = job_ids(store, "ex-pilots-sized");
  REQUIRE(ids.size() == 1);
  CHECK(ids[0].find_first_not_of("0123456789") == std::string::npos);  // a Slurm job id
}

TEST_CASE("a pilot worker cancelled mid-run: its nodes run again on another worker", "[slurm]") {
  scratch_dir dir("pilots-lost");
  loom::object_store store(dir.path / "store");
  loom::executor ex({.threads = 2});
  auto options = with_workers(store, 2, 2);
  options.execution_id = "ex-pilots-lost";
  std::mutex mutex;
  std::vector<std::string> warnings;
  options.warn = [&](const std::string& w) {
    std::lock_guard lock(mutex);
    warnings.push_back(w);
  };
  auto run = std::async(std::launch::async, [&] {
    return ex.run(options, fan_out, dir.path.string(), std::int64_t{4}, std::int64_t{3000});
  });
  // All four run: two on each worker (2 slots each), so either worker has nodes to lose.
  REQUIRE(eventually([&] {
    for (int i = 0; i < 4; ++i) {
      if (!fs::exists(dir.path / ("runs-" + std::to_string(i)))) return false;
    }
    return true;
  }));
  // One worker's job: cancelled, its nodes killed with it.
  const std::string workers = shell("squeue -h --array --name=loom:ex-pilots-lost -t RUNNING -o %i");
  REQUIRE_FALSE(workers.empty());
  shell("scancel " + workers.substr(0, workers.find('\n')));
  CHECK(run.get() == 0 + 1 + 4 + 9);
  std::lock_guard lock(mutex);
  CHECK(std::any_of(warnings.begin(), warnings.end(),
                    [](const std::string& w) { return w.find("running it on another worker") != std::string::npos; }));
  CHECK(eventually([&] { return shell("squeue -h --name=loom:ex-pilots-lost -o %i").empty(); }));
}

TEST_CASE("kill -9 of a driver with pilot workers: its workers exit", "[slurm]") {
  scratch_dir dir("pilots-orphan");
  const auto store = (dir.path / "store").string();
  driver d(dir.path, "driver",
           {"run", "s_fan_out", "--dir", dir.path.string(), "--n", "4", "--ms", "120000", "--backend", "slurm",
            "--store", store, "--execution-id", "ex-pilots-orphan", "--slurm-workers", "2", "--slurm-worker-slots",
            "2", "--slurm-worker-address", "127.0.0.1"});
  // (What the cluster and the driver said, should a wait below run out: it failed once
  // under ASan, on a loaded machine, and passed again in every run after.)
  auto state = [&] {
    return "queue:\n" + shell("squeue -h --array --name=loom:ex-pilots-orphan -o '%i %T %r %M'") +
           "driver's stderr:\n" + slurp(d.err);
  };
  if (!eventually([&] { return fs::exists(dir.path / "runs-3"); })) FAIL("the 4 nodes never all ran\n" << state());
  ::kill(d.pid, SIGKILL);
  d.wait();
  // The workers see their connection end, kill their nodes and exit: nothing of the run
  // is left on the cluster, long before the nodes' two minutes.
  if (!eventually([&] { return shell("squeue -h --name=loom:ex-pilots-orphan -o %i").empty(); })) {
    FAIL("the workers stayed\n" << state());
  }
}

TEST_CASE("a pilot worker whose driver is gone before it connects leaves within seconds", "[slurm]") {
  // Nothing listens on the port (a driver killed before the cluster started this worker):
  // the connection is refused, and the worker does not hold its job for the minute it
  // would wait for a driver that is slow to answer.
  scratch_dir dir("pilot-no-driver");
  const int listener = ::socket(AF_INET, SOCK_STREAM, 0);
  REQUIRE(listener >= 0);
  sockaddr_in at{};
  at.sin_family = AF_INET;
  at.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(::bind(listener, reinterpret_cast<sockaddr*>(&at), sizeof at) == 0);
  socklen_t size = sizeof at;
  REQUIRE(::getsockname(listener, reinterpret_cast<sockaddr*>(&at), &size) == 0);
  ::close(listener);  // a free port, with nothing listening on it
  const auto started = std::chrono::steady_clock::now();
  driver w(dir.path, "worker",
           {"worker", "--driver", "127.0.0.1:" + std::to_string(ntohs(at.sin_port)), "--token", "t", "--slots", "1"});
  const int status = w.wait();
  const auto took = std::chrono::steady_clock::now() - started;
  INFO(slurp(w.err));
  CHECK(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 0);
  CHECK_THAT(slurp(w.err), Catch::Contains("does not answer") && Catch::Contains("refused"));
  CHECK(took < std::chrono::seconds(10));
}

// ---- Memory ----

TEST_CASE("a task over its memory (--mem=64M) fails, its job said out of memory", "[slurm]") {
  scratch_dir dir("oom");
  loom::object_store store(dir.path / "store");
  loom::executor ex({.threads = 2});
  CHECK_THROWS_WITH(ex.run(on_slurm(store), hog, std::int64_t{400}),
                    Catch::Contains("ran out of memory (--mem=64M) and was killed") &&
                        Catch::Contains("exceeded memory limit"));
  // Within its limit, the same task succeeds (not under a sanitizer: ASan's own memory
  // takes the job past 64 MB before the task allocates anything much: 69 MB seen).
  if (!loom_test::sanitized) CHECK(ex.run(on_slurm(store), hog, std::int64_t{8}) == 8 << 20);
}

TEST_CASE("a job whose log says a process was OOM-killed fails, even though it exited 0", "[slurm]") {
  scratch_dir dir("oom-exit-0");
  loom::object_store store(dir.path / "store");
  loom::executor ex({.threads = 2});
  CHECK_THROWS_WITH(ex.run(on_slurm(store), oom_killed_child, std::int64_t{1}),
                    Catch::Contains("ran out of memory (no --mem given") && Catch::Contains("oom-kill event"));
}

// ---- Outages of the cluster's daemons (run alone: tests/slurm_backend.cmake). ----

TEST_CASE("the controller stopped mid-run: the run waits for it, then completes, each node once", "[slurm][outage]") {
  scratch_dir dir("ctld");
  loom::object_store store(dir.path / "store");
  loom::executor ex({.threads = 2});
  auto run = std::async(std::launch::async, [&] {
    return ex.run(on_slurm(store), fan_out, dir.path.string(), std::int64_t{6}, std::int64_t{4000});
  });
  REQUIRE(eventually([&] { return fs::exists(dir.path / "runs-0"); }));  // its jobs run
  cluster("controller-stop");
  // Liveness checks and submissions fail meanwhile: a wait, never a failure.
  std::this_thread::sleep_for(std::chrono::seconds(6));
  cluster("controller-start");
  CHECK(run.get() == 0 + 1 + 4 + 9 + 16 + 25);
  CHECK(run_counts(dir.path, 6) == std::vector<std::size_t>(6, 1));
}

TEST_CASE("slurmd killed mid-run and started again: the run completes, each node once", "[slurm][outage]") {
  scratch_dir dir("slurmd");
  loom::object_store store(dir.path / "store");
  loom::executor ex({.threads = 2});
  auto run = std::async(std::launch::async, [&] {
    return ex.run(on_slurm(store), fan_out, dir.path.string(), std::int64_t{4}, std::int64_t{5000});
  });
  REQUIRE(eventually([&] { return fs::exists(dir.path / "runs-0"); }));
  cluster("node-kill");
  std::this_thread::sleep_for(std::chrono::seconds(2));
  cluster("node-start");
  CHECK(run.get() == 0 + 1 + 4 + 9);
  CHECK(run_counts(dir.path, 4) == std::vector<std::size_t>(4, 1));
}

int main(int argc, char** argv) {
  // The test cluster, unless the environment names another.
  ::setenv("LOOM_SLURM_DIR", LOOM_SLURM_TEST_DIR, 0);
  ::setenv("SLURM_CONF", (std::string(std::getenv("LOOM_SLURM_DIR")) + "/slurm.conf").c_str(), 0);
  loom_slurm_test::register_all();
  if (loom::is_node_process(argc, argv)) return loom::run_node_process(argc, argv);
  // A driver of the tests that kill or signal one (`loom_slurm_tests run|resume ...`).
  if (argc >= 2 && (std::string_view(argv[1]) == "run" || std::string_view(argv[1]) == "resume")) {
    return loom::run_command_line(argc, argv, std::cout, std::cerr);
  }
  return Catch::Session().run(argc, argv);
}
