// The process backend from the command line (`--backend process`), on the workflow
// binary loom_process_tasks: the same stdout as the thread backend, exit code 1 and one
// clear message when a node process misbehaves, exit code 2 for a bad --backend.
#include <catch2/catch.hpp>

#include "test_programs.hpp"

#include <loom/process_backend.hpp>
#include <loom/object_store.hpp>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

namespace {

namespace fs = std::filesystem;

using loom_test::result;
using loom_test::slurp;

/// Runs loom_process_tasks with `args`; its stdout and stderr, its exit code, its time.
result tasks_binary(std::vector<std::string> args) {
  args.insert(args.begin(), LOOM_PROCESS_TASKS_BINARY);
  return loom_test::run_program(args);
}

bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

}  // namespace

TEST_CASE("the command line prints the same with --backend process as with --backend thread", "[process][cli]") {
  const std::vector<std::vector<std::string>> runs{
      {"run", "p_labelled", "--i0", "7"},
      {"run", "p_keyed", "--keys", "[\"a\", \"bb\"]"},
      {"run", "p_square", "--x", "12"},
  };
  for (const auto& args : runs) {
    auto with = args;
    with.insert(with.end(), {"--backend", "process", "--threads", "2"});
    const auto thread = tasks_binary(args);
    const auto process = tasks_binary(with);
    INFO(args[1]);
    CHECK(thread.code == 0);
    CHECK(process.code == 0);
    CHECK(!thread.out.empty());
    CHECK(process.out == thread.out);
    CHECK(process.err == thread.err);
  }
}

TEST_CASE("a misbehaving node process fails the run with exit code 1 and one message", "[process][cli]") {
  const auto r = tasks_binary({"run", "abort_in_workflow", "--i0", "1", "--backend", "process", "--threads", "2"});
  CHECK(r.code == 1);
  CHECK(r.out.empty());
  CHECK(contains(r.err, "node n1 (task 'crash_abort') failed: its process (pid "));
  CHECK(contains(r.err, "was killed by signal SIGABRT"));
  CHECK(r.seconds < 30);
  const auto killed = tasks_binary({"run", "crash_kill", "--i0", "1", "--backend", "process"});
  CHECK(killed.code == 1);
  CHECK(contains(killed.err, "node n0 (task 'crash_kill') failed: its process (pid "));
  CHECK(contains(killed.err, "was killed by signal SIGKILL (Killed)"));
  const auto body = tasks_binary({"run", "body_dies_in_workflow", "--i0", "1", "--backend", "process"});
  CHECK(body.code == 1);
  CHECK(contains(body.err, "node n0 (task 'dies_in_body') failed: its process (pid "));
  const auto thrown = tasks_binary({"run", "fail_with", "--i0", "task exploded", "--backend", "process"});
  CHECK(thrown.code == 1);
  CHECK(thrown.err == std::string(LOOM_PROCESS_TASKS_BINARY) + ": node n0 (task 'fail_with') failed: task exploded\n");
}

TEST_CASE("the option --backend takes thread, process or slurm", "[process][cli]") {
  const auto r = tasks_binary({"run", "p_square", "--x", "1", "--backend", "fork"});
  CHECK(r.code == 2);
  CHECK(contains(r.err, "--backend: expected 'thread', 'process' or 'slurm', got 'fork'"));
  CHECK(tasks_binary({"--help"}).out.find("--backend thread|process|slurm") != std::string::npos);
}

TEST_CASE("the option --process-fork-server takes on or off", "[process][cli]") {
  for (const char* mode : {"on", "off"}) {
    const auto r = tasks_binary({"run", "p_squares", "--n", "3", "--backend", "process", "--process-fork-server", mode});
    CHECK(r.code == 0);
    CHECK(r.out == "{\"o0\":[0,1,4]}\n");
  }
  const auto bad = tasks_binary({"run", "p_square", "--x", "1", "--backend", "process", "--process-fork-server", "no"});
  CHECK(bad.code == 2);
  CHECK(contains(bad.err, "--process-fork-server: expected 'on' or 'off', got 'no'"));
  CHECK(tasks_binary({"--help"}).out.find("--process-fork-server on|off") != std::string::npos);
}

TEST_CASE("the option --process-nodes-per-process takes a positive count", "[process][cli]") {
  const auto r = tasks_binary({"run", "p_squares", "--n", "5", "--backend", "process", "--process-nodes-per-process", "3"});
  CHECK(r.code == 0);
  CHECK(r.out == "{\"o0\":[0,1,4,9,16]}\n");
  for (const char* bad : {"0", "-1", "many"}) {
    const auto b = tasks_binary({"run", "p_square", "--x", "1", "--backend", "process", "--process-nodes-per-process", bad});
    CHECK(b.code == 2);
    CHECK(contains(b.err, "--process-nodes-per-process: "));
  }
  CHECK(tasks_binary({"--help"}).out.find("--process-nodes-per-process K") != std::string::npos);
}

TEST_CASE("the Slurm options are checked on the command line (exit code 2, what is wrong)", "[process][cli]") {
  const auto no_store = tasks_binary({"run", "p_square", "--x", "1", "--backend", "slurm"});
  CHECK(no_store.code == 2);
  CHECK(contains(no_store.err, "--backend slurm needs --store DIR"));
  const auto time = tasks_binary({"run", "p_square", "--x", "1", "--slurm-time", "an hour"});
  CHECK(time.code == 2);
  CHECK(contains(time.err, "--slurm-time: expected a Slurm time limit"));
  const auto partition = tasks_binary({"run", "p_square", "--x", "1", "--slurm-partition", "a b"});
  CHECK(partition.code == 2);
  CHECK(contains(partition.err, "--slurm-partition: expected a name without spaces"));
  const auto liveness = tasks_binary({"run", "p_square", "--x", "1", "--slurm-liveness-ms", "0"});
  CHECK(liveness.code == 2);
  CHECK(contains(liveness.err, "--slurm-liveness-ms: expected a positive number"));
}

TEST_CASE("the command line with --backend process --store keeps every node's inputs and outputs", "[process][cli]") {
  const auto dir = fs::temp_directory_path() / ("loom-pb-cli-store-" + std::to_string(::getpid()));
  fs::remove_all(dir);
  const auto r = tasks_binary({"run", "p_squares", "--n", "2", "--backend", "process", "--store", dir.string(),
                               "--execution-id", "kept"});
  CHECK(r.code == 0);
  CHECK(r.out == "{\"o0\":[0,1]}\n");
  CHECK(r.err == "execution kept\n");
  loom::object_store store(dir);
  CHECK(store.list("kept") == std::vector<std::string>{"kept/inputs.json", "kept/n0/dn0/inputs.json",
                                                        "kept/n0/dn0/outputs.json", "kept/n0/dn1/inputs.json",
                                                        "kept/n0/dn1/outputs.json", "kept/n0/futures.json",
                                                        "kept/n0/inputs.json", "kept/n0/outputs.json",
                                                        "kept/outputs.json", "kept/workflow.json"});
  CHECK(loom::json::parse(*store.get("kept/n0/dn1/inputs.json")) ==
        loom::json{{"entity", "p_square"}, {"inputs", {{"x", 1}}}});
  fs::remove_all(dir);
}
