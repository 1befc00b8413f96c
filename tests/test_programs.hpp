// tests/test_programs.hpp — running a program from a test: spawned with its stdout and
// stderr in files (stdin from /dev/null) and an environment changed as asked, waited for
// (with a limit: a hang fails the test), or run to its end for its exit code and output.
#pragma once

#include <catch2/catch.hpp>

#include "test_files.hpp"

#include <cerrno>
#include <chrono>
#include <csignal>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

extern char** environ;  // NOLINT: POSIX

namespace loom_test {

namespace fs = std::filesystem;

struct result {
  int code = -1;
  std::string out;
  std::string err;
  double seconds = 0;  // from the start to the end
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
  const auto start = std::chrono::steady_clock::now();
  const pid_t pid = spawn(command, changes, out, err);
  r.code = limit ? wait_for(pid, *limit, err) : wait_for(pid);
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  r.out = slurp(out);
  r.err = slurp(err);
  fs::remove(out);
  fs::remove(err);
  return r;
}

}  // namespace loom_test
