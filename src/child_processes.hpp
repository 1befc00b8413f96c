// src/child_processes.hpp — pieces shared by the processes that fork node processes
// without exec: the Slurm pilot workers' runners (src/slurm_pilots.cpp) and the process
// backend's fork server (src/fork_server.cpp). Both are single-threaded when they fork
// (a worker, a server spawned for it), watch their children through a signalfd, and run
// a node in the child as `PROGRAM exec-node ...` would, from the same command line.
#pragma once

#include <loom/object_store.hpp>
#include <loom/process_backend.hpp>

#include <csignal>
#include <initializer_list>
#include <iosfwd>
#include <optional>
#include <string>
#include <vector>

#include <sys/types.h>

namespace loom::detail {

/// Starts `program` (looked up in $PATH when `search_path`) with `args` (args[0] its
/// argv[0]) as a fresh process: stdin from /dev/null, stdout on `out`, stderr on `err`,
/// `pass` (unless -1) as its descriptor 3, no other descriptor above 2; no signal
/// blocked, SIGPIPE, SIGINT and SIGTERM at their defaults; `environment`, or this
/// process's.
/// Returns posix_spawn's error (0: started, its pid in `pid`). Node processes, the fork
/// server, and the Slurm commands (slurm_client) are started by it.
int spawn_process(const std::string& program, const std::vector<std::string>& args, int out, int err, int pass,
                  pid_t& pid, bool search_path = false, char* const* environment = nullptr);

void set_nonblocking(int fd);

/// OpenSSL's digests set up in this process (src/sha256.cpp), without its exit-time
/// clean-up: a process that forks node processes does it once, not each child (which
/// hashes what it stores) at its start and again at its exit.
void prepare_sha256_for_forks();

/// std::cout, std::cerr and every stdio stream flushed: before a fork (a child must not
/// write its parent's buffered bytes again), and at a node's end (what it printed is in
/// its pipes before its end is said).
void flush_standard_streams();

/// `signals` blocked in this thread, and seen through the descriptor returned (a
/// non-blocking signalfd, closed on exec); the mask before goes to `old_mask`. Throws
/// loom::error when no signalfd can be made.
int block_into_signalfd(std::initializer_list<int> signals, sigset_t& old_mask);

/// In a child just forked: signals as a started process has them (the mask `mask`,
/// SIGPIPE back to its default), the parent's descriptors `close_fds` closed, and the
/// child's stdout and stderr on `out` and `err` (blocking; closed under their own numbers),
/// or kept as they are when `out` is -1.
void become_forked_child(const sigset_t& mask, const std::vector<int>& close_fds, int out, int err);

/// Runs, in this process, the node of the command line `argv` (`PROGRAM exec-node NAME
/// ...`): what `PROGRAM exec-node` does, without a process of its own. `store` is kept
/// between calls (a runner's nodes share it). With `given_inputs` and `result`, the
/// inputs came with the request and the result is kept for it (node_request). Returns the
/// exit code `exec-node` would (0, 1 the task failed, 2 a bad request: said on `err`).
int run_node_command(std::vector<std::string> argv, const json* given_inputs, std::string* result,
                     std::optional<object_store>& store, std::ostream& err);

/// What a node process's parent does with its stdout and stderr: copies them to its own
/// stderr (when `forward`) and keeps the last bytes in `tail` for an error message.
struct output_tail {
  bool forward = true;
  std::string* tail = nullptr;
  static constexpr std::size_t keep = 8192;

  void take(const char* data, std::size_t n) const;
  /// Reads once from `fd`: false at its end (or an error but EINTR / EAGAIN).
  bool read_from(int fd) const;
  /// Reads what `fd` holds now, up to 1 MiB (the process has ended; what it started may
  /// still hold the pipe open), without blocking.
  void drain(int fd) const;
  /// The tail cut to `keep` bytes.
  void finish() const;
};

}  // namespace loom::detail
