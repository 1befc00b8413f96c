// loom/state_store.hpp — the state store: executions and node statuses, and the cache
// index, in one SQLite database (`<store root>/loom.db` by default; WAL mode, so that
// readers such as `loom show` never block a run, and several runs can share it).
//
// It holds small rows only: a node's phase, attempts, start and end times, its path, its
// task, the error message, and where its outputs are when that is not the node's own
// key. Specs and values (inputs, outputs, futures files) stay in the object store: this
// is the seed's separation of etcd from the blob store, so that a dynamic workflow of
// a million nodes costs the database a million small rows and nothing more.
//
// Writes come in batches (one transaction per batch; loom/recorder.hpp batches a run's
// node events), so the database is not what limits a run.
//
// The store's code is compiled once into loom::runtime (src/state_store.cpp); this
// header does not include <sqlite3.h> (the connection and its statements are only
// pointers here). Its private member templates (retry_busy, query, transaction) are
// defined there too: only the store's own functions use them.
#pragma once

#include <loom/detail/change_counter.hpp>
#include <loom/detail/config.hpp>
#include <loom/error.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

// SQLite's handles (<sqlite3.h>, included by src/state_store.cpp only).
struct sqlite3;
struct sqlite3_stmt;

namespace loom {

/// The state store cannot be opened or used: what() names the database file and says
/// what SQLite said ("… is damaged: database disk image is malformed").
class state_store_error : public error {
 public:
  using error::error;
};

/// Where a node is in its life.
enum class node_phase : int {
  running = 0,    // started, not finished (or the executor died while it ran)
  succeeded = 1,  // its outputs are stored
  failed = 2,     // its last attempt failed; `error` says why
  cached = 3,     // not run: its outputs came from the cache
  aborted = 4,    // stopped because the run failed elsewhere (or it timed out)
  skipped = 5,    // not run: it is in the branch of a wf.when that was not taken
};

std::string_view phase_name(node_phase p);

/// One execution: a run of a workflow (or task) that is recorded, and maybe resumed.
struct execution_record {
  std::string id;        // "ex-20261127-031502-3f9a1c", also the object store prefix
  std::string workflow;  // the entity run
  std::string status;    // "running", "succeeded", "failed"
  std::int64_t started_us = 0;  // microseconds since the epoch
  std::int64_t ended_us = 0;    // 0 while running
  std::int64_t nodes_total = 0;  // known so far (dynamic nodes add theirs when they expand)
  std::int64_t nodes_done = 0;
  std::int64_t nodes_failed = 0;
  std::string error;  // why it failed
  std::string owner;  // "host:pid" of the executor running it
  std::int64_t heartbeat_us = 0;  // the last time its owner wrote
  std::int64_t runs = 1;          // 1 + the number of resumes
  std::string backend;            // "thread" or "process"
};

/// One node of an execution.
struct node_record {
  std::string path;  // "n0/dn3"
  std::string task;  // the entity it runs
  int kind = 0;      // 0 task, 1 workflow, 2 dynamic, 3 map, 4 branch, 5 merge (detail::node_kind)
  node_phase phase = node_phase::running;
  std::int64_t attempts = 0;  // times it was started, over every run of the execution
  std::int64_t started_us = 0;
  std::int64_t ended_us = 0;
  std::string error;
  std::string outputs;  // where its outputs are, when not at "<execution>/<path>/outputs.json"
};

/// What the items of a map node did (loom/map.hpp): one row per map node, whatever its
/// length. `phases` packs each item's phase in 2 bits (item k in bits 2(k%4) of byte
/// k/4): 0 not done, 1 succeeded, 2 failed. Items tried more than once and the errors
/// of failed items are sparse JSON objects by index ({"17": 3}, {"17": "boom"}).
struct map_items_record {
  std::string path;
  std::int64_t length = 0;
  std::int64_t succeeded = 0;
  std::int64_t failed = 0;
  std::string phases;
  std::string attempts = "{}";  // only the items tried more than once
  std::string errors = "{}";    // failed items (the first map_items_errors_kept of them)

  enum : int { not_done = 0, succeeded_item = 1, failed_item = 2 };
  /// The phase of item k (not_done when the row does not cover it).
  [[nodiscard]] int phase(std::size_t k) const;
  /// Sets the phase of item k, in a `phases` of at least (k + 4) / 4 bytes.
  void set_phase(std::size_t k, int p);
};

/// The nodes of a large dynamic sub-DAG, recorded as one row (what a row per node would
/// cost is most of a stored run of 200,000 small nodes). The row is the sub-DAG's
/// nodes' tasks and kinds, and each node's phase, one byte per node: 0 not started,
/// else 1 + its node_phase. A node that fails, is retried, is cached or runs long has a
/// node row of its own as well (attempts, times, error), which says more and wins;
/// nodes() gives both as node rows. The nodes' outputs are where every node's are
/// (`<execution>/<path>/outputs.json`, in the execution's packs).
struct subdag_record {
  std::string path;    // the dynamic node's: "n0"
  std::string prefix;  // its nodes' paths, before the index: "n0/dn"
  std::int64_t length = 0;
  std::vector<std::pair<std::string, int>> tasks;  // the distinct (task, kind) of its nodes
  std::string task_of;  // per node: its index in `tasks`, 2 bytes little-endian
  std::string phases;   // per node: 0, or 1 + node_phase
  std::int64_t updated_us = 0;

