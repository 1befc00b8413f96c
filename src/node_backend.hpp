// src/node_backend.hpp — the backend seam: where one attempt at a node runs. The thread
// backend runs it on the executor's thread; the process backend in a node process of
// its own (`PROGRAM exec-node ...`), values passing through the object store; a
// cluster backend (Slurm) submits it as a job and is polled until the job ends, with
// no thread held meanwhile. The scheduler and the node handlers decide what runs and
// when; a backend only runs it.
#pragma once

#include "run_state.hpp"

#include <loom/policy.hpp>
#include <loom/process_backend.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace loom::detail {

/// Keeps the items of [from, to) of a map node that finished (a recorded run's
/// checkpoint: a resumed map does not run them again).
using keep_items_fn = std::function<void(std::size_t from, std::size_t to)>;

/// What became of an attempt submitted as a job (node_backend::poll).
struct job_poll {
  enum class state : std::uint8_t {
    running,    // not over: ask again after `again`
    succeeded,  // what the job wrote is there to collect (run_task / expand)
    failed,     // the attempt failed: retried while the node's policy allows
    stopped,    // the job was stopped from outside (scancel): the node fails, no retry
  };
  state what = state::running;
  std::string error;                             // failed, stopped: why
  std::chrono::milliseconds again{100};          // running
};

class node_backend {
 public:
  virtual ~node_backend() = default;

  /// Whether attempts at task nodes and dynamic bodies are submitted as jobs (a
  /// cluster's): the scheduler then calls submit(), polls the ticket from its queue of
  /// timed items (no thread waits for a job), and once the job has succeeded calls
  /// run_task or expand, which only collect what the job wrote.
  [[nodiscard]] virtual bool submits_jobs() const { return false; }

  /// Submits attempt `attempt` at node `node` (a task, or a dynamic node's body) as a
  /// job; returns its ticket (never 0). Throws when it cannot be submitted.
  virtual std::uint32_t submit(frame& f, std::uint32_t node, const node_policy& policy, std::uint32_t attempt);

  /// How the job of `ticket` is doing; a ticket that ended (any state but running) is
  /// released.
  virtual job_poll poll(std::uint32_t ticket);

  /// Whether nodes run out of this process: their inputs and outputs then pass through
  /// the store (a task's process stores its outputs itself), and a dynamic node's
  /// sub-DAG comes back as its futures file, read and validated.
  [[nodiscard]] virtual bool out_of_process() const = 0;

  /// One attempt at task node `node` of `f`, under the policy's timeout: its outputs go
  /// to the node's slots. Returns whether they are in the store already (the node's
  /// process kept them); if not, the run keeps them. Throws what went wrong.
  virtual bool run_task(frame& f, std::uint32_t node, const node_policy& policy) = 0;

  /// One attempt at the body of dynamic node `node`: the sub-DAG it built (out of
  /// process: read from its futures file). Throws what went wrong.
  virtual std::unique_ptr<graph> expand(frame& f, std::uint32_t node, const node_policy& policy) = 0;

  /// Items [begin, end) of map node `node` (its chunk `chunk`), each with its task's
  /// attempts (attempt.hpp); what each did goes to `run`. Items a resume reused are
  /// skipped. Does not throw: a failure is the items'.
  virtual void run_items(frame& f, std::uint32_t node, map_run& run, std::size_t begin, std::size_t end,
                         std::uint32_t chunk, const keep_items_fn& keep) = 0;

  /// Map nodes as jobs (a cluster's): how many of `length` items one job runs; 0 (the
  /// default) when the map's chunks run through run_items, a few per executor thread.
  [[nodiscard]] virtual std::size_t items_per_job(std::size_t length) const;

  /// Submits chunks [0, chunks) of map node `node` (run.chunk_size items each) as jobs:
  /// one ticket per chunk, 0 for a chunk with nothing to run (its items reused). Throws
  /// when they cannot be submitted.
  virtual std::vector<std::uint32_t> submit_items(frame& f, std::uint32_t node, map_run& run, std::uint32_t chunks,
                                                  const node_policy& policy);

