// The process backend through the C++ API (run_options::backend): the same results as
// the thread backend on every workflow shape, clear errors when a node process
// misbehaves, no zombies, the private store removed, at most --threads processes alive.
// The node processes are this very program (/proc/self/exe) started as
// `loom_process_tests exec-node NAME ...`: main() (below) registers the entities and
// hands that verb to loom::run_node_process before Catch2 sees the command line. (It is
// here, not in a file of its own, because examples/merge_sort.hpp, which defines
// functions, may be included by one translation unit only.)
#define CATCH_CONFIG_RUNNER
#include <catch2/catch.hpp>
#include <loom/state_store.hpp>
#include <loom/object_store.hpp>
#include <loom/process_backend.hpp>

#include "process_tasks.hpp"

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <set>
#include <string>
#include <vector>

#include <sys/wait.h>
#include <unistd.h>

namespace {

using namespace loom_process_test;
namespace fs = std::filesystem;

loom::run_options thread_backend() { return {}; }

loom::run_options process_backend() {
  loom::run_options o;
  o.backend = loom::execution_backend::process;
  return o;
}

/// A fresh directory, removed at the end of the test.
struct scratch_dir {
  fs::path path;
  explicit scratch_dir(const std::string& name) {
    path = fs::temp_directory_path() / ("loom-pb-" + name + "-" + std::to_string(::getpid()));
    fs::remove_all(path);
    fs::create_directories(path);
  }
  ~scratch_dir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
};

/// No child process of this one is left, running or zombie.
bool no_children_left() {
  int status = 0;
  return ::waitpid(-1, &status, WNOHANG) == -1 && errno == ECHILD;
}

/// The failure of running `e(args...)` with the run options `o`.
template <class E, class... Args>
loom::task_failed failure_with(loom::executor& ex, const loom::run_options& o, const E& e, Args&&... args) {
  try {
    ex.run(o, e, std::forward<Args>(args)...);
  } catch (const loom::task_failed& failed) {
    return failed;
  }
  FAIL("the run should have failed");
  throw std::logic_error("unreachable");
}

/// The failure of running `e(args...)` with the process backend.
template <class E, class... Args>
loom::task_failed failure_of(loom::executor& ex, const E& e, Args&&... args) {
  return failure_with(ex, process_backend(), e, std::forward<Args>(args)...);
}

/// The lines of the file at `path` (a task's record of its attempts' pids).
std::vector<std::string> lines_of(const fs::path& path) {
  std::ifstream in(path);
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

struct interval {
  long pid;
  std::int64_t start;
  std::int64_t end;
};

std::vector<interval> read_holds(const fs::path& dir) {
  std::vector<interval> out;
  for (const auto& entry : fs::directory_iterator(dir)) {
    std::ifstream in(entry.path());
    interval i{};
    if (in >> i.pid >> i.start >> i.end) out.push_back(i);
  }
  return out;
}

/// The most intervals that overlap at one instant.
std::size_t peak_overlap(const std::vector<interval>& intervals) {
  std::vector<std::pair<std::int64_t, int>> events;
  for (const auto& i : intervals) {
    events.emplace_back(i.start, +1);
    events.emplace_back(i.end, -1);
  }
  std::sort(events.begin(), events.end());  // an end sorts before a start at the same instant
  int live = 0;
  int peak = 0;
  for (const auto& [t, d] : events) peak = std::max(peak, live += d);
  return static_cast<std::size_t>(peak);
}

}  // namespace

/// Runs `e(args...)` on both backends; checks that the results are equal, returns the
/// process backend's.
template <class E, class... Args>
auto both(const E& e, Args... args) {
  loom::executor ex({.threads = 2});
  const auto in_threads = ex.run(thread_backend(), e, args...);
  const auto in_processes = ex.run(process_backend(), e, args...);
  CHECK(in_processes == in_threads);
  CHECK(no_children_left());
  return in_processes;
}

// Every process of the process backend starts this test program, which takes about 5 ms
// here (and 100 ms under AddressSanitizer): the workflows are small and the checks are
// spread over several test cases, which CTest runs in parallel.

TEST_CASE("the process backend gives the thread backend's results: count_characters", "[process]") {
  CHECK(both(start_wf, std::string("ab"), std::string("B")) == 1);
  CHECK(both(count_characters, std::string("ab"), std::string("ba")) == 2);
}

TEST_CASE("the process backend gives the thread backend's results: merge_sort", "[process]") {
  CHECK(both(merge_sort, numbers_t{31, 4, 15, 9, 26, 5, 35, 8}, std::int64_t{4}) ==
        numbers_t{4, 5, 8, 9, 15, 26, 31, 35});
  std::mt19937 rng(5);
  numbers_t numbers(6);
  for (auto& x : numbers) x = static_cast<std::int64_t>(rng() % 100) - 50;
  both(merge_sort, numbers, std::int64_t{4});
}

TEST_CASE("the process backend gives the thread backend's results: static workflows and values", "[process]") {
  CHECK(both(arithmetic, std::int64_t{6}, std::int64_t{4}, int_list{1, 2, 3, 4, 5}) ==
        std::tuple<std::int64_t, std::int64_t, std::int64_t, std::string>{26, 3, 12, "6\"quoted\"\n\u00e9"});
  CHECK(both(add, std::int64_t{2}, std::int64_t{3}) == 5);  // a task as the root: node n0
  const auto v = both(values, std::int64_t{3});
  CHECK(std::get<0>(v) == int_list{11, 4, -3});
  CHECK(std::get<1>(v) == 12);
  CHECK(std::get<2>(v) == 1.0 / 3.0);  // doubles survive the trip through JSON exactly
  CHECK(std::get<3>(v) == std::nullopt);
  CHECK(std::get<4>(v) == 2);
}

TEST_CASE("the process backend gives the thread backend's results: collections of promises", "[process]") {
  CHECK(both(squares, std::int64_t{3}) == int_list{0, 1, 4});
  CHECK(both(squares, std::int64_t{0}).empty());
  CHECK(both(labelled, std::int64_t{7}) == "7,static,49");
  const auto [by_key, weighted] = both(keyed, std::vector<std::string>{"a", "bb"});
  CHECK(by_key == std::map<std::string, std::int64_t>{{"a", 1}, {"bb", 4}});
  CHECK(weighted == 1 * 1 + 4 * 2);
}

TEST_CASE("the process backend gives the thread backend's results: nesting and recursion", "[process]") {
  CHECK(both(no_nodes, std::int64_t{21}) == 42);
  CHECK(both(outer_static, std::int64_t{2}) == 2);
  CHECK(both(countdown, std::int64_t{2}) == 2);
}

TEST_CASE("a map node's items run in batches: a few node processes, not one per item", "[process][map]") {
  loom::executor ex({.threads = 2});
  const auto pids = ex.run(process_backend(), pids_of_items, std::int64_t{40});
  REQUIRE(pids.size() == 40);
  const std::set<std::int64_t> distinct(pids.begin(), pids.end());
  CHECK(distinct.size() >= 2);  // the batches run side by side, one process each
  CHECK(distinct.size() <= 8);  // at most 4 batches per executor thread
  CHECK(distinct.count(::getpid()) == 0);
  CHECK(no_children_left());
  // Partial and whole maps fail as they do on threads, item by item.
  const auto kept = both(picky_map, std::int64_t{10});
  CHECK(kept[2] == std::nullopt);
  CHECK(kept[4] == 500);
  const auto failed = failure_of(ex, picky_all, std::int64_t{10});
  CHECK(contains(failed.what(), "map item 2 of 10 failed: no threes: 3"));
  CHECK(no_children_left());
}

TEST_CASE("a map's items time out one by one in their batch's process", "[process][map]") {
  loom::executor ex({.threads = 2});
  const auto started = std::chrono::steady_clock::now();
  const auto out = ex.run(process_backend(), timed_items, std::int64_t{6});
  const auto took = std::chrono::steady_clock::now() - started;
  CHECK(out == std::vector<std::optional<std::int64_t>>{1, std::nullopt, 3, 4, 5, 6});  // item 1 is the number 2
  CHECK(took < std::chrono::seconds(2));  // the slow attempt was left behind, not waited for
  CHECK(no_children_left());
}

TEST_CASE("the process backend enforces the run's limits with the thread backend's messages", "[process]") {
  loom::executor ex({.threads = 2});
  loom::run_options o = process_backend();
  o.limits.max_dynamic_nodes = 2;
  try {
    ex.run(o, squares, std::int64_t{3});  // the body's process refuses its 3 nodes
    FAIL("the run should have failed");
  } catch (const loom::task_failed& e) {
    CHECK(e.node_path() == "n0");
    CHECK(e.original_message() ==
          "dynamic workflow produced 3 nodes, over the limit of 2 nodes per futures file");
  }
  o.limits = {.max_depth = 2};
  try {
    ex.run(o, countdown, std::int64_t{3});  // the third nested frame is refused by this process
    FAIL("the run should have failed");
  } catch (const loom::task_failed& e) {
    CHECK(e.node_path() == "n0/dn0/dn0");
    CHECK(e.original_message() == "nesting depth limit exceeded: this node would run at depth 3 (limit 2)");
  }
  CHECK(no_children_left());
}

TEST_CASE("large values go to node processes by reference through the store", "[process]") {
  loom::executor ex({.threads = 2});
  scratch_dir dir("large");
  loom::object_store store(dir.path);
  loom::run_options o = process_backend();
  o.store = &store;
  o.execution_id = "big";
  o.inline_literal_bytes = 100;  // the dynamic body's literal list goes to the store
  const auto v = ex.run(o, values, std::int64_t{20000});
  CHECK(std::get<0>(v).size() == 20000);
  CHECK(std::get<0>(v).front() == 19999 * 7 - 3);
  CHECK(std::get<1>(v) == std::get<1>(ex.run(values, std::int64_t{20000})));
  const auto keys = store.list("big/n0");
  CHECK(std::count_if(keys.begin(), keys.end(), [](const std::string& k) { return contains(k, "literals"); }) == 1);
  CHECK(store.contains("big/n0/futures.json"));   // written by the dynamic node's process
  CHECK(store.contains("big/n0/inputs.json"));    // written by this one
  CHECK(store.contains("big/n0/dn0/outputs.json"));
  CHECK(!store.contains("big/n0/dn0/error.json"));
}

TEST_CASE("a task that throws in its process fails as it does in a thread", "[process]") {
  loom::executor ex({.threads = 2});
  const auto e = failure_of(ex, fail_with, std::string("task exploded"));
  CHECK(e.node_path() == "n0");
  CHECK(e.task_name() == "fail_with");
  CHECK(e.original_message() == "task exploded");
  const auto seed = failure_of(ex, start_wf, std::string("P1"), std::string("E"));
  CHECK(seed.node_path() == "n0/dn2");
  CHECK(seed.task_name() == "return_index");
  CHECK(seed.original_message() == "return_index: '1' is not a letter A-Z or a-z");
  CHECK(no_children_left());
}

TEST_CASE("a node process that crashes or is killed fails its node clearly", "[process]") {
  loom::executor ex({.threads = 2});
  const auto aborted = failure_of(ex, abort_in_workflow, std::int64_t{1});
  CHECK(aborted.node_path() == "n1");
  CHECK(aborted.task_name() == "crash_abort");
  CHECK(contains(aborted.what(), "node n1 (task 'crash_abort') failed: its process (pid "));
  CHECK(contains(aborted.what(), "was killed by signal SIGABRT"));
  CHECK(contains(aborted.what(), "crash_abort: about to abort"));  // its stderr comes along

  const auto segv = failure_of(ex, crash_segv, std::int64_t{1});
  CHECK(segv.node_path() == "n0");
  CHECK(segv.task_name() == "crash_segv");
  // Killed by SIGSEGV; under AddressSanitizer, which catches it, "exited with status 1"
  // and the end of the sanitizer's report ("SEGV on unknown address").
  CHECK(contains(segv.what(), "SEGV"));

  const auto killed = failure_of(ex, crash_kill, std::int64_t{1});
  CHECK(killed.node_path() == "n0");
  CHECK(contains(killed.what(), "node n0 (task 'crash_kill') failed: its process (pid "));
  CHECK(contains(killed.what(), "was killed by signal SIGKILL"));
  CHECK(contains(killed.what(), "; it printed nothing"));
  CHECK(no_children_left());
  CHECK(ex.run(process_backend(), add, std::int64_t{1}, std::int64_t{2}) == 3);  // still usable
}

TEST_CASE("a node process that exits without its outputs fails its node clearly", "[process]") {
  loom::executor ex({.threads = 2});
  const auto three = failure_of(ex, exit_three, std::int64_t{1});
  CHECK(contains(three.what(), "node n0 (task 'exit_three') failed: its process (pid "));
  CHECK(contains(three.what(), "exited with status 3"));
  CHECK(contains(three.what(), "exit_three: the disk is on fire, giving up"));

  const auto silent = failure_of(ex, exit_silently, std::int64_t{1});
  CHECK(contains(silent.what(), "node n0 (task 'exit_silently') failed: its process (pid "));
  CHECK(contains(silent.what(), "exited with status 0 but wrote no outputs"));

  const auto garbage = failure_of(ex, write_garbage, std::int64_t{1});
  CHECK(contains(garbage.what(), "node n0 (task 'write_garbage') failed: its process (pid "));
  CHECK(contains(garbage.what(), "exited with status 0 but wrote unreadable outputs: "));
  CHECK(contains(garbage.what(), "/n0/outputs.json is not valid JSON"));

  const auto wrong = failure_of(ex, write_wrong_type, std::int64_t{1});
  CHECK(contains(wrong.what(), "wrote unreadable outputs: "));
  CHECK(contains(wrong.what(), "/n0/outputs.json: o0: expected integer, got string"));
  CHECK(no_children_left());
}

TEST_CASE("a dynamic node whose process dies fails its node clearly", "[process]") {
  loom::executor ex({.threads = 2});
  const auto root = failure_of(ex, dies_in_body, std::int64_t{1});
  CHECK(root.node_path() == "n0");
  CHECK(root.task_name() == "dies_in_body");
  CHECK(contains(root.what(), "node n0 (task 'dies_in_body') failed: its process (pid "));
  CHECK(contains(root.what(), "was killed by signal SIGABRT"));
  CHECK(contains(root.what(), "dies_in_body: the body aborts"));
  const auto nested = failure_of(ex, body_dies_in_workflow, std::int64_t{1});
  CHECK(nested.node_path() == "n0");
  CHECK(nested.task_name() == "dies_in_body");
  CHECK(ex.run(process_backend(), body_dies_in_workflow, std::int64_t{0}) == 2);  // a body that lives
  CHECK(no_children_left());
}

TEST_CASE("a failure waits for the node processes in flight, and leaves none behind", "[process]") {
  loom::executor ex({.threads = 3});
  scratch_dir dir("inflight");
  const auto started = loom_process_test::monotonic_ns();
  const auto e = failure_of(ex, killed_among_slow, dir.path.string(), std::int64_t{300});
  const auto returned = loom_process_test::monotonic_ns();
  CHECK(e.node_path() == "n0/dn1");
  CHECK(e.task_name() == "crash_kill");
  CHECK(contains(e.what(), "SIGKILL"));
  // Both slow nodes had started with the killed one (3 threads) and were waited for.
  const auto holds = read_holds(dir.path);
  CHECK(holds.size() == 2);
  for (const auto& h : holds) {
    CHECK(h.start >= started);
    CHECK(h.end <= returned);
  }
  CHECK(no_children_left());
}

TEST_CASE("at most --threads node processes are alive at a time", "[process]") {
  for (const std::size_t threads : {std::size_t{1}, std::size_t{2}}) {
    loom::executor ex({.threads = threads});
    scratch_dir dir("bound" + std::to_string(threads));
    const auto ids = ex.run(process_backend(), holds, dir.path.string(), std::int64_t{4}, std::int64_t{200});
    CHECK(ids == int_list{0, 1, 2, 3});
    const auto intervals = read_holds(dir.path);
    REQUIRE(intervals.size() == 4);
    std::vector<long> pids;
    for (const auto& i : intervals) pids.push_back(i.pid);
    std::sort(pids.begin(), pids.end());
    CHECK(std::unique(pids.begin(), pids.end()) == pids.end());  // one process per node
    CHECK(std::find(pids.begin(), pids.end(), static_cast<long>(::getpid())) == pids.end());
    CHECK(peak_overlap(intervals) <= threads);
    if (threads == 2) CHECK(peak_overlap(intervals) == 2);  // and they do run in parallel
  }
}

TEST_CASE("without a store the process backend uses a private one and removes it", "[process]") {
  scratch_dir tmp("tmpdir");
  const char* old = std::getenv("TMPDIR");
  const std::string saved = old != nullptr ? old : "";
  ::setenv("TMPDIR", tmp.path.c_str(), 1);
  loom::executor ex({.threads = 2});
  CHECK(ex.run(process_backend(), squares, std::int64_t{3}) == int_list{0, 1, 4});
  CHECK_THROWS(ex.run(process_backend(), crash_kill, std::int64_t{1}));
  if (old != nullptr) ::setenv("TMPDIR", saved.c_str(), 1); else ::unsetenv("TMPDIR");
  CHECK(fs::is_empty(tmp.path));
}

TEST_CASE("a stored process run keeps the thread backend's keys, an execution id is used once", "[process]") {
  loom::executor ex({.threads = 2});
  scratch_dir dir("store");
  loom::object_store store(dir.path);
  loom::run_options o = process_backend();
  o.store = &store;
  o.execution_id = "same";
  CHECK(ex.run(o, start_wf, std::string("ab"), std::string("b")) == 1);
  CHECK(store.contains("same/n0/futures.json"));
  CHECK(loom::json::parse(*store.get("same/n0/dn0/outputs.json")) == loom::json{{"o0", 0}});
  CHECK(loom::json::parse(*store.get("same/outputs.json")) == loom::json{{"o0", 1}});
  // The same execution id again is refused: an execution is recorded once (resume it).
  CHECK_THROWS_WITH(ex.run(o, start_wf, std::string("1b"), std::string("b")),
                    Catch::Contains("execution same already exists"));
  // A failing node leaves its error, and no outputs.
  o.execution_id = "fails";
  CHECK_THROWS_WITH(ex.run(o, start_wf, std::string("1b"), std::string("b")), Catch::Contains("'1' is not a letter"));
  CHECK(!store.contains("fails/n0/dn0/outputs.json"));
  CHECK(store.contains("fails/n0/dn0/error.json"));
  loom::state_store states(loom::state_store::default_path(store.root()));
  CHECK(states.execution("same")->status == "succeeded");
  CHECK(states.execution("fails")->status == "failed");
}

TEST_CASE("a node process over its timeout is killed, a failing one is retried in a new process", "[process]") {
  loom::executor ex({.threads = 2});
  scratch_dir dir("policy");
  const auto start = std::chrono::steady_clock::now();
  try {
    ex.run(process_backend(), sleeper, dir.path.string(), std::int64_t{5000});
    FAIL("the run should have failed");
  } catch (const loom::task_failed& e) {
    CHECK(contains(e.what(), "node n0 (task 'sleeper') failed: its process (pid "));
    CHECK(contains(e.what(), "was killed (SIGKILL) when it ran over its timeout of 300 ms"));
  }
  CHECK(std::chrono::steady_clock::now() - start < std::chrono::milliseconds(3000));
  std::ifstream pid_file(dir.path / "sleeper-pid");
  pid_t pid = 0;
  pid_file >> pid;
  REQUIRE(pid > 0);
  CHECK(::kill(pid, 0) != 0);  // gone (and reaped: no zombie)
  CHECK(no_children_left());
  CHECK(ex.run(process_backend(), sleeper, dir.path.string(), std::int64_t{10}) == 10);

  CHECK(ex.run(process_backend(), flaky_process, dir.path.string(), std::int64_t{2}) == 3);
  const auto pids = lines_of(dir.path / "attempts");
  CHECK(pids.size() == 3);
  CHECK(std::set<std::string>(pids.begin(), pids.end()).size() == 3);  // one process per attempt
}

TEST_CASE("the node program can be another binary that knows the entities", "[process]") {
  loom::executor ex({.threads = 2});
  loom::run_options o = process_backend();
  o.node_program = LOOM_PROCESS_TASKS_BINARY;
  CHECK(ex.run(o, start_wf, std::string("Pear"), std::string("Earth")) == 3);
  o.node_program = "/bin/true";  // knows nothing, writes nothing
  try {
    ex.run(o, add, std::int64_t{1}, std::int64_t{2});
    FAIL("the run should have failed");
  } catch (const loom::task_failed& e) {
    CHECK(contains(e.what(), "node n0 (task 'add') failed: its process (pid "));
    CHECK(contains(e.what(), "exited with status 0 but wrote no outputs"));
    CHECK(contains(e.what(), "does the program's main() hand 'exec-node' to loom::main or loom::run_node_process?"));
  }
  o.node_program = "/nonexistent/program";
  CHECK_THROWS_WITH(ex.run(o, add, std::int64_t{1}, std::int64_t{2}),
                    Catch::Contains("cannot start node process /nonexistent/program"));
  CHECK(no_children_left());
}

// ---- The fork server (run_options::process.fork_server, on by default). ----

namespace {

/// "PPID COMMAND..." (parent_of_this_process) → PPID.
long parent_pid(const std::string& parent) { return std::stol(parent.substr(0, parent.find(' '))); }

bool process_exists(long pid) { return ::kill(static_cast<pid_t>(pid), 0) == 0 || errno != ESRCH; }

loom::run_options spawned_nodes() {
  loom::run_options o = process_backend();
  o.process.fork_server = false;
  return o;
}

/// Forked processes that run up to `k` nodes each (run_options::process.nodes_per_process).
loom::run_options nodes_in_turn(std::size_t k) {
  loom::run_options o = process_backend();
  o.process.nodes_per_process = k;
  return o;
}

}  // namespace

TEST_CASE("node processes are forked by one fork server per run, gone after the run", "[process][fork]") {
  loom::executor ex({.threads = 2});
  const auto parents = ex.run(process_backend(), parent_processes, std::int64_t{4});
  REQUIRE(parents.size() == 4);
  const long server = parent_pid(parents[0]);
  for (const auto& p : parents) {
    CHECK(parent_pid(p) == server);  // one server for the run's nodes
    CHECK(contains(p, " exec-node --serve 3 "));
  }
  CHECK(server != static_cast<long>(::getpid()));
  CHECK(!process_exists(server));  // it ended with the run, and was reaped
  CHECK(no_children_left());
  // The next run has a server of its own.
  const auto again = ex.run(process_backend(), parent_process, std::int64_t{0});
  CHECK(parent_pid(again) != server);
  CHECK(!process_exists(parent_pid(again)));
  // The server is started with LD_BIND_NOW=1 (bound once, not in each child); its
  // children get the run's environment, without it.
  if (std::getenv("LD_BIND_NOW") == nullptr) {
    CHECK(ex.run(process_backend(), env_of, std::string("LD_BIND_NOW")) == "<unset>");
  }
  ::setenv("LOOM_PB_SEEN", "by the node", 1);
  CHECK(ex.run(process_backend(), env_of, std::string("LOOM_PB_SEEN")) == "by the node");
  ::unsetenv("LOOM_PB_SEEN");
  // Off: each node process is spawned by the run's own process, as before the server.
  const auto spawned = ex.run(spawned_nodes(), parent_processes, std::int64_t{2});
  for (const auto& p : spawned) CHECK(parent_pid(p) == static_cast<long>(::getpid()));
  CHECK(no_children_left());
}

TEST_CASE("a node process that crashes leaves the fork server serving", "[process][fork]") {
  loom::executor ex({.threads = 2});
  scratch_dir dir("crash-beside");
  const auto parents = ex.run(process_backend(), crash_beside, dir.path.string());
  REQUIRE(parents.size() == 2);
  // The killed attempt's retry was forked by the same server as the node beside it.
  CHECK(parent_pid(parents[0]) == parent_pid(parents[1]));
  CHECK(contains(parents[1], " exec-node --serve 3 "));
  const auto attempts = lines_of(dir.path / "attempts");
  CHECK(std::set<std::string>(attempts.begin(), attempts.end()).size() == 2);  // two attempts, two processes
  CHECK(no_children_left());
}

TEST_CASE("a node that kills the fork server fails clearly, the next node gets a new server", "[process][fork]") {
  loom::executor ex({.threads = 2});
  const auto self = static_cast<std::int64_t>(::getpid());
  {
    scratch_dir dir("kill-server");
    const auto e = failure_of(ex, kill_fork_server, dir.path.string(), self);
    CHECK(e.node_path() == "n0");
    CHECK(contains(e.what(), "node n0 (task 'p_kill_fork_server') failed: its process (pid "));
    CHECK(contains(e.what(), ") was lost with the fork server that started it (pid "));
    CHECK(contains(e.what(), "), which was killed by signal SIGKILL"));
    std::ifstream marker(dir.path / "killed-server");
    long server = 0;
    marker >> server;
    CHECK(server > 0);
    CHECK(!process_exists(server));
    CHECK(no_children_left());
  }
  {
    scratch_dir dir("kill-server-retried");
    const auto parent = ex.run(process_backend(), kill_fork_server_retried, dir.path.string(), self);
    std::ifstream marker(dir.path / "killed-server");
    long killed = 0;
    marker >> killed;
    CHECK(killed > 0);
    CHECK(parent_pid(parent) != killed);  // the retry's: a new server
    CHECK(contains(parent, " exec-node --serve 3 "));
    CHECK(no_children_left());
  }
  // Spawned nodes have no server to kill: the task leaves its parent (this process) alone.
  scratch_dir dir("kill-server-off");
  CHECK(parent_pid(ex.run(spawned_nodes(), kill_fork_server, dir.path.string(), self)) == self);
}

TEST_CASE("with the fork server off, every node shape and failure behaves as with it", "[process][fork]") {
  loom::executor ex({.threads = 2});
  loom::run_options o = spawned_nodes();
  CHECK(ex.run(o, start_wf, std::string("Pear"), std::string("Earth")) == 3);
  CHECK(ex.run(o, merge_sort, numbers_t{31, 4, 15, 9, 26, 5, 35, 8}, std::int64_t{4}) ==
        numbers_t{4, 5, 8, 9, 15, 26, 31, 35});
  CHECK(ex.run(o, squares, std::int64_t{3}) == int_list{0, 1, 4});
  CHECK_THROWS_WITH(ex.run(o, abort_in_workflow, std::int64_t{1}), Catch::Contains("was killed by signal SIGABRT"));
  scratch_dir dir("off-timeout");
  CHECK_THROWS_WITH(ex.run(o, sleeper, dir.path.string(), std::int64_t{5000}),
                    Catch::Contains("was killed (SIGKILL) when it ran over its timeout of 300 ms"));
  CHECK(no_children_left());
}

TEST_CASE("a node over its timeout is killed by the fork server, and reaped", "[process][fork]") {
  loom::executor ex({.threads = 2});
  scratch_dir dir("server-timeout");
  const auto start = std::chrono::steady_clock::now();
  CHECK_THROWS_WITH(ex.run(process_backend(), sleeper, dir.path.string(), std::int64_t{5000}),
                    Catch::Contains("was killed (SIGKILL) when it ran over its timeout of 300 ms"));
  CHECK(std::chrono::steady_clock::now() - start < std::chrono::milliseconds(3000));
  // Its parent was the server (not this process), and both are gone.
  pid_t pid = 0;
  std::ifstream(dir.path / "sleeper-pid") >> pid;
  REQUIRE(pid > 0);
  CHECK(!process_exists(pid));
  CHECK(no_children_left());
}

// ---- Nodes in turn (run_options::process.nodes_per_process > 1). ----

TEST_CASE("with nodes in turn, a forked process runs up to K nodes, with the same results", "[process][fork]") {
  loom::executor ex({.threads = 2});
  const loom::run_options o = nodes_in_turn(4);
  CHECK(ex.run(o, start_wf, std::string("Pear"), std::string("Earth")) == 3);
  CHECK(ex.run(o, merge_sort, numbers_t{31, 4, 15, 9, 26, 5, 35, 8}, std::int64_t{4}) ==
        numbers_t{4, 5, 8, 9, 15, 26, 31, 35});
  CHECK(ex.run(o, squares, std::int64_t{3}) == int_list{0, 1, 4});
  CHECK(no_children_left());

  // One thread: the nodes run one after another: the dynamic body and 3 holds in the
  // first process, the 4 other holds in the next.
  loom::executor one({.threads = 1});
  scratch_dir dir("in-turn");
  CHECK(one.run(o, holds, dir.path.string(), std::int64_t{7}, std::int64_t{1}) == int_list{0, 1, 2, 3, 4, 5, 6});
  std::map<long, int> nodes_of;
  for (const auto& i : read_holds(dir.path)) ++nodes_of[i.pid];
  REQUIRE(nodes_of.size() == 2);
  std::vector<int> counts;
  for (const auto& [pid, nodes] : nodes_of) {
    counts.push_back(nodes);
    CHECK(pid != static_cast<long>(::getpid()));
    CHECK(!process_exists(pid));  // gone after the run, and reaped
  }
  std::sort(counts.begin(), counts.end());
  CHECK(counts == std::vector<int>{3, 4});
  // Their parent is the fork server.
  for (const auto& p : ex.run(o, parent_processes, std::int64_t{3})) CHECK(contains(p, " exec-node --serve 3 "));
  CHECK(no_children_left());
}

TEST_CASE("with nodes in turn, a node that ends its process fails as in a process of its own", "[process][fork]") {
  loom::executor ex({.threads = 2});
  const loom::run_options o = nodes_in_turn(8);
  CHECK(failure_with(ex, o, fail_with, std::string("task exploded")).original_message() == "task exploded");
  CHECK(ex.run(o, add, std::int64_t{1}, std::int64_t{2}) == 3);
  CHECK_THROWS_WITH(ex.run(o, abort_in_workflow, std::int64_t{1}),
                    Catch::Contains("was killed by signal SIGABRT") && Catch::Contains("crash_abort: about to abort"));
  CHECK_THROWS_WITH(ex.run(o, exit_three, std::int64_t{1}),
                    Catch::Contains("exited with status 3") &&
                        Catch::Contains("exit_three: the disk is on fire, giving up"));
  CHECK_THROWS_WITH(ex.run(o, exit_silently, std::int64_t{1}), Catch::Contains("exited with status 0 but wrote no outputs"));
  scratch_dir dir("in-turn-timeout");
  const auto start = std::chrono::steady_clock::now();
  CHECK_THROWS_WITH(ex.run(o, sleeper, dir.path.string(), std::int64_t{5000}),
                    Catch::Contains("was killed (SIGKILL) when it ran over its timeout of 300 ms"));
  CHECK(std::chrono::steady_clock::now() - start < std::chrono::milliseconds(3000));
  pid_t pid = 0;
  std::ifstream(dir.path / "sleeper-pid") >> pid;
  REQUIRE(pid > 0);
  CHECK(!process_exists(pid));
  CHECK(no_children_left());
}

TEST_CASE("with nodes in turn, one run reuses a process after a thrown error, not after its end", "[process][fork]") {
  loom::executor one({.threads = 1});
  const loom::run_options o = nodes_in_turn(8);
  // A task that throws leaves its process serving: its retries run in it.
  scratch_dir flaky("in-turn-flaky");
  CHECK(one.run(o, flaky_process, flaky.path.string(), std::int64_t{2}) == 3);
  const auto pids = lines_of(flaky.path / "attempts");
  REQUIRE(pids.size() == 3);
  CHECK(std::set<std::string>(pids.begin(), pids.end()).size() == 1);
  // A node killed in the process it shared with the body and a node before it: its
  // retry gets a new process, of the same server.
  scratch_dir killed("in-turn-killed");
  const auto parents = one.run(o, crash_beside, killed.path.string());
  REQUIRE(parents.size() == 2);
  CHECK(parent_pid(parents[0]) == parent_pid(parents[1]));
  const auto killed_attempts = lines_of(killed.path / "attempts");
  CHECK(std::set<std::string>(killed_attempts.begin(), killed_attempts.end()).size() == 2);
  // The node after a chatty one in the same process: its failure has its own output only.
  const auto e = failure_with(one, o, chatter_then_exit, std::string("chatter from the node before"));
  CHECK(e.task_name() == "exit_three");
  CHECK(contains(e.what(), "exited with status 3"));
  CHECK(contains(e.what(), "exit_three: the disk is on fire, giving up"));
  CHECK(!contains(e.what(), "chatter from the node before"));
  CHECK(no_children_left());
}

int main(int argc, char** argv) {
  loom_process_test::register_all();
  if (loom::is_node_process(argc, argv)) return loom::run_node_process(argc, argv);
  return Catch::Session().run(argc, argv);
}