  /// The task index of node k (0 when the row does not cover it).
  [[nodiscard]] std::size_t task_index(std::size_t k) const;
};

/// A map node keeps the errors of its first 1,000 failed items (a million failing items
/// would otherwise make one row of their messages).
inline constexpr std::size_t map_items_errors_kept = 1000;

/// A cache entry: the outputs of a task (or dynamic workflow) for a hash of its name,
/// version and inputs.
struct cache_record {
  std::string key;  // sha256 hex
  std::string task;
  std::string version;
  std::string outputs;  // object store key
  std::int64_t created_us = 0;
};

std::int64_t now_us();

class state_store {
 public:
  /// The schema this Loom writes (PRAGMA user_version). migrate() brings an older
  /// database up to it, one step at a time; a newer one is refused.
  static constexpr int schema_version = 3;

  /// The database of an object store root: `<root>/loom.db`.
  static std::filesystem::path default_path(const std::filesystem::path& store_root) { return store_root / "loom.db"; }

  /// How long the store waits for other processes sharing the database (their runs,
  /// readers such as `loom show`, one creating or migrating it) before it gives up.
  static constexpr std::chrono::milliseconds busy_budget{60'000};
  /// The same for a reader that answers a person (`loom ui`): it says "busy" sooner.
  static constexpr std::chrono::milliseconds reader_busy_budget{2'000};

  /// Opens (creating when `create`) the database, in WAL mode, and migrates it. Any
  /// number of processes may do this on one database at once, also while it is created.
  explicit state_store(std::filesystem::path path, bool create = true);

  /// How a reader that must not change the store opens it (`loom ui`).
  enum class reading {
    shared,     // SQLITE_OPEN_READONLY: sees the runs writing it (through their -wal)
    immutable,  // the file as it is, no locks, no -shm or -wal made: for a database no
                // process has open for writing (no `-wal` beside it)
  };
  /// Opens the database for reading only: it is never created, migrated, put in WAL
  /// mode or written. A schema other than this Loom's is refused, naming both versions.
  state_store(std::filesystem::path path, reading how);
  state_store(const state_store&) = delete;
  state_store& operator=(const state_store&) = delete;
  ~state_store() { close(); }

  [[nodiscard]] const std::filesystem::path& path() const { return path_; }

  /// SQLite's own check of the whole file; throws state_store_error naming the file and
  /// what is wrong. O(size of the database).
  void check();

  // ---- executions ----

  /// Records a new execution; throws if one with that id exists.
  void create_execution(const execution_record& e);

  /// Takes over an execution to resume it: refused (with who holds it) while another
  /// live executor on this host runs it, or while one elsewhere wrote less than
  /// `stale_after` ago. Counts the run; sets the status back to running.
  /// An execution whose row never made it (the executor died right after storing its
  /// inputs) is recorded now, from `fresh`.
  execution_record claim_execution(const execution_record& fresh,
                                   std::chrono::seconds stale_after = std::chrono::seconds(60));

  /// Ends an execution: its status, its error, and its end time.
  void finish_execution(const std::string& id, const std::string& status, const std::string& error_message);

  [[nodiscard]] std::optional<execution_record> execution(const std::string& id);

  /// Every execution, newest first.
  [[nodiscard]] std::vector<execution_record> executions();

  /// The executions that started before `started_us` (µs since the epoch), oldest
  /// first: what `loom gc --before DATE` considers.
  [[nodiscard]] std::vector<execution_record> executions_started_before(std::int64_t started_us);

  /// Whether the owner of an execution may still be running it: a process on this host
  /// that exists, or an owner on another host that wrote less than `stale_after` ago
  /// (the test claim_execution applies). Says nothing about the status.
  [[nodiscard]] static bool owner_may_be_alive(const execution_record& e,
                                               std::chrono::seconds stale_after = std::chrono::seconds(60)) {
    return owner_alive(e, stale_after);
  }

  /// Whether the owner ("host:pid") of an execution is a process of this host.
  [[nodiscard]] static bool owned_by_this_host(const execution_record& e);

  /// Deletes an execution's rows (its objects are the object store's business).
  void delete_execution(const std::string& id);

  // ---- nodes ----

  /// One batch of node events, in one transaction. A row's attempts are added to the
  /// stored ones (each event carries the starts it saw); the rest replaces what was
  /// there. `subdags` replace the rows of those sub-DAGs. `done`/`failed`/`added` move
  /// the execution's counters.
  void write_nodes(const std::string& id, const std::vector<node_record>& nodes, std::int64_t done,
                   std::int64_t failed, std::int64_t added, const std::vector<subdag_record>& subdags = {});

  /// The nodes of an execution, by path: their own rows, and the nodes of its sub-DAG
  /// rows that have none and have started (attempts 1, or 0 if cached or skipped; no
  /// times).
  [[nodiscard]] std::vector<node_record> nodes(const std::string& id);

  /// The sub-DAG rows of an execution, by path.
  [[nodiscard]] std::vector<subdag_record> subdags(const std::string& id);

  /// The node rows of an execution whose paths are `prefix` and a number ("n0/dn17"
  /// for "n0/dn"): those numbers (what a resumed sub-DAG keeps recording in rows).
  [[nodiscard]] std::vector<std::uint32_t> node_rows_under(const std::string& id, const std::string& prefix);

  // ---- map nodes' items ----

  /// Replaces the item row of map node `items.path`.
  void write_map_items(const std::string& id, const map_items_record& items);

  /// The item rows of an execution's map nodes, by path.
  [[nodiscard]] std::vector<map_items_record> map_items(const std::string& id);

  // ---- the cache ----

  [[nodiscard]] std::optional<cache_record> cached(const std::string& key);

  void put_cache(const cache_record& c);

  /// Bytes of the database file and its write-ahead log.
  [[nodiscard]] std::uintmax_t file_bytes() const;

  /// "host:pid": who runs an execution.
  static std::string this_owner();

 private:
  using value = std::variant<std::nullptr_t, std::int64_t, std::string>;
  static constexpr const char* execution_columns =
      "SELECT name, workflow, status, started_us, ended_us, nodes_total, nodes_done, nodes_failed, error, owner,"
      " heartbeat_us, runs, backend FROM executions";

  static value null_if_empty(const std::string& s) { return s.empty() ? value(nullptr) : value(s); }

  void close();

  // The migrations: step k brings schema k to k + 1. Version 0 is an empty database.
  void migrate();

  std::optional<std::int64_t> execution_rowid(const std::string& id);

  /// The node rows of an execution (nodes() adds its sub-DAGs' nodes).
  std::vector<node_record> node_rows(const std::string& id);

  std::optional<execution_record> load_execution(const std::string& id);

  static execution_record read_execution(sqlite3_stmt* s);

  /// Whether the owner of a running execution may still be at it: a process on this
  /// host that exists, or an owner elsewhere that wrote recently.
  static bool owner_alive(const execution_record& e, std::chrono::seconds stale_after);

  static std::string text(sqlite3_stmt* s, int column);

  [[noreturn]] void fail(const std::string& what) const;

  static bool busy(int rc);

  /// Runs `attempt` (which returns an SQLite result code) again while it says the
  /// database is busy, with a growing pause (1 ms .. 100 ms), for up to busy_budget;
  /// returns its last result. Only for what is safe to run again after SQLITE_BUSY: a
  /// read that delivered nothing, BEGIN IMMEDIATE, COMMIT, a connection setting. The busy
  /// handler is not enough: SQLite returns SQLITE_BUSY without calling it when waiting
  /// could deadlock, and when another connection switches the file to WAL mode.
  template <class Attempt>
  int retry_busy(Attempt&& attempt);

  void exec(const std::string& sql);

  /// exec() for a statement that may be run again after SQLITE_BUSY.
  void exec_retrying(const std::string& sql);

  /// The journal mode as a pragma returns it ("wal", "delete", ...).
  std::string journal_mode(const char* sql);

  /// Puts the database in WAL mode unless it is already (the mode is kept in the file:
  /// every opener but the first finds it so, and takes no write lock). Switching needs the
  /// whole file for a moment; while another connection switches it, checkpoints or
  /// writes, the switch fails at once with SQLITE_BUSY, or leaves the mode as it was,
  /// so it is tried again until busy_budget is spent.
  void use_wal();

  sqlite3_stmt* prepare(const std::string& sql);

  void bind_all(sqlite3_stmt* s, const std::vector<value>& values);

  void step_done(sqlite3_stmt* s);

  void run(const std::string& sql, const std::vector<value>& values);

  template <class Row>
  void query(const std::string& sql, const std::vector<value>& values, Row&& row);

  /// Runs `body` in one write transaction (BEGIN IMMEDIATE: takes the write lock at
  /// once, so two runs never deadlock upgrading a read); rolls back if it throws.
  template <class Body>
  void transaction(Body&& body);

  std::filesystem::path path_;
  sqlite3* db_ = nullptr;
  detail::change_counter changes_;  // bumped after each commit (a writer's only)
  std::chrono::milliseconds budget_ = busy_budget;  // how long a busy database is waited for
  std::recursive_mutex mutex_;
  std::vector<std::pair<std::string, sqlite3_stmt*>> statements_;
  int depth_ = 0;
};

}  // namespace loom