  /// How the job of chunk `chunk` (items [begin, end)) is doing; once it has ended, what
  /// its items did is in `run` (a failed job fails its items) and the ticket is released.
  virtual job_poll poll_items(std::uint32_t ticket, frame& f, std::uint32_t node, map_run& run, std::size_t begin,
                              std::size_t end, std::uint32_t chunk, const keep_items_fn& keep);

  /// Cancels the job of `ticket` (a map stopped by its first failure) and releases it.
  virtual void cancel(std::uint32_t ticket);
};

/// The node's inputs, written to the store for a node process or job that runs it, and
/// the request that asks for it (its keys, entity, store, limits); results from an
/// earlier run under the same keys are removed first unless `fresh_store`. With
/// `inputs_here`, the inputs document goes there instead of to the store (a pilot
/// worker's node gets it with its request).
node_request write_node_request(frame& f, std::uint32_t node, const std::string& result_key, bool fresh_store,
                                json* inputs_here = nullptr);

/// The same for a request whose keys are set (a map batch's), with these inputs.
void write_request(frame& f, std::uint32_t node, node_request& request, json inputs, bool fresh_store,
                   json* inputs_here = nullptr);

/// The message a node process stored when its task threw (error.json), if readable.
std::optional<std::string> stored_task_error(const object_store& store, const std::string& key);

/// A chunk of a map node's items as one batch for a node process or job: the items it
/// runs (those of [begin, end) that a resume did not reuse), in order, and its request
/// (keys under the node's `batch-<chunk>/`; the inputs hold the items' slices of the
/// mapped lists once written).
struct map_batch {
  std::size_t begin = 0;
  std::size_t end = 0;
  std::vector<std::size_t> items;
  node_request request;
  std::chrono::steady_clock::time_point started;
};

/// The batch of chunk `chunk`: its items and keys; nothing is written.
map_batch plan_batch(frame& f, std::uint32_t node, map_run& run, std::size_t begin, std::size_t end,
                     std::uint32_t chunk);

/// Writes the batch's inputs (its slices of the mapped lists), and starts its clock.
void write_batch(frame& f, std::uint32_t node, map_run& run, map_batch& batch, bool fresh_store);

/// The batch ran (`who` ran it: "its Slurm job 12_3"): each item's outputs, failure and
/// attempts are read from its result into `run`; a missing or unreadable result fails
/// every item. A batch that took a while is kept (`keep`: a resume does not run it again).
void collect_batch(frame& f, std::uint32_t node, map_run& run, const map_batch& batch, const std::string& who,
                   const keep_items_fn& keep);

/// The batch did not run to its end: every item fails with `message`.
void fail_batch(frame& f, std::uint32_t node, map_run& run, const map_batch& batch, const std::string& message);

/// Items [begin, end) of map node `node` (its chunk `chunk`) as one batch, in one node
/// process or job: `execute` runs the request (its inputs written: the batch's slices of
/// the mapped lists) and returns who ran it ("its process (pid 12)"), or throws what went
/// wrong, which fails the batch's items. The batch gives each item's attempts
/// (attempt.hpp, where it runs); outputs and failures come back per item.
void run_items_in_batch(frame& f, std::uint32_t node, map_run& run, std::size_t begin, std::size_t end,
                        std::uint32_t chunk, const keep_items_fn& keep, bool fresh_store,
                        const std::function<std::string(const node_request&)>& execute);

/// Nodes on the executor's threads.
std::unique_ptr<node_backend> make_thread_backend();

/// Nodes as Slurm jobs running `program` with `exec-node` (loom/slurm.hpp), the run's
/// store shared with the cluster.
std::unique_ptr<node_backend> make_slurm_backend(const execution_context& context, std::string program);

/// Nodes in processes of their own: `program` (argv[0] `argv0`) with `exec-node`.
/// `private_store`: the store is the run's own temporary one (nothing stale in it).
/// `how`: forked by the run's fork server (src/fork_server.hpp) or spawned, and how many
/// nodes a forked process runs.
std::unique_ptr<node_backend> make_process_backend(std::string program, std::string argv0, bool private_store,
                                                   const process_options& how);

/// The policy of a node's entity (retries, backoff, timeout, cache); none for a node
/// without one.
const node_policy& policy_of(const graph_node& n);

}  // namespace loom::detail
