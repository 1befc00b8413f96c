// loom/process_backend.hpp — one process per node. With `run_options::backend =
// loom::execution_backend::process` (`--backend process` on the command line) the
// executor runs every task node, and the body of every dynamic node, in a fresh process
// of a program that knows the same entities (by default this very program,
// /proc/self/exe), through a hidden verb of the command line:
//
//   PROGRAM exec-node NAME --store DIR --inputs KEY --outputs KEY --error KEY [--node PATH]
//                          [--max-dynamic-nodes N] [--inline-literal-bytes N] [--sync 0|1]
//
// Everything goes by reference through the object store, under the node's own keys
// (`<execution>/<node path>/`):
//   inputs.json   written by the parent: {"entity": NAME, "inputs": {INPUT: literal, ...}}
//   outputs.json  written by a task's process: {OUTPUT: literal, ...} (what a stored
//                 in-process run writes there too)
//   futures.json  written by a dynamic node's process: its futures file, which the
//                 parent reads, validates and schedules as it does its own
//   error.json    written by the process when the task throws: {"message": what()}
// The process exits 0 when it wrote its outputs, 1 when the task failed (error.json), 2
// on a bad command line. The parent fails the node, naming the node path and the task,
// when the process throws, crashes, is killed, exits non-zero, or exits 0 without
// writing readable outputs; the last lines of the process's stderr come with it.
//
// By default the node processes of a run are forked by its fork server, `PROGRAM exec-node
// --serve` (started once, at the run's first node; src/fork_server.hpp), each running its
// node from that same command line; with run_options::process.fork_server off (or a
// program that does not serve) each is spawned. docs/process-backend.md has both.
//
// A program with its own main() (not loom::main) hands the verb over first:
//
//   if (loom::is_node_process(argc, argv)) return loom::run_node_process(argc, argv);
//
// after registering its entities (loom::register_entities): a node process finds the
// entity it runs, and the parent the entities a futures file names, in the registry.
//
// The process backend's code (spawning and waiting, the node process's side) is
// compiled once into loom::runtime (src/process_backend.cpp).
#pragma once

#include <loom/backend.hpp>
#include <loom/detail/config.hpp>
#include <loom/detail/graph.hpp>
#include <loom/error.hpp>
#include <loom/literal.hpp>
#include <loom/object_store.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <iostream>
#include <optional>
#include <ostream>
#include <string>
#include <string_view>
#include <vector>

#include <sys/types.h>

namespace loom {

namespace detail {

/// The keys of one node in the object store, under `<execution>/<node path>`.
struct node_keys {
  std::string prefix;
  [[nodiscard]] std::string inputs() const { return prefix + "/inputs.json"; }
  [[nodiscard]] std::string outputs() const { return prefix + "/outputs.json"; }
  [[nodiscard]] std::string futures() const { return prefix + "/futures.json"; }
  [[nodiscard]] std::string error() const { return prefix + "/error.json"; }
};

/// "SIGSEGV" for SIGSEGV: the name a person looks up.
std::string signal_name(int sig);

/// How a node process ended.
struct process_exit {
  pid_t pid = -1;
  bool known = false;  // false when its status could not be collected (SIGCHLD ignored)
  int status = 0;      // as waitpid reports it
  std::string stderr_tail;  // the last bytes of its stdout and stderr
  std::chrono::milliseconds timed_out{0};  // the timeout after which it was killed (0: it was not)

  [[nodiscard]] bool exited_zero() const;

  /// "exited with status 3", "was killed by signal SIGKILL".
  [[nodiscard]] std::string describe() const;

