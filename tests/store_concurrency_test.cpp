// Many processes on one fresh store at once: 8 runs of a workflow binary recording into
// it, all started at the same moment, and `loom executions` reading it over and over
// while they do, from before the database exists; plus, forked from the test, two
// processes opening the store as a run does at that same moment, and two readers that
// open it the moment its file appears, while it is still being set up. Every run must succeed,
// every reader must exit 0 (never "database is locked"), and the database must end whole
// with every execution succeeded. Each round starts from a new store, so that the
// creation of the database (its WAL mode, its schema) is raced every time.
#include <loom/state_store.hpp>

#include <catch2/catch.hpp>

#include "test_files.hpp"

#include <cerrno>
#include <csignal>
#include <chrono>
#include <cstddef>
#include <exception>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

extern char** environ;

namespace {

namespace fs = std::filesystem;
using loom_test::scratch_dir;
using loom_test::slurp;

/// Starts `args` (args[0] is the program) with stdout and stderr to files. When `held`,
/// the child stops itself before it execs the program, and the caller waits until it
/// has: release() then lets every held child go at once, so that they all reach the
/// store together.
pid_t spawn_to(std::vector<std::string> args, const fs::path& out, const fs::path& err, bool held = false) {
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  const pid_t pid = ::fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {  // only async-signal-safe calls from here
    const int in_fd = ::open("/dev/null", O_RDONLY);
    const int out_fd = ::open(out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    const int err_fd = ::open(err.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (in_fd < 0 || out_fd < 0 || err_fd < 0 || ::dup2(in_fd, 0) < 0 || ::dup2(out_fd, 1) < 0 ||
        ::dup2(err_fd, 2) < 0) {
      ::_exit(126);
    }
    if (held) ::raise(SIGSTOP);
    ::execve(argv[0], argv.data(), environ);
    ::_exit(127);
  }
  if (held) {
    int status = 0;
    while (::waitpid(pid, &status, WUNTRACED) < 0 && errno == EINTR) {
    }
    REQUIRE(WIFSTOPPED(status));
  }
  return pid;
}

void release(const std::vector<pid_t>& held) {
  for (const pid_t pid : held) ::kill(pid, SIGCONT);
}

/// Forks a process that opens the store's database once `gate` is closed, as a run does
/// (`create`) or as `loom executions` does, and reads the executions; it exits 1 with
/// the error in `err` if that fails. Without the start-up of a program, the processes a
/// gate lets go reach the database together: two runs creating it at the same moment
/// lose the race about one time in five, where eight programs started at once lose it
/// about one time in fifty.
/// `gates` are the write ends of every gate, closed in the child (a child holding one
/// would keep it from closing).
pid_t fork_opener(const fs::path& db, const fs::path& err, int gate, const std::vector<int>& gates, bool create) {
  const pid_t pid = ::fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    for (const int fd : gates) ::close(fd);
    char c = 0;
    while (::read(gate, &c, 1) < 0 && errno == EINTR) {
    }
    int code = 0;
    try {
      loom::state_store states(db, create);
      (void)states.executions();
    } catch (const std::exception& e) {
      std::ofstream(err) << e.what() << "\n";
      code = 1;
    }
    ::_exit(code);
  }
  return pid;
}

/// The exit code of a finished process (128 + signal when killed); -1 while it runs.
int poll_exit(pid_t pid, bool block) {
  int status = 0;
  pid_t done = 0;
  while ((done = ::waitpid(pid, &status, block ? 0 : WNOHANG)) < 0 && errno == EINTR) {
  }
  if (done != pid) return -1;
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

/// The processes a round started and has not reaped yet: killed (and reaped) if the
/// round ends early, so that no held or gated child is left behind.
struct children {
  std::vector<pid_t> live;
  pid_t track(pid_t pid) {
    live.push_back(pid);
    return pid;
  }
  int poll(pid_t pid, bool block) {
    const int code = poll_exit(pid, block);
    if (code >= 0) std::erase(live, pid);
    return code;
  }
  children() = default;
  children(const children&) = delete;
  children& operator=(const children&) = delete;
  ~children() {
    for (const pid_t pid : live) ::kill(pid, SIGKILL);
    for (const pid_t pid : live) poll_exit(pid, true);
  }
};

}  // namespace

TEST_CASE("state store: 8 runs record into one fresh store while loom executions reads it, round after round",
          "[store]") {
  // A round races the creation of one database (fork_opener says how often it is lost):
  // as many rounds as fit in 30 s, at least 20, at most 100.
  constexpr int min_rounds = 20;
  constexpr int max_rounds = 100;
  const auto budget_end = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  constexpr int writers = 8;
  constexpr int readers = 3;
  constexpr int openers = 2;        // forked, creating the database at the same moment as the runs start
  constexpr int quick_readers = 2;  // forked, opening it the moment its file appears
  const std::string expected = "{\"o0\":" + std::to_string(40 * 39 / 2) + "}\n";  // 2 chains of 20 links
  int round = 0;
  for (; round < max_rounds && (round < min_rounds || std::chrono::steady_clock::now() < budget_end); ++round) {
    scratch_dir dir("store-concurrency");
    const fs::path store = dir.path / "store";
    fs::create_directories(store);  // a store with no database yet: readers see "no executions"
    children kids;
    std::vector<pid_t> running;
    for (int w = 0; w < writers; ++w) {
      const std::string id = "w" + std::to_string(w);
      const std::vector<std::string> run = {LOOM_RESUME_TASKS_BINARY, "run", "chains", "--count", "2", "--length", "20",
                                            "--store", store.string(), "--execution-id", id, "--threads", "1"};
      running.push_back(kids.track(spawn_to(run, dir.path / (id + ".out"), dir.path / (id + ".err"), /*held=*/true)));
    }
    // Readers: `loom executions` again and again, in `readers` slots, until the runs end.
    int reads = 0;
    auto start_reader = [&](bool held) {
      const std::string n = "r" + std::to_string(reads++);
      return kids.track(spawn_to({LOOM_TOOL_BINARY, "executions", "--store", store.string()},
                                 dir.path / (n + ".out"), dir.path / (n + ".err"), held));
    };
    auto check_reader = [&](int n, int code) {
      const std::string out = slurp(dir.path / ("r" + std::to_string(n) + ".out"));
      const std::string err = slurp(dir.path / ("r" + std::to_string(n) + ".err"));
      INFO("round " << round << ", reader " << n << " exited " << code << "\nstdout: " << out << "\nstderr: " << err);
      CHECK(code == 0);
      CHECK(err.find("locked") == std::string::npos);
      // Either nothing recorded yet (said on stderr), or the table of executions.
      if (out.empty()) CHECK(err.find("no executions recorded") != std::string::npos);
      else CHECK(out.rfind("ID ", 0) == 0);
    };
    std::vector<std::pair<int, pid_t>> reading;
    for (int r = 0; r < readers; ++r) {
      const int n = reads;
      reading.emplace_back(n, start_reader(true));
      running.push_back(reading.back().second);
    }
    const fs::path db = loom::state_store::default_path(store);
    int start_gate[2] = {-1, -1};
    int file_gate[2] = {-1, -1};
    REQUIRE(::pipe2(start_gate, O_CLOEXEC) == 0);
    REQUIRE(::pipe2(file_gate, O_CLOEXEC) == 0);
    std::vector<pid_t> quick;  // the openers, then the quick readers: "q<k>.err"
    for (int q = 0; q < openers + quick_readers; ++q) {
      const bool opener = q < openers;
      quick.push_back(kids.track(fork_opener(db, dir.path / ("q" + std::to_string(q) + ".err"),
                                             opener ? start_gate[0] : file_gate[0], {start_gate[1], file_gate[1]},
                                             opener)));
    }
    for (int* gate : {start_gate, file_gate}) ::close(gate[0]);
    release(running);         // the writers and the first readers all at once,
    ::close(start_gate[1]);   // and the openers
    running.resize(writers);
    {
      std::error_code ec;
      const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(30);
      while (!fs::exists(db, ec) && std::chrono::steady_clock::now() < give_up) {
        std::this_thread::sleep_for(std::chrono::microseconds(20));
      }
      ::close(file_gate[1]);  // the quick readers go
    }
    std::vector<int> codes(writers, -1);
    int left = writers;
    while (left > 0) {
      bool any = false;
      for (int w = 0; w < writers; ++w) {
        if (codes[static_cast<std::size_t>(w)] >= 0) continue;
        codes[static_cast<std::size_t>(w)] = kids.poll(running[static_cast<std::size_t>(w)], false);
        if (codes[static_cast<std::size_t>(w)] >= 0) {
          --left;
          any = true;
        }
      }
      for (auto& [n, pid] : reading) {
        const int code = kids.poll(pid, false);
        if (code < 0) continue;
        check_reader(n, code);
        any = true;
        if (left > 0) {
          n = reads;
          pid = start_reader(false);
        } else {
          pid = -1;
        }
      }
      std::erase_if(reading, [](const auto& r) { return r.second < 0; });
      if (!any) std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
    for (auto& [n, pid] : reading) check_reader(n, kids.poll(pid, true));
    for (int q = 0; q < openers + quick_readers; ++q) {
      const int code = kids.poll(quick[static_cast<std::size_t>(q)], true);
      INFO("round " << round << ", " << (q < openers ? "opener " : "quick reader ") << q << " exited " << code << ": "
                    << slurp(dir.path / ("q" + std::to_string(q) + ".err")));
      CHECK(code == 0);
    }
    for (int w = 0; w < writers; ++w) {
      const std::string id = "w" + std::to_string(w);
      INFO("round " << round << ", run " << id << " exited " << codes[static_cast<std::size_t>(w)] << ": "
                    << slurp(dir.path / (id + ".err")));
      CHECK(codes[static_cast<std::size_t>(w)] == 0);
      CHECK(slurp(dir.path / (id + ".out")) == expected);
    }
    loom::state_store states(loom::state_store::default_path(store), /*create=*/false);
    states.check();
    const auto all = states.executions();
    CHECK(all.size() == static_cast<std::size_t>(writers));
    for (const auto& e : all) {
      INFO("round " << round << ", execution " << e.id << ": " << e.error);
      CHECK(e.status == "succeeded");
      CHECK(e.nodes_done == 42);  // the body, 40 links, the total
    }
    INFO("round " << round << ": " << reads << " reads");
    REQUIRE(reads >= readers);
  }
}
