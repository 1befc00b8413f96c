// src/fork_server.hpp — the process backend's fork server: a process of the node
// program, started once per run as `PROGRAM exec-node --serve 3 B ROOM` (single-threaded,
// fresh from exec), that forks a child per node and runs the node in it as `PROGRAM
// exec-node NAME ...` would, from the same command line. A node then costs a fork, not
// an exec and the start of a C++ program (the dynamic loader's relocations of libstdc++,
// static initializers): see docs/process-backend.md#results.
//
// The protocol: a SOCK_SEQPACKET socketpair (the server's end is its descriptor 3).
//   parent → server  one message a node: "TIMEOUT_MS\0ARG0\0ARG1\0...\0" with two
//                    descriptors (SCM_RIGHTS): the write ends of the node's output pipe
//                    (its stdout and stderr) and of its status pipe
//   server → parent  "loom-fork-server 1" once, when it is ready
//   server → status  "pid PID\n" once forked; "wait STATUS TIMED_OUT\n" once reaped (the
//                    waitpid status; TIMED_OUT 1 when the server killed it, SIGKILL, over
//                    its timeout); or "error WHAT\n" when it could not fork. Then closed.
// The parent reads the node's output as it reads a spawned node's, and its end from the
// status pipe. The server ends when its socket does (the run is over, or its parent is
// gone): it kills (SIGKILL) and reaps what it still runs. A node's child dies with the
// server (PR_SET_PDEATHSIG); a status pipe that ends without "wait" means the server is
// gone, and the node fails saying so (the backend starts another server for the next).
//
// With K nodes per process (K > 1), a child is a runner: it runs a node, tells the server
// its exit code on a socketpair of its own ("CODE"), and waits there for the next node
// ("ARG0\0ARG1\0...\0" and the output pipe's write end), up to K; the server reports
// "pid RUNNER" and "wait STATUS 0" (STATUS as if the node's process exited with CODE) to
// each node's status pipe. A runner that dies (the node's exit(), a crash, its timeout)
// ends its node as a child per node would; the next node gets a new runner.
#pragma once

#include <loom/process_backend.hpp>

#include <chrono>
#include <cstddef>
#include <iosfwd>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include <sys/types.h>

namespace loom::detail {

/// A node's status pipe ended before the server said how the node ended: the server is
/// gone (killed, crashed), and the node with it.
struct fork_server_lost : error {
  using error::error;
};

class fork_server {
 public:
  /// Starts `program exec-node --serve` (argv[0] `argv0`) and waits for its hello. Null
  /// when it cannot be started or does not answer within `patience` (a program that does
  /// not serve: an older Loom, one whose main() does not hand exec-node over; the backend
  /// then spawns each node).
  /// `nodes_per_process`: nodes a forked child runs in turn before it exits (1: a fresh
  /// process per node).
  static std::shared_ptr<fork_server> start(const std::string& program, const std::string& argv0,
                                            std::size_t nodes_per_process = 1,
                                            std::chrono::milliseconds patience = std::chrono::seconds(10));

  fork_server(const fork_server&) = delete;
  fork_server& operator=(const fork_server&) = delete;
  /// Closes its socket (the server then ends) and reaps it.
  ~fork_server();

  /// Runs the node of the command line `args` (`PROGRAM exec-node NAME ...`) in a child of
  /// the server and waits for its end, as spawn_and_wait does for a spawned one; the
  /// server kills it after `timeout` (0: never). Throws fork_server_lost when the server
  /// is gone (before or while it runs), loom::error when it cannot fork.
  process_exit run(const std::vector<std::string>& args, bool forward_output, std::chrono::milliseconds timeout);

  [[nodiscard]] pid_t pid() const { return pid_; }

  /// How the server ended ("was killed by signal SIGKILL (Killed)"), once it has; waits
  /// for it up to a second.
  std::string describe_end();

 private:
  fork_server(pid_t pid, int socket) : pid_(pid), socket_(socket) {}

  pid_t pid_;
  int socket_;
  std::mutex mutex_;
  std::optional<int> status_;  // once reaped
};

/// The server's side: `PROGRAM exec-node --serve FD [B [K [ROOM]]]` (B 1: LD_BIND_NOW was
/// set for it alone; K: nodes a child runs in turn, default 1; ROOM: spaces, where its
/// children write their command lines). Serves
/// until its socket ends; returns its exit code.
int serve_forks(int argc, char** argv, std::ostream& err);

}  // namespace loom::detail
