// tools/store_view.hpp — what the `loom` command reads from a store: the executions (with
// the status a person should see), and the node tree of one execution, built from its
// node rows (loom/state_store.hpp) and the graphs it stored in the futures-file format
// (`<id>/workflow.json`, `<id>/<node path>/futures.json`, `<id>/specs/<workflow>.json`),
// so that nodes that never started are there too; and the Slurm backend's job records
// (`<id>/<node path>/job-a<N>.json`, `.../batch-<K>/job.json`) with their done records.
#pragma once

#include "graph_file.hpp"

#include <loom/object_store.hpp>
#include <loom/state_store.hpp>

#include <nlohmann/json.hpp>

#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace loom_tool {

/// A failure of the command (exit code 1): not found, damaged data, a missing program.
class failure : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// A bad command line (exit code 2).
class usage_error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// "2026-11-27T03:15:02Z" (UTC); "-" for 0.
std::string iso_time(std::int64_t us);
/// "850 us", "12.3 ms", "4.52 s", "3m07s", "2h05m", "3d04h".
std::string duration_text(std::int64_t us);
/// A time given on the command line, in µs since the epoch: YYYY-MM-DD (midnight UTC),
/// or ISO 8601 YYYY-MM-DDTHH:MM[:SS[.fraction]] with Z, ±HH:MM or nothing (UTC).
std::optional<std::int64_t> parse_time(std::string_view text);

/// "n0/dn10" after "n0/dn9": node paths in the order of their numbers.
bool path_less(std::string_view a, std::string_view b);

struct store {
  std::filesystem::path root;
  std::optional<loom::object_store> objects;
  std::unique_ptr<loom::state_store> states;  // null: no database (nothing recorded)

  /// Opens the store at `dir`; throws failure if it is not a directory. Never creates it.
  /// `read_only`: the database is opened for reading only (never migrated or written;
  /// read as immutable while no run has it open for writing: no `loom.db-wal`), so that
  /// not a byte of the store changes (`loom ui`).
  explicit store(const std::filesystem::path& dir, bool read_only = false);
  /// The database, or failure("no executions recorded in DIR").
  loom::state_store& database();
  /// The execution, or failure naming it and the database.
  loom::execution_record execution(const std::string& id);
};

/// An execution as the command shows it.
struct execution_view {
  loom::execution_record record;
  std::string status;       // record.status, or "interrupted" (running, its owner on this host is gone)
  bool owner_alive = false;  // running and its owner may still be at it
  std::int64_t duration_us = 0;
};

execution_view view_of(const loom::execution_record& e);
nlohmann::ordered_json execution_json(const execution_view& v);

/// One Slurm job of a node, from the Slurm backend's records (src/slurm_node_backend.cpp):
/// an attempt at a task or dynamic node (`<id>/<path>/job-a<N>.json`; N counts the node's
/// jobs over every run of the execution, so a resumed run's attempt 0 may be job-a2), or
/// one batch of a map node's items (`<id>/<path>/batch-<K>/job.json`), with the done
/// record its script wrote beside it (`.done`, a plain file) when the node process ended.
struct slurm_job_view {
  std::string record_key;         // the job record, a key of the store
  bool batch = false;             // a map node's batch of items, not an attempt
  std::uint32_t number = 0;       // the attempt, or the batch
  std::string job;                // the Slurm job id; "" while sbatch has not answered
  std::string comment;            // the job's --comment: "<path>#<attempt>.<submission>"
  std::optional<int> exit;        // from the done record
  std::string state;              // "exited 0", "exited 3", "submitted", "submitting"
  std::string script;             // absolute paths, as the run wrote them
  std::string stdout_log;
  std::string stderr_log;
  std::string pilot;              // run by a pilot worker (`job` is the worker's): its id, "pilot-7"
};

/// One node of an execution: its row (if it started), its place in the stored graphs.
struct tree_node {
  std::string path;  // "n0/dn3"; "" for the root
  std::string id;    // "dn3"
  std::string task;
  std::string kind;   // "task", "workflow", "dynamic" ("" when unknown)
  std::string phase;  // running, succeeded, failed, cached, aborted, or "not started"
  std::optional<loom::node_record> row;
  std::optional<loom::map_items_record> items;  // a map node: what its items did
  const graph_decl* graph = nullptr;      // its graph (the root's, a dynamic node's sub-DAG, a workflow's)
  const graph_file* file = nullptr;  // the file that holds it
  std::vector<std::unique_ptr<tree_node>> children;  // in the graph's order, then nodes only rows know
  std::vector<slurm_job_view> slurm;  // its Slurm jobs: attempts in order, then batches in order
};

struct execution_tree {
  std::string id;
  tree_node root;
  std::vector<std::string> errors;  // damaged or invalid stored graphs (exit code 1)
  std::vector<std::string> notes;   // missing graphs (older executions; a node that is still running)
  std::map<std::string, std::unique_ptr<graph_file>> files;  // by key: what the tree points into

  [[nodiscard]] const tree_node* find(std::string_view path) const;
};

/// The node tree of an execution: its rows, and the graphs it stored.
execution_tree load_tree(store& s, const std::string& id);

/// What every JSON form of a node starts with: path, id, task, kind, phase, attempts,
/// started (ISO), started_us, ended_us, duration_us.
nlohmann::ordered_json node_fields(const tree_node& n);
/// A node and everything under it (`loom show --json`): node_fields, its error, outputs
/// key, items, Slurm jobs and children.
nlohmann::ordered_json node_json(const tree_node& n);

/// A node's Slurm jobs in one short cell of the tree: its last attempt's job and state
/// ("job 123 (exited 0)"), or a map node's batches counted by state; "" for none.
std::string slurm_summary(const tree_node& n);
/// Every Slurm job of node `n`: attempt (or batch), job id, state, script and logs.
std::string slurm_detail(const tree_node& n);
nlohmann::ordered_json slurm_json(const slurm_job_view& job);

/// A map node's items, summed up: counts per phase, the failed items with their errors
/// (the first `failed_shown`), how many were tried more than once.
std::string items_summary(const tree_node& n, std::size_t failed_shown = 10);
nlohmann::ordered_json items_json(const loom::map_items_record& items);
/// A map row's sparse {"index": value} object (its attempts or its errors) by index, in
/// order; empty when it is damaged.
std::vector<std::pair<std::size_t, nlohmann::json>> sparse_by_index(const std::string& text);
/// A map item's phase (map_items_record): "succeeded", "failed" or "not done".
const char* item_phase_name(int phase);

/// Item `k` of map node `n`: its phase, attempts, error, and outputs when they are kept
/// (in the node's outputs, or in a record of finished items). Throws when there is no
/// item k.
nlohmann::ordered_json item_json(store& s, const std::string& id, const tree_node& n, std::size_t k);

}  // namespace loom_tool
