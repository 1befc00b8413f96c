// Storage failures: a real workflow binary (loom_resume_tasks) runs with its store's
// writes, syncs or renames failing (ENOSPC or EIO, from the LD_PRELOAD library
// tests/faults/storage_faults.cpp) from some point of the run on, as a disk that fills
// up or breaks would. The run must end (no hang) with exit code 1 and a message naming
// the failure, never a crash; the store must stay consistent: its database passes
// SQLite's integrity check, `loom show` reads the execution, and once the disk is back
// `resume` completes the run with the right result, without running again any node the
// store had recorded as done.
#include <loom/object_store.hpp>
#include <loom/state_store.hpp>

#include <catch2/catch.hpp>

#include "test_files.hpp"
#include "tool_fixture.hpp"

#include <sqlite3.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <map>
#include <random>
#include <sstream>
#include <string>
#include <utility>
#include <vector>


namespace {

namespace fs = std::filesystem;
using loom_test::scratch_dir;
using loom_test::slurp;
using namespace loom_tool_test;

/// A run with environment changes, bounded: a hang fails the test.
result run_bounded(const std::vector<std::string>& command, env_changes changes) {
  return run_program(command, std::move(changes), std::chrono::seconds(120));
}

/// How many times each "<task> <id>" was executed, from a LOOM_TEST_LOG file.
std::map<std::string, int> executions(const fs::path& log) {
  std::map<std::string, int> counts;
  std::istringstream in(fs::exists(log) ? slurp(log) : std::string());
  for (std::string line; std::getline(in, line);) {
    if (!line.empty()) ++counts[line];
  }
  return counts;
}

/// SQLite's integrity check of a database: "ok", or what is wrong.
std::string integrity(const fs::path& db) {
  sqlite3* handle = nullptr;
  std::string answer;
  if (sqlite3_open_v2(db.c_str(), &handle, SQLITE_OPEN_READONLY, nullptr) != SQLITE_OK) {
    answer = "cannot open";
  } else {
    sqlite3_exec(
        handle, "PRAGMA integrity_check",
        [](void* to, int, char** values, char**) {
          static_cast<std::string*>(to)->append(values[0] != nullptr ? values[0] : "?");
          return 0;
        },
        &answer, nullptr);
  }
  sqlite3_close(handle);
  return answer;
}

struct fault {
  std::string op;        // write, fsync, rename
  std::string error;     // ENOSPC, EIO
  std::string message;   // strerror's
};

}  // namespace

