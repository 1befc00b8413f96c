// Resume after kill -9: a real workflow binary (loom_resume_tasks) runs a 10,000-node
// dynamic workflow with --store; the test kills it at a random moment, then resumes the
// execution (sometimes killing the resume too, and resuming again). Every resumed
// execution must finish with the right result, printed as `run` prints it, and no node
// the state store had recorded as succeeded may run again (each task execution is
// logged, so the test counts them); nor may any node that finished before a kill but
// the few running at that moment.
#include <loom/object_store.hpp>
#include <loom/literal.hpp>
#include <loom/state_store.hpp>

#include <catch2/catch.hpp>

#include "sanitizers.hpp"
#include "test_files.hpp"
#include "test_packs.hpp"

#include <chrono>
#include <cstdio>
#include <csignal>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

extern char** environ;

namespace {

namespace fs = std::filesystem;
using loom_test::scratch_dir;
using loom_test::slurp;
using loom_test::spit;
using loom_test::find_pack_record;
using clock_type = std::chrono::steady_clock;

/// Starts the workflow binary with `args`, its stdout and stderr to files, and
/// LOOM_TEST_LOG set.
pid_t start(const std::vector<std::string>& args, const fs::path& log, const fs::path& out, const fs::path& err,
            int task_us = 40) {
  std::vector<std::string> all = {LOOM_RESUME_TASKS_BINARY};
  all.insert(all.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (auto& a : all) argv.push_back(a.data());
  argv.push_back(nullptr);
  std::vector<std::string> env_strings;
  for (char** e = environ; *e != nullptr; ++e) {
    if (std::string_view(*e).rfind("LOOM_TEST_LOG=", 0) != 0) env_strings.emplace_back(*e);
  }
  env_strings.push_back("LOOM_TEST_LOG=" + log.string());
  env_strings.push_back("LOOM_TEST_TASK_US=" + std::to_string(task_us));  // 10,000 links of 40 us: 0.2 s on 2 threads
  std::vector<char*> envp;
  for (auto& e : env_strings) envp.push_back(e.data());
  envp.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 1, out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawn_file_actions_addopen(&actions, 2, err.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
  pid_t pid = 0;
  const int rc = posix_spawn(&pid, argv[0], &actions, nullptr, argv.data(), envp.data());
  posix_spawn_file_actions_destroy(&actions);
  REQUIRE(rc == 0);
  return pid;
}

int wait_for(pid_t pid) {
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  return status;
}

/// Runs to the end, or kills it with SIGKILL after `kill_after` (if it is still
/// running). Returns whether it was killed.
bool run_or_kill(pid_t pid, std::optional<std::chrono::microseconds> kill_after, int& status) {
  if (kill_after) {
    const auto deadline = clock_type::now() + *kill_after;
    while (clock_type::now() < deadline) {
      const pid_t done = ::waitpid(pid, &status, WNOHANG);
      if (done == pid) return false;
      std::this_thread::sleep_for(std::chrono::microseconds(200));
    }
    ::kill(pid, SIGKILL);
  }
  status = wait_for(pid);
  return WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL;
}

/// How many times each "<task> <id>" was executed, from the log.
std::map<std::string, int> executions(const fs::path& log) {
  std::map<std::string, int> counts;
  std::istringstream in(slurp(log));
  std::string line;
  while (std::getline(in, line)) {
    if (!line.empty()) ++counts[line];
  }
  return counts;
}

/// The task node paths the state store records as succeeded, as log lines ("link 17").
std::vector<std::string> recorded_done(const fs::path& store, const std::string& id, std::int64_t links) {
  std::vector<std::string> done;
  loom::state_store states(loom::state_store::default_path(store));
  for (const auto& n : states.nodes(id)) {
    if (n.phase != loom::node_phase::succeeded || n.path.rfind("n0/dn", 0) != 0) continue;
    const std::int64_t k = std::stoll(n.path.substr(5));
    done.push_back(k < links ? "link " + std::to_string(k) : "total 0");
  }
  return done;
}


/// Kills a 10,000-node run at random moments and resumes it. `compact`: the sub-DAG is
/// recorded compactly (the default for 1,000 nodes or more: one row, outputs kept in
/// batches); otherwise a row per node and each node's outputs written as it ends
/// (--compact-subdag-nodes over the sub-DAG's size).
void kill_and_resume_chains(bool compact) {
  constexpr std::int64_t count = 100;
  constexpr std::int64_t length = 100;
  constexpr std::int64_t links = count * length;
  const std::string expected = "{\"o0\":" + std::to_string(links * (links - 1) / 2) + "}\n";
  scratch_dir dir("resume-test");
  const fs::path store = dir.path / "store";
  std::vector<std::string> workflow = {"run", "chains", "--count", std::to_string(count), "--length",
                                       std::to_string(length), "--store", store.string(), "--threads", "2"};
  if (!compact) workflow.insert(workflow.end(), {"--compact-subdag-nodes", "1000000"});

  // An uninterrupted run: the result, and how long a run takes here.
  const auto t0 = clock_type::now();
  {
    auto args = workflow;
    args.insert(args.end(), {"--execution-id", "whole"});
    int status = 0;
    run_or_kill(start(args, dir.path / "whole.log", dir.path / "whole.out", dir.path / "whole.err"), std::nullopt, status);
    INFO(slurp(dir.path / "whole.err"));
    REQUIRE(WIFEXITED(status));
    REQUIRE(WEXITSTATUS(status) == 0);
    REQUIRE(slurp(dir.path / "whole.out") == expected);
  }
  const auto whole = std::chrono::duration_cast<std::chrono::microseconds>(clock_type::now() - t0);
  const auto counts_whole = executions(dir.path / "whole.log");
  CHECK(counts_whole.size() == static_cast<std::size_t>(links + 2));  // every link, total, the body

  const auto seed = std::random_device{}();
  std::mt19937 random(seed);
  std::uniform_int_distribution<std::int64_t> moment(0, whole.count() * 11 / 10);
  INFO("seed " << seed << ", an uninterrupted run takes " << whole.count() << " us");
  // (Fewer under a sanitizer, whose runs are 5 to 10 times slower: the same kills, in
  // the time of the other suites.)
  constexpr int trials = loom_test::sanitized ? 8 : 20;
  int killed_runs = 0;
  int partial = 0;       // killed with some, not all, of the nodes recorded as done
  int with_futures = 0;  // the dynamic node's futures file was written before the kill
  for (int t = 0; t < trials; ++t) {
    const std::string id = "trial-" + std::to_string(t);
    const fs::path log = dir.path / (id + ".log");
    const fs::path err = dir.path / (id + ".err");
    auto args = workflow;
    args.insert(args.end(), {"--execution-id", id});
    int status = 0;
    const auto kill_after = std::chrono::microseconds(moment(random));
    const bool killed = run_or_kill(start(args, log, dir.path / (id + ".out"), err), kill_after, status);
    killed_runs += killed ? 1 : 0;
    INFO("trial " << t << ": killed after " << kill_after.count() << " us: " << killed << "\n" << slurp(err));
    if (!loom::object_store(store).contains(id + "/inputs.json")) {
      // Killed before the execution was recorded: there is nothing to resume, and
      // nothing may have run.
      CHECK(executions(log).empty());
      continue;
    }
    // What the store says was done when the executor died must not run again.
    const auto done = recorded_done(store, id, links);
    const bool had_futures = loom::object_store(store).contains(id + "/n0/futures.json");
    const auto before = executions(log);
    for (const auto& line : done) REQUIRE(before.count(line) == 1);
    if (killed && !done.empty() && done.size() < static_cast<std::size_t>(links + 1)) ++partial;
    if (had_futures) ++with_futures;

    // Odd trials: the first resume is killed too, then resumed again.
    int kills = killed ? 1 : 0;
    int resumes = 0;
    std::string out;
    while (true) {
      const fs::path out_file = dir.path / (id + ".resume" + std::to_string(resumes) + ".out");
      std::vector<std::string> resume = {"resume", id, "--store", store.string(), "--threads", "2"};
      if (!compact) resume.insert(resume.end(), {"--compact-subdag-nodes", "1000000"});
      const pid_t pid = start(resume, log, out_file, err);
      const bool kill_resume = t % 2 == 1 && resumes == 0;
      const bool resume_killed =
          run_or_kill(pid, kill_resume ? std::optional(std::chrono::microseconds(moment(random) / 2)) : std::nullopt, status);
      ++resumes;
      if (resume_killed) ++kills;
      if (resume_killed) continue;
      REQUIRE(WIFEXITED(status));
      REQUIRE(WEXITSTATUS(status) == 0);
      out = slurp(out_file);
      break;
    }
    CHECK(out == expected);
    const auto after = executions(log);
    for (const auto& line : done) CHECK(after.at(line) == 1);  // not run again
    // A node whose outputs were written is not run again, whether its row made it or
    // not: only the nodes running at a kill (2 threads: at most 2) run twice. A compact
    // sub-DAG keeps the outputs of its short nodes in batches: those that ended since the
    // last batch (50 ms) run again too.
    int reruns = 0;
    for (const auto& [line, n] : after) reruns += n - 1;
    INFO(kills << " kills, " << reruns << " nodes run again");
    if (!compact) CHECK(reruns <= 2 * kills);
    CHECK(reruns <= static_cast<int>(links));
    CHECK(after.size() == static_cast<std::size_t>(links + 2));  // everything ran at least once
    if (had_futures) CHECK(after.at("chains " + std::to_string(links)) == 1);  // the body was not run again
    loom::state_store states(loom::state_store::default_path(store));
    const auto e = states.execution(id);
    REQUIRE(e.has_value());
    CHECK(e->status == "succeeded");
    CHECK(e->runs >= 2);  // each resume that got as far as taking the execution over counts
    CHECK(e->runs <= 1 + resumes);
  }
  std::printf("resume: %d trials (seed %u, a whole run %lld us): %d killed, %d with part of the nodes done, %d with the "
              "futures file written\n",
              trials, seed, static_cast<long long>(whole.count()), killed_runs, partial, with_futures);
  // Most trials must have interrupted something, or the test tested nothing.
  CHECK(killed_runs >= trials / 2);
  CHECK(partial >= trials / 4);
}

}  // namespace

TEST_CASE("resume: kill -9 at random moments of a 10,000-node run, every resume finishes right, nothing done runs again",
          "[resume]") {
  kill_and_resume_chains(false);
}

TEST_CASE("resume: kill -9 at random moments of a 10,000-node run recorded compactly, every resume finishes right, "
          "nothing recorded as done runs again",
          "[resume]") {
  kill_and_resume_chains(true);
}

TEST_CASE("resume: kill -9 during a map, the resume runs only the items whose outputs were not kept", "[resume][map]") {
  scratch_dir dir("resume-map");
  const fs::path store = dir.path / "store";
  constexpr std::int64_t n = 400;  // 2 ms each on 2 threads: 0.4 s
  // How long an uninterrupted run takes here (a sanitizer's build starts slowly): the
  // kills land from a third of it on.
  const auto t0 = clock_type::now();
  {
    int status = 0;
    run_or_kill(start({"run", "mapped_items", "--n", std::to_string(n), "--store", store.string(), "--execution-id",
                       "whole", "--threads", "2", "--quiet"},
                      dir.path / "whole.log", dir.path / "whole.out", dir.path / "whole.err", 2000),
                std::nullopt, status);
    REQUIRE(WIFEXITED(status));
    REQUIRE(WEXITSTATUS(status) == 0);
  }
  const auto whole = std::chrono::duration_cast<std::chrono::microseconds>(clock_type::now() - t0);
  bool partial = false;
  for (int trial = 0; trial < 8 && !partial; ++trial) {
    const std::string id = "m" + std::to_string(trial);
    const fs::path log = dir.path / (id + ".log");
    const fs::path err = dir.path / (id + ".err");
    int status = 0;
    const bool killed = run_or_kill(start({"run", "mapped_items", "--n", std::to_string(n), "--store", store.string(),
                                           "--execution-id", id, "--threads", "2", "--map-checkpoint-ms", "20", "--quiet"},
                                          log, dir.path / (id + ".out"), err, 2000),
                                    whole * (3 + trial) / 10, status);
    INFO("trial " << trial << " (a whole run " << whole.count() << " us): " << slurp(err));
    if (!killed) continue;
    // Killed before the execution was recorded: there is nothing to resume.
    if (!loom::object_store(store).contains(id + "/inputs.json")) continue;
    // The items whose outputs the killed run kept: <id>/n1/items/<k>.json.
    std::set<std::int64_t> kept;
    {
      loom::object_store objects(store);
      for (const auto& key : objects.list(id + "/n1/items")) {
        const auto record = loom::json::parse(*objects.get(key));
        for (const auto& k : record["items"]) kept.insert(k.get<std::int64_t>());
      }
    }
    const auto before = executions(log);
    status = wait_for(start({"resume", id, "--store", store.string(), "--threads", "2", "--quiet"}, log,
                            dir.path / (id + ".resumed"), err, 2000));
    REQUIRE(WIFEXITED(status));
    REQUIRE(WEXITSTATUS(status) == 0);
    CHECK(slurp(dir.path / (id + ".resumed")).find(std::to_string(3 * n * (n - 1) / 2)) != std::string::npos);
    const auto after = executions(log);
    std::size_t reran = 0;
    for (std::int64_t k = 0; k < n; ++k) {
      const std::string line = "item " + std::to_string(k);
      const int count = after.count(line) != 0 ? after.at(line) : 0;
      INFO(line << " ran " << count << " times");
      if (kept.count(k) != 0) {
        CHECK(count == 1);  // kept: not run again
      } else {
        CHECK(count >= 1);
        CHECK(count <= 2);
        reran += before.count(line) != 0 ? 1 : 0;
      }
    }
    partial = !kept.empty() && kept.size() < static_cast<std::size_t>(n);
    INFO("kept " << kept.size() << " items; " << reran << " ran before the kill, were not kept and ran again");
    CHECK(reran < static_cast<std::size_t>(n) / 4);  // what finished in the last interval (and recorder batch)
  }
  CHECK(partial);  // at least one kill landed in the middle of the map
}

TEST_CASE("resume: 100 kill -9 of a mixed workflow (dynamic, map, wf.when, a retry), each resumed to the right answer",
          "[resume]") {
  // mixed(4, 50): chains of 200 links, a map of 200 items, a branch's map of 50 (S is
  // even) or 4 pieces, and a task that fails once and succeeds on its retry.
  constexpr std::int64_t count = 4;
  constexpr std::int64_t length = 50;
  constexpr std::int64_t links = count * length;
  constexpr std::int64_t sum = links * (links - 1) / 2;
  std::int64_t squares = 0;
  for (std::int64_t k = 0; k < (sum % 2 == 0 ? length : count); ++k) squares += k * k;
  const std::string expected = "{\"o0\":" + std::to_string(sum + 3 * sum + squares + 8) + "}\n";
  scratch_dir dir("resume-mixed");
  const fs::path store = dir.path / "store";
  const std::vector<std::string> workflow = {"run", "mixed", "--count", std::to_string(count), "--length",
                                             std::to_string(length), "--store", store.string(), "--threads", "2",
                                             "--map-checkpoint-ms", "20", "--quiet"};
  constexpr int task_us = 1000;

  const auto t0 = clock_type::now();
  {
    auto args = workflow;
    args.insert(args.end(), {"--execution-id", "whole"});
    int status = 0;
    run_or_kill(start(args, dir.path / "whole.log", dir.path / "whole.out", dir.path / "whole.err", task_us),
                std::nullopt, status);
    INFO(slurp(dir.path / "whole.err"));
    REQUIRE(WIFEXITED(status));
    REQUIRE(WEXITSTATUS(status) == 0);
    REQUIRE(slurp(dir.path / "whole.out") == expected);
    const auto runs = executions(dir.path / "whole.log");
    CHECK(runs.at("flaky-try 7") == 1);  // the retry happened
    CHECK(runs.at("flaky-ok 7") == 1);
    CHECK(runs.at("piece " + std::to_string(sum % 2 == 0 ? length - 1 : count - 1)) == 1);  // the branch ran
  }
  // How long a run takes, kept up to date by the runs that end before their kill: the
  // machine's load changes (a sanitizer build, other tests beside), and kill moments
  // drawn from a stale, longer time would miss most runs.
  auto whole = std::chrono::duration_cast<std::chrono::microseconds>(clock_type::now() - t0).count();

  const auto seed = std::random_device{}();
  std::mt19937 random(seed);
  INFO("seed " << seed << ", the first uninterrupted run took " << whole << " us");
  constexpr int wanted_kills = 100;
  int kills = 0;
  int attempts = 0;
  int recorded = 0;  // kills after which the store had the execution (a resume had work to do)
  while (kills < wanted_kills && attempts < 4 * wanted_kills) {
    const std::string id = "k" + std::to_string(attempts++);
    const fs::path log = dir.path / (id + ".log");
    const fs::path err = dir.path / (id + ".err");
    auto args = workflow;
    args.insert(args.end(), {"--execution-id", id});
    int status = 0;
    const auto kill_after = std::chrono::microseconds(std::uniform_int_distribution<std::int64_t>(0, whole)(random));
    const auto started = clock_type::now();
    if (!run_or_kill(start(args, log, dir.path / (id + ".out"), err, task_us), kill_after, status)) {
      INFO(slurp(err));
      CHECK((WIFEXITED(status) && WEXITSTATUS(status) == 0));  // finished before the kill: fine, not counted
      const auto took = std::chrono::duration_cast<std::chrono::microseconds>(clock_type::now() - started).count();
      whole = (whole + took) / 2;
      continue;
    }
    ++kills;
    INFO("kill " << kills << " (" << id << ") after " << kill_after.count() << " us\n" << slurp(err));
    if (!loom::object_store(store).contains(id + "/inputs.json")) {
      CHECK(executions(log).empty());  // nothing recorded: nothing may have run
      continue;
    }
    ++recorded;
    // What the store says was finished at the kill: chain links (rows) and map items
    // (kept records). None of them may run again.
    const auto done = recorded_done(store, id, links);
    std::set<std::string> kept_items;
    {
      loom::object_store objects(store);
      for (const auto& key : objects.list(id)) {
        std::smatch m;
        static const std::regex top_map_items(R"(([^/]+)/n\d+/items/.*)");
        if (!std::regex_match(key, m, top_map_items)) continue;  // (the branch's map is deeper)
        const auto record = loom::json::parse(*objects.get(key));
        for (const auto& k : record["items"]) kept_items.insert("item " + std::to_string(k.get<std::int64_t>()));
      }
    }
    const fs::path out = dir.path / (id + ".resumed");
    status = wait_for(start({"resume", id, "--store", store.string(), "--threads", "2", "--quiet"}, log, out, err, task_us));
    REQUIRE(WIFEXITED(status));
    REQUIRE(WEXITSTATUS(status) == 0);
    CHECK(slurp(out) == expected);
    const auto after = executions(log);
    for (const auto& line : done) CHECK(after.at(line) == 1);
    for (const auto& line : kept_items) CHECK(after.at(line) == 1);
    // Links and the final task run at most twice (the 2 running at the kill); the retried
    // task fails once in all; items not kept may run again (at-least-once since the last
    // checkpoint), but only once more.
    int link_reruns = 0;
    for (const auto& [line, n] : after) {
      if (line.rfind("link ", 0) == 0) link_reruns += n - 1;
      CHECK(n <= 2);
    }
    CHECK(link_reruns <= 2);
    CHECK(after.at("flaky-try 7") == 1);
    CHECK(after.count("flaky-ok 7") == 1);
    loom::state_store states(loom::state_store::default_path(store));
    const auto e = states.execution(id);
    REQUIRE(e.has_value());
    CHECK(e->status == "succeeded");
  }
  std::printf("resume: %d kills of mixed(4, 50) in %d runs (seed %u, a whole run %lld us at the end), %d with the "
              "execution recorded\n",
              kills, attempts, seed, static_cast<long long>(whole), recorded);
  CHECK(kills == wanted_kills);
  CHECK(recorded >= wanted_kills / 4);  // a good part of the kills landed in the run, not in its start-up
}

TEST_CASE("resume: a damaged output or futures file is reported with its key and not used, the node runs again",
          "[resume]") {
  scratch_dir dir("resume-test");
  const fs::path store = dir.path / "store";
  const fs::path log = dir.path / "damaged.log";
  const fs::path err = dir.path / "damaged.err";
  const std::string expected = "{\"o0\":" + std::to_string(30 * 29 / 2) + "}\n";
  int status = 0;
  run_or_kill(start({"run", "chains", "--count", "3", "--length", "10", "--store", store.string(), "--execution-id",
                     "damaged", "--threads", "2"},
                    log, dir.path / "run.out", err),
              std::nullopt, status);
  REQUIRE(WIFEXITED(status));
  REQUIRE(WEXITSTATUS(status) == 0);
  // Damage the futures file (a byte of its JSON) and the packed outputs of link 7.
  const fs::path futures = store / "damaged/n0/futures.json";
  std::string bytes = slurp(futures);
  bytes[bytes.size() - 10] ^= 0x20;
  std::ofstream(futures, std::ios::binary | std::ios::trunc) << bytes;
  fs::path pack;
  for (const auto& e : fs::directory_iterator(store / "damaged/packs")) pack = e.path();
  std::string packed = slurp(pack);
  packed[find_pack_record(packed, "n0/dn7/outputs.json").bytes + 2] ^= 0x01;
  std::ofstream(pack, std::ios::binary | std::ios::trunc) << packed;
  {
    // n0 itself is done (its outputs are packed): damage them too, or resume would
    // reuse them and never look inside.
    std::string again = slurp(pack);
    again[find_pack_record(again, "n0/outputs.json").bytes + 2] ^= 0x01;
    std::ofstream(pack, std::ios::binary | std::ios::trunc) << again;
  }
  const fs::path resumed_err = dir.path / "resume.err";
  run_or_kill(start({"resume", "damaged", "--store", store.string()}, log, dir.path / "resume.out", resumed_err),
              std::nullopt, status);
  REQUIRE(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 0);
  CHECK(slurp(dir.path / "resume.out") == expected);
  const std::string warnings = slurp(resumed_err);
  INFO(warnings);
  CHECK(warnings.find("object store: damaged/n0/outputs.json is damaged (checksum mismatch") != std::string::npos);
  CHECK(warnings.find("object store: damaged/n0/futures.json is damaged (checksum mismatch); the body of node n0 "
                      "runs again") != std::string::npos);
  CHECK(warnings.find("object store: damaged/n0/dn7/outputs.json is damaged (checksum mismatch") != std::string::npos);
  const auto counts = executions(log);
  CHECK(counts.at("chains 30") == 2);  // the body ran again: its futures file was damaged
  CHECK(counts.at("link 7") == 2);     // its outputs were damaged
  CHECK(counts.at("link 8") == 1);     // whole: reused
  CHECK(counts.at("total 0") == 1);
}

TEST_CASE("resume: two runs of a workflow binary recording into one store at the same time", "[resume]") {
  scratch_dir dir("resume-test");
  const fs::path store = dir.path / "store";
  std::vector<pid_t> pids;
  for (int r = 0; r < 3; ++r) {
    const std::string id = "parallel-" + std::to_string(r);
    pids.push_back(start({"run", "chains", "--count", "10", "--length", "100", "--store", store.string(),
                          "--execution-id", id, "--threads", "2"},
                         dir.path / (id + ".log"), dir.path / (id + ".out"), dir.path / (id + ".err")));
  }
  for (int r = 0; r < 3; ++r) {
    const std::string id = "parallel-" + std::to_string(r);
    const int status = wait_for(pids[static_cast<std::size_t>(r)]);
    INFO(slurp(dir.path / (id + ".err")));
    REQUIRE(WIFEXITED(status));
    CHECK(WEXITSTATUS(status) == 0);
    CHECK(slurp(dir.path / (id + ".out")) == "{\"o0\":" + std::to_string(1000 * 999 / 2) + "}\n");
  }
  loom::state_store states(loom::state_store::default_path(store));
  states.check();
  for (int r = 0; r < 3; ++r) {
    const auto e = states.execution("parallel-" + std::to_string(r));
    REQUIRE(e.has_value());
    CHECK(e->status == "succeeded");
    CHECK(e->nodes_done == 1002);
    CHECK(states.nodes(e->id).size() == 1002);
  }
}

TEST_CASE("resume: with the process backend, kill -9 the executor (its node processes die with it or finish alone)",
          "[resume]") {
  constexpr std::int64_t count = 4;
  constexpr std::int64_t length = 25;
  constexpr std::int64_t links = count * length;
  const std::string expected = "{\"o0\":" + std::to_string(links * (links - 1) / 2) + "}\n";
  scratch_dir dir("resume-test");
  const fs::path store = dir.path / "store";
  const auto seed = std::random_device{}();
  std::mt19937 random(seed);
  // A whole run here takes about 100 node processes of a few ms each on 2 threads.
  std::uniform_int_distribution<int> moment_ms(20, 400);
  INFO("seed " << seed);
  for (int t = 0; t < 4; ++t) {
    const std::string id = "process-" + std::to_string(t);
    const fs::path log = dir.path / (id + ".log");
    const fs::path err = dir.path / (id + ".err");
    int status = 0;
    const pid_t pid = start({"run", "chains", "--count", std::to_string(count), "--length", std::to_string(length),
                             "--store", store.string(), "--execution-id", id, "--threads", "2", "--backend", "process"},
                            log, dir.path / (id + ".out"), err);
    run_or_kill(pid, std::chrono::milliseconds(moment_ms(random)), status);
    // A node process started just before the kill may still finish and log; let it.
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    if (!loom::object_store(store).contains(id + "/inputs.json")) continue;
    const auto done = recorded_done(store, id, links);
    const auto before = executions(log);
    for (const auto& line : done) REQUIRE(before.count(line) == 1);
    const pid_t resumed = start({"resume", id, "--store", store.string(), "--threads", "2", "--backend", "process"},
                                log, dir.path / (id + ".resume.out"), err);
    run_or_kill(resumed, std::nullopt, status);
    INFO("trial " << t << "\n" << slurp(err));
    REQUIRE(WIFEXITED(status));
    REQUIRE(WEXITSTATUS(status) == 0);
    CHECK(slurp(dir.path / (id + ".resume.out")) == expected);
    const auto after = executions(log);
    for (const auto& line : done) CHECK(after.at(line) == 1);
    CHECK(after.size() == static_cast<std::size_t>(links + 2));
  }
}
