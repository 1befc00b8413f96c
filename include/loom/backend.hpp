// loom/backend.hpp — where the nodes of a run execute (run_options::backend).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace loom {

/// Where the nodes of a run execute.
enum class execution_backend : std::uint8_t {
  /// On the executor's threads, in this process (the default).
  thread,
  /// Each task node, and each dynamic node's body, in a fresh process of the node
  /// program (see run_options::node_program); at most as many at a time as the
  /// executor has threads. Static workflow nodes are structure only: they stay here.
  process,
  /// Each task node, and each dynamic node's body, as a job of a Slurm cluster
  /// (loom/slurm.hpp), with the run's store on a directory the cluster shares; any
  /// number of jobs at a time, none of the executor's threads waiting for them.
  slurm,
};

/// How the process backend starts its node processes (run_options::process).
struct process_options {
  /// Fork each node process from the run's fork server: a process of the node program
  /// started once, at the run's first node, that forks a child per node (no exec, no
  /// start of a program per node; docs/process-backend.md). Off (`--process-fork-server
  /// off`): each node process is spawned, `PROGRAM exec-node ...`. A node program that
  /// does not serve (its main() does not hand exec-node to Loom) gets spawned nodes.
  bool fork_server = true;
  /// Nodes one forked process runs in turn (`--process-nodes-per-process K`; default 1: a
  /// fresh process per node). K > 1 trades isolation for speed: a fork costs about a
  /// millisecond on a small VM, so short nodes are dominated by it; a process that runs
  /// K nodes one after another pays it once for K. What a node leaves in the process
  /// (globals, leaked memory, threads) is then seen by the next ones. A node that ends
  /// its process (exit(), a crash, its timeout) ends with it; the next gets a new one.
  /// Only with the fork server (a spawned process runs one node).
  std::size_t nodes_per_process = 1;
};

inline std::string_view backend_name(execution_backend b) {
  switch (b) {
    case execution_backend::process: return "process";
    case execution_backend::slurm: return "slurm";
    case execution_backend::thread: break;
  }
  return "thread";
}

}  // namespace loom
