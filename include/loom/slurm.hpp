// loom/slurm.hpp — the Slurm backend's options (run_options::slurm). With
// `run_options::backend = loom::execution_backend::slurm` (`--backend slurm`) every task
// node, and the body of every dynamic node, is one Slurm job: `sbatch` of this program's
// hidden verb `exec-node` (loom/process_backend.hpp), with the run's object store on a
// directory every node of the cluster sees. A job writes only to the object store (the
// node's outputs or futures file, its log, and a done record renamed into place last);
// only the driver (the process that called run) writes the state store. The driver
// learns that a job ended from its done record, and asks the controller (one
// `scontrol show job` per interval) only whether the jobs without one are still alive. See
// docs/slurm-backend.md.
//
// A task's resources go on the task (loom/policy.hpp):
//
//   inline constexpr auto train = loom::task<"train">(train_fn)
//       .with_resources({.cpus = 8, .memory = "16G", .time = std::chrono::hours(2),
//                        .gpus = 1, .partition = "gpu"});
//
// and map to sbatch's --cpus-per-task, --mem, --time, --gres=gpu:N and --partition. The
// options below give the defaults of nodes whose task declares none.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

namespace loom {

struct slurm_options {
  /// sbatch --partition for nodes whose task names none (empty: the cluster's default).
  std::string partition;
  /// sbatch --account (empty: the user's default).
  std::string account;
  /// sbatch --time for nodes whose task declares none, in Slurm's spelling ("30",
  /// "1:00:00", "2-00:00:00"); empty: the partition's default.
  std::string time;
  /// How often the driver asks the controller which of the run's jobs are alive (one
  /// `scontrol show job` per interval while jobs run, none when none do; while no job starts or
  /// ends, the interval doubles up to 4 times this). Completion does not wait
  /// for it: it comes from the jobs' done records, looked at every few hundred ms.
  std::chrono::milliseconds liveness_interval{std::chrono::seconds(5)};
  /// Resubmissions of a node after failures that are not its own (its job lost, its
  /// machine failed, the job preempted), apart from the task's retries.
  std::uint32_t system_retries = 3;
  /// A map node runs as job arrays: each element of an array runs this many of its
  /// items, one after the other (0: as many as make at most 1,000 elements, one item
  /// each for a map of up to 1,000). Arrays are split where the cluster's MaxArraySize
  /// requires; the map's concurrency limits the elements running at once (`%N`).
  std::size_t items_per_job = 0;
  /// Pilot workers: this many long-lived jobs (one job array) running `PROGRAM worker`,
  /// which pull the run's short nodes from the driver over TCP and run them in processes
  /// forked from the worker: a node then costs a few messages, not a Slurm job. Nodes
  /// whose task declares resources (with_resources) and map nodes (job arrays) still get
  /// jobs of their own.
  /// 0: no workers.
  std::size_t workers = 0;
  /// Nodes one worker runs at once (its --cpus-per-task).
  std::size_t worker_slots = 1;
  /// Nodes one forked process of a worker runs in turn before it is replaced. A fork
  /// costs more than a trivial node (about 5 ms of CPU per node on a 2-CPU VM, with the
  /// child's first writes to the program's pages and its exit): a process that runs
  /// many nodes pays that once. A node that crashes, exits or times out takes only its
  /// process with it (the next node gets a new one), but nodes that share a process
  /// share its globals, as on the thread backend. 1: a fresh process for every node.
  std::size_t worker_nodes_per_process = 100;
  /// The IPv4 address the driver listens on for its workers (empty: this host's name's
  /// first address, else loopback). Must be reachable from the cluster's nodes.
  std::string worker_address;
  /// The Slurm commands (a full path, or a name looked up in PATH).
  std::string sbatch = "sbatch";
  std::string squeue = "squeue";
  std::string scontrol = "scontrol";
  std::string scancel = "scancel";
  /// More sbatch arguments for every job (e.g. "--qos=short").
  std::vector<std::string> extra_sbatch_arguments;
};

/// Stops this process's Slurm runs: their nodes fail ("the driver was stopped by
/// SIGTERM"), no new job is submitted, and each run cancels its jobs (scancel) as it
/// ends. Async-signal-safe: the command line calls it from its SIGINT and SIGTERM
/// handlers during a Slurm run; a program of its own may do the same.
void stop_slurm_runs(int signal_number) noexcept;

/// The signal given to stop_slurm_runs (-1 for 0), or 0 when it was not called.
int slurm_runs_stopped_by() noexcept;

}  // namespace loom