  /// The last few non-empty lines of its output, each on its own line, indented: for
  /// an error message. Empty when it printed nothing.
  [[nodiscard]] std::string last_lines(std::size_t max_lines = 8) const;
};

/// Starts `program` with `args` (args[0] is its argv[0]), stdin from /dev/null, stdout
/// and stderr into a pipe that is copied to this process's stderr (logs stay logs: the
/// command line's stdout holds only results) and whose last bytes are kept; waits for
/// it to end. Never leaves a zombie. Throws loom::error when it cannot be started.
/// `timeout` (0: none): kill it with SIGKILL when it runs longer, then reap it.
process_exit spawn_and_wait(const std::string& program, const std::vector<std::string>& args,
                            bool forward_output = true,
                            std::chrono::milliseconds timeout = std::chrono::milliseconds(0));

/// The path of this program, for the argv[0] of its node processes.
std::string self_program_name();

/// Where a run's private store goes: $TMPDIR when it is set; otherwise /dev/shm when it
/// is a memory file system with at least 1 GiB free (creating, then removing, a few
/// files per node costs about a millisecond per node on a disk here, and next to nothing
/// in memory); otherwise /tmp.
std::filesystem::path temporary_base();

/// A private object store in a new temporary directory (under temporary_base()),
/// removed with everything in it when this object goes.
class temporary_store {
 public:
  temporary_store();
  temporary_store(const temporary_store&) = delete;
  temporary_store& operator=(const temporary_store&) = delete;
  ~temporary_store();
  [[nodiscard]] const object_store& store() const { return *store_; }
  [[nodiscard]] const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
  std::optional<object_store> store_;
};

/// The JSON of a stored object, or nothing when there is none; throws loom::error
/// naming the key when it is not JSON.
std::optional<json> read_json_object(const object_store& store, const std::string& key);

/// A command-line count ("12"): a non-negative integer and nothing else, or nothing
/// (the command line's and exec-node's options alike).
std::optional<std::size_t> parse_non_negative(const std::string& text);

/// What a node process was asked to do (the verb's arguments).
struct node_request {
  std::string entity;
  std::string store_root;
  std::string inputs_key;
  std::string outputs_key;
  std::string error_key;
  std::string node_path;
  std::size_t max_dynamic_nodes = 1'000'000;
  std::size_t inline_literal_bytes = 64 * 1024;
  /// Whether what the process writes must reach the disk before it exits (a store the
  /// user keeps: yes; the run's private store: no).
  bool sync = true;
  /// A batch of a map node's items (`--map MASK`): the inputs hold the batch's slices
  /// of the mapped lists (the inputs of bit MASK), and the process runs its items one by
  /// one, each with the task's retries. `--map-partial 0` stops at the first failure.
  std::optional<std::uint64_t> map_mapped;
  bool map_partial = false;
  /// A pilot worker's node (src/slurm_pilots.hpp), not on the command line: its inputs
  /// document came with the worker's request instead of through the store, and a task's
  /// outputs (or the message of what it threw) go back the same way: kept here as one
  /// JSON object's text, {"outputs": {...}} or {"error": "..."}, for the worker to send.
  /// A dynamic body's futures file still goes to the store (its literals may be objects
  /// of their own), and `*result` stays empty.
  const json* given_inputs = nullptr;
  std::string* result = nullptr;

  /// The command line that asks for it (argv[0] first).
  [[nodiscard]] std::vector<std::string> arguments(std::string argv0) const;

  static node_request parse(int argc, char** argv);
};

/// The prefix of a key ("a/b/futures.json" → "a/b").
std::string key_directory(const std::string& key);

/// A batch of a map node's items in a node process. Writes {"o0": [item outputs, null
/// where an item failed or did not run], ..., "done": items tried, "failed": {"j":
/// error}, "attempts": {"j": n}} (j: the item's position in the batch).
void execute_map_batch(const node_request& r, const entity_info& info, const json& given, const object_store& store);

/// The node process itself: decode the inputs, run the task (or the dynamic body),
/// write the outputs (or the futures file). Throws what the task throws.
void execute_node_request(const node_request& r, const object_store& store);

/// execute_node_request, and what the task threw stored (or kept in `*r.result`):
/// the exit code of a node process (0, or 1 when the task threw; its message is kept).
int run_node_request(const node_request& r, const object_store& store, std::ostream& err);

}  // namespace detail

/// True when this process was started as a node process (`PROGRAM exec-node ...`), or
/// as a pilot worker of a Slurm run (`PROGRAM worker ...`, loom/slurm.hpp).
inline bool is_node_process(int argc, char** argv) {
  return argc >= 2 && argv[1] != nullptr &&
         (std::string_view(argv[1]) == "exec-node" || std::string_view(argv[1]) == "worker");
}

/// The entry point of a node process: runs `PROGRAM exec-node NAME ...` and returns
/// its exit code (0 outputs written, 1 the task failed: its message is in the error
/// object, 2 a bad request). `PROGRAM exec-node --serve FD` is a run's fork server: it
/// forks the run's node processes until the run ends, then returns 0. Messages that cannot go to the store go to `err`. A pilot
/// worker (`PROGRAM worker ...`) serves its driver, then returns 0.
int run_node_process(int argc, char** argv, std::ostream& err = std::cerr);

}  // namespace loom
