// The progress line: shown on a terminal (the workflow binary's standard error on a
// pseudo-terminal), not when standard error is a pipe or a file, not with --quiet.
#include <catch2/catch.hpp>

#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <string>
#include <vector>

#include <fcntl.h>
#include <poll.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

extern char** environ;

namespace {

struct result {
  int status = -1;
  std::string terminal;  // what it wrote to its standard error (a terminal)
};

/// Runs loom_resume_tasks with `args`, standard error on a new pseudo-terminal and
/// standard output to /dev/null (or with `terminal = false`, standard error to a pipe).
result run_on_terminal(const std::vector<std::string>& args, bool terminal = true) {
  int reader = -1;
  int writer_fd = -1;
  std::string writer_path;
  if (terminal) {
    reader = ::posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
    REQUIRE(reader >= 0);
    REQUIRE(::grantpt(reader) == 0);
    REQUIRE(::unlockpt(reader) == 0);
    writer_path = ::ptsname(reader);
  } else {
    int fds[2];
    REQUIRE(::pipe2(fds, O_CLOEXEC) == 0);
    reader = fds[0];
    writer_fd = fds[1];
  }
  std::vector<std::string> all = {LOOM_RESUME_TASKS_BINARY};
  all.insert(all.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (auto& a : all) argv.push_back(a.data());
  argv.push_back(nullptr);
  std::string task_time = "LOOM_TEST_TASK_US=500";
  std::vector<char*> envp = {task_time.data(), nullptr};
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0);
  if (terminal) {
    posix_spawn_file_actions_addopen(&actions, 2, writer_path.c_str(), O_RDWR | O_NOCTTY, 0);
  } else {
    posix_spawn_file_actions_adddup2(&actions, writer_fd, 2);
  }
  pid_t pid = 0;
  const int rc = posix_spawn(&pid, argv[0], &actions, nullptr, argv.data(), envp.data());
  posix_spawn_file_actions_destroy(&actions);
  if (writer_fd >= 0) ::close(writer_fd);
  REQUIRE(rc == 0);
  result r;
  char buffer[4096];
  while (true) {
    pollfd p{reader, POLLIN, 0};
    const int ready = ::poll(&p, 1, 100);
    if (ready > 0) {
      const auto n = ::read(reader, buffer, sizeof buffer);
      if (n > 0) {
        r.terminal.append(buffer, static_cast<std::size_t>(n));
        continue;
      }
      if (!terminal) break;  // the pipe's end
    }
    int status = 0;
    if (::waitpid(pid, &status, WNOHANG) == pid) {
      r.status = status;
      // What is still buffered in the terminal.
      while (true) {
        pollfd q{reader, POLLIN, 0};
        if (::poll(&q, 1, 50) <= 0) break;
        const auto n = ::read(reader, buffer, sizeof buffer);
        if (n <= 0) break;
        r.terminal.append(buffer, static_cast<std::size_t>(n));
      }
      break;
    }
  }
  if (r.status == -1) ::waitpid(pid, &r.status, 0);
  ::close(reader);
  return r;
}

}  // namespace

TEST_CASE("progress: a run on a terminal shows a live line of nodes done, running, failed and the time") {
  // 20 x 100 links of at least 0.5 ms each on 2 threads: 0.5 s or more, a few redraws.
  const auto r = run_on_terminal({"run", "chains", "--count", "20", "--length", "100", "--threads", "2"});
  REQUIRE(WIFEXITED(r.status));
  CHECK(WEXITSTATUS(r.status) == 0);
  INFO(r.terminal);
  CHECK(r.terminal.find("\x1b[2Kloom: ") != std::string::npos);
  // The last state: every node done (the dynamic node, its 2,001 nodes).
  CHECK(r.terminal.find("loom: 2002/2002 nodes done, 0 running, 0 failed, ") != std::string::npos);
  // The first state, then states while the run went on, then the last.
  std::size_t draws = 0;
  for (auto at = r.terminal.find("loom: "); at != std::string::npos; at = r.terminal.find("loom: ", at + 1)) ++draws;
  CHECK(draws >= 3);
}

TEST_CASE("progress: none with --quiet, and none when standard error is not a terminal") {
  const auto quiet = run_on_terminal({"run", "chains", "--count", "2", "--length", "5", "--quiet"});
  REQUIRE(WIFEXITED(quiet.status));
  CHECK(WEXITSTATUS(quiet.status) == 0);
  CHECK(quiet.terminal.find("loom: ") == std::string::npos);
  const auto piped = run_on_terminal({"run", "chains", "--count", "2", "--length", "5"}, /*terminal=*/false);
  REQUIRE(WIFEXITED(piped.status));
  CHECK(WEXITSTATUS(piped.status) == 0);
  CHECK(piped.terminal.empty());
}

TEST_CASE("progress: a bad command line shows its error and no progress line") {
  const auto bad = run_on_terminal({"run", "chains", "--count", "2", "--length", "5", "--no-such-option", "1"});
  REQUIRE(WIFEXITED(bad.status));
  CHECK(WEXITSTATUS(bad.status) == 2);
  CHECK(bad.terminal.find("loom: 0/") == std::string::npos);
  CHECK(bad.terminal.find("has no input --no-such-option") != std::string::npos);
}
