// tests/tool_fixture.hpp — for the tests of the `loom` command and of `loom ui`: running
// a program to its end (its exit code, stdout and stderr), and a store holding the
// executions a test asks for, each recorded by a real workflow binary. The including
// target defines LOOM_TOOL_BINARY, LOOM_RESUME_TASKS_BINARY, LOOM_PROCESS_TASKS_BINARY
// and, with the examples, LOOM_COUNT_CHARACTERS_BINARY and LOOM_FUTURES_FORMS_BINARY.
#pragma once

#include <catch2/catch.hpp>

#include "test_files.hpp"
#include "test_programs.hpp"

#include <cerrno>
#include <chrono>
#include <csignal>
#include <filesystem>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

extern char** environ;  // NOLINT: POSIX

namespace loom_tool_test {

namespace fs = std::filesystem;
using loom_test::scratch_dir;
using loom_test::slurp;

using loom_test::child_environment;
using loom_test::env_changes;
using loom_test::result;
using loom_test::run_program;
using loom_test::spawn;
using loom_test::wait_for;

/// `loom ARGS...`
inline result loom_tool(std::vector<std::string> args, env_changes changes = {}) {
  args.insert(args.begin(), LOOM_TOOL_BINARY);
  return run_program(args, std::move(changes));
}

/// A store with the executions a test asks for, each recorded by a real workflow binary.
struct store_fixture {
  scratch_dir dir{"tool-test"};
  fs::path root = dir.path / "store";
  std::set<std::string> made;

  std::string store() const { return root.string(); }

  /// Records execution `id` (one of the kinds below) unless it is there already.
  void need(const std::string& id) {
    if (!made.insert(id).second) return;
    std::vector<std::string> command;
    int expected = 0;
    const std::vector<std::string> store_args = {"--store", store(), "--execution-id", id};
    if (id == "chains") {  // 2 chains of 3 links, then total: n0, n0/dn0 .. n0/dn6
      command = {LOOM_RESUME_TASKS_BINARY, "run", "chains", "--count", "2", "--length", "3", "--threads", "2"};
    } else if (id == "nested") {  // static -> dynamic -> static -> dynamic
      command = {LOOM_PROCESS_TASKS_BINARY, "run", "p_outer_static", "--i0", "3", "--threads", "2"};
    } else if (id == "branched") {  // a wf.when down its else-branch: the then-branch is skipped
      command = {LOOM_PROCESS_TASKS_BINARY, "run", "p_branched", "--i0", "-3", "--threads", "2"};
    } else if (id == "picky") {  // a partial map of 10 items: items 2 and 6 fail
      command = {LOOM_PROCESS_TASKS_BINARY, "run", "p_picky_map", "--i0", "10", "--threads", "2"};
    } else if (id == "fails") {  // n0 (a dynamic body that aborts) fails; n1 never starts
      command = {LOOM_PROCESS_TASKS_BINARY, "run", "body_dies_in_workflow", "--i0", "1", "--backend", "process",
                 "--threads", "2"};
      expected = 1;
    } else if (id == "boom") {  // a task that throws
      command = {LOOM_PROCESS_TASKS_BINARY, "run", "fail_with", "--i0", "boom", "--threads", "2"};
      expected = 1;
#ifdef LOOM_COUNT_CHARACTERS_BINARY
    } else if (id == "pear") {  // the seed's example: n0 = count_characters, 19 nodes in its sub-DAG
      command = {LOOM_COUNT_CHARACTERS_BINARY, "run", "start_wf", "--threads", "2"};
#endif
#ifdef LOOM_FUTURES_FORMS_BINARY
    } else if (id == "forms") {  // every binding form, a subworkflow, stored literals
      const auto r = run_program({LOOM_FUTURES_FORMS_BINARY, store(), id, "4"});
      INFO(r.err);
      REQUIRE(r.code == 0);
      return;
#endif
    } else {
      FAIL("no such fixture execution: " << id);
    }
    command.insert(command.end(), store_args.begin(), store_args.end());
    const auto r = run_program(command);
    INFO(id << ": " << r.err);
    REQUIRE(r.code == expected);
  }
};


}  // namespace loom_tool_test
