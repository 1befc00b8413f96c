// src/slurm_pilots.hpp — pilot workers for the Slurm backend (`--slurm-workers N`): N
// long-lived jobs running `PROGRAM worker`, each connected to the driver over TCP, pull
// node requests and run them in processes forked from themselves (the worker is the
// workflow's program: its entities are there, no exec needed), up to
// --nodes-per-process of them, one at a time, in each. Short nodes then cost a few
// messages, not a Slurm job, and not a fork each.
//
// The protocol, one JSON object per line:
//   worker → driver  {"hello": TOKEN, "job": "12_3", "slots": S}
//   driver → worker  {"run": SEQ, "argv": [...], "inputs": {...}, "stdout": PATH,
//                     "stderr": PATH, "timeout_ms": T}
//   worker → driver  {"ran": SEQ, "exit": STATUS, "result": TEXT}
//   worker → driver  {"lost": SEQ, "why": TEXT}      (stopped from outside: run it again)
//   driver → worker  {"exit": true}                  (the run is over)
// A node's inputs come with its request and its result goes back with the answer (a
// task's outputs, or what it threw, as JSON text: {"outputs": {...}} or {"error": ...});
// its logs are written only if it prints. A short node then creates no file at all: the
// driver keeps its outputs with the run's others (the recorder's pack), and writes one
// line for it to the pool's journal (`pilots/nodes.jsonl`: where it ran, how it ended,
// for `loom show`). A dynamic body still writes its futures file to the store.
// A worker whose driver goes away kills its nodes and exits; a driver whose worker goes
// away gives that worker's nodes back (lost: the backend decides whether they run
// again) and submits a replacement while it has budget.
#pragma once

#include "slurm_client.hpp"

#include <loom/slurm.hpp>

#include <nlohmann/json.hpp>

#include <atomic>
#include <cstdint>
#include <deque>
#include <filesystem>
#include <functional>
#include <iosfwd>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace loom::detail {

/// A node for the pilots: the RUN line to send (without its sequence number), and what
/// to do when its worker vanished before it ran to its end.
struct pilot_task {
  std::string id;  // "pilot-SEQ"
  std::uint64_t seq = 0;
  std::string node_path;  // for the journal
  std::uint32_t attempt = 0;
  std::vector<std::string> argv;
  nlohmann::json inputs;  // the node's inputs document ({"entity": ..., "inputs": {...}})
  std::filesystem::path stdout_log;
  std::filesystem::path stderr_log;
  std::uint64_t timeout_ms = 0;
  std::function<void(const std::string& why)> lost;
  /// Where it is: queued, on a worker, or ran (its answer here): the driver looks at a
  /// node on a worker often, at a queued one seldom. `worker`, once on a worker, and
  /// `exit` and `result`, once it ran, are set before `stage` says so (release).
  enum : std::uint8_t { queued, on_worker, ran };
  std::atomic<std::uint8_t> stage{queued};
  std::string worker;  // the Slurm job id of the worker that runs it
  int exit = 0;
  std::string result;  // what the node sent back: {"outputs": ...} or {"error": ...}; or empty

  pilot_task() = default;
  /// A copy to send again (after its worker was lost): queued, no name yet.
  pilot_task(const pilot_task& other)
      : node_path(other.node_path),
        attempt(other.attempt),
        argv(other.argv),
        inputs(other.inputs),
        stdout_log(other.stdout_log),
        stderr_log(other.stderr_log),
        timeout_ms(other.timeout_ms) {}
  pilot_task& operator=(const pilot_task&) = delete;
};

class pilot_pool {
 public:
  struct settings {
    std::string program;               // the workflow's program: `program worker ...`
    std::filesystem::path directory;   // the workers' script and logs
    std::string job_name;              // the run's (squeue --name)
    std::vector<std::string> sbatch_arguments;  // the run's defaults (partition, account, time, ...)
    std::size_t workers = 0;
    std::size_t slots = 1;             // nodes at once in one worker (its --cpus-per-task)
    std::size_t nodes_per_process = 1; // nodes one forked process runs in turn
    std::string address;               // where the driver listens (empty: this host's address)
    std::size_t replacements = 0;      // workers submitted again after others ended, at most
  };

  /// Listens, and submits the workers (one job array). Throws when it cannot listen or
  /// sbatch refuses the workers.
  pilot_pool(settings s, slurm_client& client, std::function<void(const std::string&)> warn);
  /// The run is over: the workers are told to exit, and their jobs cancelled (those
  /// that never started too).
  ~pilot_pool();

  pilot_pool(const pilot_pool&) = delete;
  pilot_pool& operator=(const pilot_pool&) = delete;

  /// A sequence number for a task, and its id ("pilot-SEQ"), set before it is queued
  /// (the node's job must know its id before a worker can run it).
  void name(pilot_task& task);

  /// Queues `task` (named) for the next free slot.
  void enqueue(const std::shared_ptr<pilot_task>& task);

  /// The workers' Slurm job ids (a worker's once it has connected).
  [[nodiscard]] std::vector<std::string> worker_jobs() const;

  /// "HOST:PORT" the workers connect to.
  [[nodiscard]] const std::string& endpoint() const { return endpoint_; }

 private:
  struct connection;
  void loop();
  void submit_workers(std::size_t count);
  void dispatch();
  void drop(int fd, const std::string& why);
  void wake();
  void journal(const nlohmann::json& line);

  settings settings_;
  slurm_client& client_;
  std::function<void(const std::string&)> warn_;
  std::string token_;
  std::string endpoint_;
  int listener_ = -1;
  int journal_ = -1;  // pilots/nodes.jsonl, appended to by the loop's thread
  int wake_pipe_[2] = {-1, -1};

  mutable std::mutex mutex_;
  bool stopping_ = false;
  std::deque<std::shared_ptr<pilot_task>> queue_;
  std::uint64_t next_seq_ = 1;
  std::vector<std::string> array_ids_;  // the worker arrays submitted
  std::size_t replaced_ = 0;
  std::map<int, std::unique_ptr<connection>> connections_;  // by socket (the loop's thread)
  std::thread thread_;
};

/// The worker's side: `PROGRAM worker --driver HOST:PORT --token T --slots S`. Returns
/// its exit code (0 when the driver said the run is over or went away).
int run_pilot_worker(int argc, char** argv, std::ostream& err);

}  // namespace loom::detail
