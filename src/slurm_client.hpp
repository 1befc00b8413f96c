// src/slurm_client.hpp — the Slurm commands the Slurm backend uses (sbatch, squeue,
// scontrol, scancel), run as programs and their output parsed; every call to the
// controller goes through here, and is counted. A command that does not answer in time,
// or answers that the controller cannot be reached, is told apart from one that answers
// no: the first means "wait and ask again", never "the job failed".
#pragma once

#include <loom/error.hpp>
#include <loom/slurm.hpp>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace loom::detail {

/// `text` as one word for sh ('...'), whatever it holds: job scripts are written with it.
std::string shell_quoted(const std::string& text);

/// What slurmstepd wrote in a job's log when Slurm stopped the job ("*** JOB 64 ON
/// node1 CANCELLED AT 2026-12-07T22:43:12 DUE TO TIME LIMIT ***": the part from
/// "CANCELLED AT" to the end of its line); empty when `log` has no such line. It writes
/// that line before it signals the job's processes, so a job script that outlived its
/// program (exit status 143) is told apart from a program killed by someone else.
std::string slurm_stop_notice(const std::string& log);

/// How a command ended, and what it printed.
struct command_output {
  bool started = false;  // false: it could not be started (`err` says why)
  bool timed_out = false;
  bool truncated = false;  // it printed more than is kept (64 MiB a stream): `out` is cut
  std::chrono::milliseconds timeout{0};  // the time it was given
  int status = 0;  // as waitpid reports it
  std::string out;
  std::string err;

  [[nodiscard]] bool ok() const;
  /// "exited with status 1: sbatch: error: ..." (its first lines of stderr).
  [[nodiscard]] std::string describe() const;
};

/// Runs `program` (looked up in PATH when it has no '/') with `args`, stdin from
/// /dev/null, and collects its stdout and stderr; kills it (SIGKILL) after `timeout`.
/// `environment` ("NAME=VALUE"): added to this process's environment for the command.
command_output run_command(const std::string& program, const std::vector<std::string>& args,
                           std::chrono::milliseconds timeout, const std::vector<std::string>& environment = {});

/// A job of the run that has not ended (pending, running, completing...), as the
/// controller lists it; an array's element as "12_3".
struct queued_job {
  std::string id;
  std::string state;   // PENDING, RUNNING, COMPLETING, ...
  std::string reason;  // why it waits: Resources, Priority, ...
  std::string comment;
};

/// A job as `scontrol show job` describes it; `known` false when the controller no
/// longer knows it (it ended more than MinJobAge ago, or never existed).
struct job_description {
  bool known = false;
  std::string state;      // COMPLETED, FAILED, CANCELLED, TIMEOUT, OUT_OF_MEMORY, NODE_FAIL, ...
  std::string reason;
  std::string exit_code;  // "3:0": status, then the signal that ended it
  std::string node_list;
};

/// sbatch refused the job for what it asks (a bad partition, time or account): not
/// worth asking again.
struct submission_refused : error {
  using error::error;
};

class slurm_client {
 public:
  explicit slurm_client(const slurm_options& options) : options_(options) {}

  /// Submits `script` with these sbatch arguments; the job id. Throws
  /// submission_refused when sbatch said no to the request, loom::error when it did
  /// not answer or could not reach the controller (the job may then exist: look it up).
  std::string submit(const std::vector<std::string>& arguments, const std::string& script);

  /// The jobs named `name` that have not ended, an array's elements one by one; nothing
  /// when the controller did not answer. One call and one RPC (`scontrol --oneliner
  /// show job`, filtered here): squeue makes two, as it asks for the partitions too, and
  /// the controller sends every job it holds either way (squeue filters by name on the
  /// client side too). Only when that list is too long to keep (over 40,000 jobs or so)
  /// is squeue asked instead.
  std::optional<std::vector<queued_job>> queue(const std::string& name);

  /// The cluster's MaxArraySize (array indices are below it); nothing when the
  /// controller did not answer or did not say.
  std::optional<std::size_t> max_array_size();

  /// What the controller says of job `id` ("12" or an array's element "12_3");
  /// nothing when it did not answer.
  std::optional<job_description> describe(const std::string& id);

  /// Cancels these jobs (one call); false when the controller did not answer.
  bool cancel(const std::vector<std::string>& ids);

  /// Calls made to the controller so far (sbatch, squeue, scontrol, scancel).
  [[nodiscard]] std::uint64_t calls() const { return calls_.load(std::memory_order_relaxed); }

  /// Parses one line of `scontrol show job -o` (exposed for tests).
  static job_description parse_description(const std::string& line);
  /// The jobs named `name` that have not ended, from `scontrol --oneliner show job`'s
  /// lines; a pending array's elements, which scontrol lists as one line
  /// ("ArrayTaskId=2-40%2"), one by one (exposed for tests).
  /// `unreadable` (when given) is set when one of the run's lines has array ids that do
  /// not read as such (a list Slurm cut with "...": see queue()); that line then names
  /// the array itself.
  static std::vector<queued_job> parse_jobs(const std::string& text, const std::string& name,
                                            bool* unreadable = nullptr);
  /// Whether a job in this state (scontrol's JobState, squeue's %T) has ended.
  static bool has_ended(const std::string& state);
  /// Parses squeue's lines printed with `%i|%T|%r|%k` (exposed for tests).
  static std::vector<queued_job> parse_queue(const std::string& text);

 private:
  command_output call(const std::string& program, const std::vector<std::string>& args,
                      const std::vector<std::string>& environment = {});

  const slurm_options& options_;
  std::atomic<std::uint64_t> calls_{0};
  std::atomic<bool> list_too_long_{false};  // scontrol's job list was cut once: squeue from then on
};

}  // namespace loom::detail