TEST_CASE("storage faults: ENOSPC and EIO on write, fsync and rename fail a run cleanly, resume completes it",
          "[faults]") {
  scratch_dir dir("fault-test");
  const fs::path store = dir.path / "store";
  struct workflow_run {
    std::string name;
    std::vector<std::string> arguments;
    std::string expected;
    std::size_t log_lines;  // distinct "<task> <id>" lines of a whole run
  };
  const std::vector<workflow_run> workflows = {
      // chains(4, 25): a dynamic sub-DAG of 100 links and a total: the sum of 0..99.
      {"chains", {"run", "chains", "--count", "4", "--length", "25", "--threads", "2"}, "{\"o0\":4950}\n", 102},
      // mixed(2, 10) on the process backend (node processes write the store): 20 links
      // (S = 190), a map of 20 items (570), a branch's map of 10 pieces (285), a task
      // retried once (8).
      {"mixed",
       {"run", "mixed", "--count", "2", "--length", "10", "--threads", "2", "--backend", "process"},
       "{\"o0\":1053}\n",
       55}};
  const std::vector<fault> faults = {{"write", "ENOSPC", "No space left on device"},
                                     {"fsync", "EIO", "Input/output error"},
                                     {"rename", "ENOSPC", "No space left on device"},
                                     {"write", "EIO", "Input/output error"}};
  const auto seed = std::random_device{}();
  std::mt19937 random(seed);
  INFO("seed " << seed);
  int failed_runs = 0;
  int recorded_failures = 0;  // failed runs whose execution was on record (resume had work to do)
  for (const auto& w : workflows) {
  std::vector<std::string> workflow = {LOOM_RESUME_TASKS_BINARY};
  workflow.insert(workflow.end(), w.arguments.begin(), w.arguments.end());
  workflow.insert(workflow.end(), {"--store", store.string()});
  const std::string& expected = w.expected;
  for (const auto& f : faults) {
    // How many such calls a whole run makes (the library counts them), to spread the
    // failures over the run: from the first call to the last.
    const std::string kind = w.name + "-" + f.op + "-" + f.error;
    const fs::path calibration = dir.path / ("calls-" + kind);
    {
      auto command = workflow;
      command.insert(command.end(), {"--execution-id", "calibrate-" + kind});
      const auto r = run_bounded(command, {{"LD_PRELOAD", LOOM_STORAGE_FAULTS_LIBRARY},
                                           {"LOOM_FAULT_PATH", store.string()},
                                           {"LOOM_FAULT_OP", f.op},
                                           {"LOOM_FAULT_AFTER", "1000000000"},
                                           {"LOOM_FAULT_REPORT", calibration.string()},
                                           {"LOOM_TEST_LOG", (dir.path / ("calibrate-" + kind + ".log")).string()}});
      INFO(r.err);
      REQUIRE(r.code == 0);
      REQUIRE(r.out == expected);
    }
    const std::string report = fs::exists(calibration) ? slurp(calibration) : std::string();
    INFO("the library's report: '" << report << "'");
    // Each process says at its exit how many calls all had made; the driver ends last.
    const auto last = report.rfind("calls ");
    REQUIRE(last != std::string::npos);
    const long calls = std::stol(report.substr(last + 6));
    INFO(f.op << ": " << calls << " calls in a whole run");
    REQUIRE(calls > 0);
    constexpr int points = 6;
    for (int p = 0; p < points; ++p) {
      const long after = std::uniform_int_distribution<long>(calls * p / points, calls * (p + 1) / points - 1)(random);
      const std::string id = "f-" + kind + "-" + std::to_string(p);
      const fs::path log = dir.path / (id + ".log");
      const fs::path made = dir.path / (id + ".faults");
      auto command = workflow;
      command.insert(command.end(), {"--execution-id", id});
      const auto r = run_bounded(command, {{"LD_PRELOAD", LOOM_STORAGE_FAULTS_LIBRARY},
                                           {"LOOM_FAULT_PATH", store.string()},
                                           {"LOOM_FAULT_OP", f.op},
                                           {"LOOM_FAULT_ERRNO", f.error},
                                           {"LOOM_FAULT_AFTER", std::to_string(after)},
                                           {"LOOM_FAULT_REPORT", made.string()},
                                           {"LOOM_TEST_LOG", log.string()}});
      INFO(id << ": " << f.op << " fails with " << f.error << " after " << after << " of " << calls
              << " calls\n--- stderr:\n" << r.err);
      // It ended on its own, with a message: exit code 1, never a signal (a crash, an
      // abort from an exception nobody caught).
      CHECK(r.code < 128);
      CHECK(r.err.find("terminate called") == std::string::npos);
      if (r.code == 0) {
        CHECK(r.out == expected);  // the failure was survivable (a retried write): the right answer
      } else {
        ++failed_runs;
        CHECK(r.code == 1);
        CHECK(r.out.empty());
        // What failed (the system's words, or SQLite's for the database: it does not
        // always keep the system's error) and where (a file of the store).
        const bool says_what = r.err.find(f.message) != std::string::npos ||
                               r.err.find("disk I/O error") != std::string::npos ||
                               r.err.find("database or disk is full") != std::string::npos;
        CHECK(says_what);
        CHECK(r.err.find(store.string()) != std::string::npos);
      }
      // The store is consistent: its database is whole, and the execution reads.
      CHECK(integrity(store / "loom.db") == "ok");
      // `loom show` reads it: the execution's row if the failure let it be written, else
      // a clear "no execution" (exit code 1).
      const bool recorded = loom::object_store(store).contains(id + "/inputs.json");
      const bool has_row = loom::state_store(loom::state_store::default_path(store)).execution(id).has_value();
      {
        const auto shown = run_bounded({LOOM_TOOL_BINARY, "show", id, "--store", store.string()}, {});
        INFO("loom show:\n" << shown.out << shown.err);
        if (has_row) {
          CHECK(shown.code == 0);
          CHECK(shown.out.find(id) != std::string::npos);
        } else {
          CHECK(shown.code == 1);
          CHECK(shown.err.find("no execution '" + id + "'") != std::string::npos);
        }
      }
      if (r.code == 0) continue;
      if (!recorded) {
        // Nothing on record: nothing can be resumed, and nothing ran.
        CHECK(executions(log).empty());
        continue;
      }
      ++recorded_failures;
      // What the store recorded as done before the failure must not run again.
      std::vector<std::string> done;
      {
        loom::state_store states(loom::state_store::default_path(store));
        for (const auto& n : states.nodes(id)) {
          if (n.phase != loom::node_phase::succeeded || n.path.rfind("n0/dn", 0) != 0) continue;
          const auto k = std::stoll(n.path.substr(5));
          const auto links = w.name == "chains" ? 100 : 20;
          done.push_back(k < links ? "link " + std::to_string(k) : "total 0");
        }
      }
      // The disk is back: resume completes the run.
      const auto resumed = run_bounded({LOOM_RESUME_TASKS_BINARY, "resume", id, "--store", store.string(), "--threads", "2",
                                        "--backend", w.name == "mixed" ? "process" : "thread"},
                                       {{"LOOM_TEST_LOG", log.string()}});
      INFO("resume:\n" << resumed.err);
      CHECK(resumed.code == 0);
      CHECK(resumed.out == expected);
      const auto after_resume = executions(log);
      for (const auto& line : done) CHECK(after_resume.at(line) == 1);
      CHECK(after_resume.size() == w.log_lines);  // everything ran
      CHECK(integrity(store / "loom.db") == "ok");
      loom::state_store states(loom::state_store::default_path(store));
      const auto e = states.execution(id);
      REQUIRE(e.has_value());
      CHECK(e->status == "succeeded");
    }
  }
  }
  std::printf("storage faults (seed %u): %d runs failed, %d of them with the execution on record and resumed\n", seed,
              failed_runs, recorded_failures);
  // Most injected failures must have failed their run, or the test tested little.
  CHECK(failed_runs >= 24);
  CHECK(recorded_failures >= 16);
}
