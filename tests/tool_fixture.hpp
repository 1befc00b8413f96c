// tests/tool_fixture.hpp — for the tests of the `loom` command and of `loom ui`: running
// a program to its end (its exit code, stdout and stderr), and a store holding the
// executions a test asks for, each recorded by a real workflow binary. The including
// target defines LOOM_TOOL_BINARY, LOOM_RESUME_TASKS_BINARY, LOOM_PROCESS_TASKS_BINARY
// and, with the examples, LOOM_COUNT_CHARACTERS_BINARY and LOOM_FUTURES_FORMS_BINARY.
#pragma once

#include <catch2/catch.hpp>

#include "test_files.hpp"

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

struct result {
  int code = -1;
  std::string out;
  std::string err;
};

/// Environment changes for a child: a value sets the variable, nothing removes it.
using env_changes = std::map<std::string, std::optional<std::string>>;

inline std::vector<std::string> child_environment(const env_changes& changes) {
  std::vector<std::string> env;
  for (char** e = environ; *e != nullptr; ++e) {
    const std::string entry(*e);
    const auto name = entry.substr(0, entry.find('='));
    if (changes.count(name) == 0) env.push_back(entry);
  }
  for (const auto& [name, value] : changes) {
    if (value) env.push_back(name + "=" + *value);
  }
  return env;
}

inline pid_t spawn(const std::vector<std::string>& command, const env_changes& changes, const fs::path& out,
            const fs::path& err) {
  std::vector<std::string> args = command;
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  auto env = child_environment(changes);
  std::vector<char*> envp;
  for (auto& e : env) envp.push_back(e.data());
  envp.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&actions, 1, out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawn_file_actions_addopen(&actions, 2, err.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  pid_t pid = 0;
  const int rc = posix_spawn(&pid, argv[0], &actions, nullptr, argv.data(), envp.data());
  posix_spawn_file_actions_destroy(&actions);
  REQUIRE(rc == 0);
  return pid;
}

inline int wait_for(pid_t pid) {
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

/// Waits for a process, at most `limit`: past it, kills it and fails the test (a hang
/// is a defect as much as a crash).
inline int wait_for(pid_t pid, std::chrono::seconds limit, const fs::path& err) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  int status = 0;
  while (::waitpid(pid, &status, WNOHANG) == 0) {
    if (std::chrono::steady_clock::now() > deadline) {
      ::kill(pid, SIGKILL);
      wait_for(pid);
      FAIL("still running after " << limit.count() << " s (a hang)\n" << slurp(err));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

/// Runs a program to the end (or for at most `limit`, see above); its exit code,
/// stdout and stderr. LOOM_STORE is unset unless `changes` sets it.
inline result run_program(const std::vector<std::string>& command, env_changes changes = {},
                          std::optional<std::chrono::seconds> limit = std::nullopt) {
  static int counter = 0;
  const fs::path base = fs::temp_directory_path() / ("loom-tool-test-out-" + std::to_string(::getpid()) + "-" +
                                                     std::to_string(counter++));
  const fs::path out = base.string() + ".out";
  const fs::path err = base.string() + ".err";
  changes.emplace("LOOM_STORE", std::nullopt);
  result r;
  const pid_t pid = spawn(command, changes, out, err);
  r.code = limit ? wait_for(pid, *limit, err) : wait_for(pid);
  r.out = slurp(out);
  r.err = slurp(err);
  fs::remove(out);
  fs::remove(err);
  return r;
}

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
