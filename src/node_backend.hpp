// src/node_backend.hpp — the backend seam: where one attempt at a node runs. The thread
// backend runs it on the executor's thread; the process backend in a node process of
// its own (`PROGRAM exec-node ...`), values passing through the object store; a
// cluster backend submits it as a job. The scheduler and the node handlers decide what
// runs and when; a backend only runs it.
#pragma once

#include "run_state.hpp"

#include <loom/policy.hpp>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

namespace loom::detail {

/// Keeps the items of [from, to) of a map node that finished (a recorded run's
/// checkpoint: a resumed map does not run them again).
using keep_items_fn = std::function<void(std::size_t from, std::size_t to)>;

class node_backend {
 public:
  virtual ~node_backend() = default;

  /// Whether nodes run out of this process: their inputs and outputs then pass through
  /// the store (a task's process stores its outputs itself), and a dynamic node's
  /// sub-DAG comes back as its futures file, read and validated.
  [[nodiscard]] virtual bool out_of_process() const = 0;

  /// One attempt at task node `node` of `f`, under the policy's timeout: its outputs go
  /// to the node's slots. Throws what went wrong.
  virtual void run_task(frame& f, std::uint32_t node, const node_policy& policy) = 0;

  /// One attempt at the body of dynamic node `node`: the sub-DAG it built (out of
  /// process: read from its futures file). Throws what went wrong.
  virtual std::unique_ptr<graph> expand(frame& f, std::uint32_t node, const node_policy& policy) = 0;

  /// Items [begin, end) of map node `node` (its chunk `chunk`), each with its task's
  /// attempts (attempt.hpp); what each did goes to `run`. Items a resume reused are
  /// skipped. Does not throw: a failure is the items'.
  virtual void run_items(frame& f, std::uint32_t node, map_run& run, std::size_t begin, std::size_t end,
                         std::uint32_t chunk, const keep_items_fn& keep) = 0;
};

/// Nodes on the executor's threads.
std::unique_ptr<node_backend> make_thread_backend();

/// Nodes in processes of their own: `program` (argv[0] `argv0`) with `exec-node`.
/// `private_store`: the store is the run's own temporary one (nothing stale in it).
std::unique_ptr<node_backend> make_process_backend(std::string program, std::string argv0, bool private_store);

/// The policy of a node's entity (retries, backoff, timeout, cache); none for a node
/// without one.
const node_policy& policy_of(const graph_node& n);

}  // namespace loom::detail
