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
#pragma once

#include <loom/error.hpp>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdlib>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <variant>
#include <vector>

#include <sqlite3.h>
#include <unistd.h>

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

inline std::string_view phase_name(node_phase p) {
  switch (p) {
    case node_phase::running: return "running";
    case node_phase::succeeded: return "succeeded";
    case node_phase::failed: return "failed";
    case node_phase::cached: return "cached";
    case node_phase::aborted: return "aborted";
    case node_phase::skipped: return "skipped";
  }
  return "unknown";
}

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
  [[nodiscard]] int phase(std::size_t k) const {
    if (k / 4 >= phases.size()) return not_done;
    return (static_cast<unsigned char>(phases[k / 4]) >> (2 * (k % 4))) & 3;
  }
  /// Sets the phase of item k, in a `phases` of at least (k + 4) / 4 bytes.
  void set_phase(std::size_t k, int p) {
    auto byte = static_cast<unsigned char>(phases[k / 4]);
    byte = static_cast<unsigned char>((byte & ~(3U << (2 * (k % 4)))) | ((static_cast<unsigned>(p) & 3U) << (2 * (k % 4))));
    phases[k / 4] = static_cast<char>(byte);
  }
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

inline std::int64_t now_us() {
  return std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

class state_store {
 public:
  /// The schema this Loom writes (PRAGMA user_version). migrate() brings an older
  /// database up to it, one step at a time; a newer one is refused.
  static constexpr int schema_version = 2;

  /// The database of an object store root: `<root>/loom.db`.
  static std::filesystem::path default_path(const std::filesystem::path& store_root) { return store_root / "loom.db"; }

  /// How long the store waits for other processes sharing the database (their runs,
  /// readers such as `loom show`, one creating or migrating it) before it gives up.
  static constexpr std::chrono::milliseconds busy_budget{60'000};

  /// Opens (creating when `create`) the database, in WAL mode, and migrates it. Any
  /// number of processes may do this on one database at once, also while it is created.
  explicit state_store(std::filesystem::path path, bool create = true) : path_(std::move(path)) {
    if (!create && !std::filesystem::exists(path_)) throw state_store_error("state store " + path_.string() + " does not exist");
    const int flags = SQLITE_OPEN_READWRITE | (create ? SQLITE_OPEN_CREATE : 0) | SQLITE_OPEN_FULLMUTEX;
    if (sqlite3_open_v2(path_.c_str(), &db_, flags, nullptr) != SQLITE_OK) {
      const std::string why = db_ != nullptr ? sqlite3_errmsg(db_) : "out of memory";
      sqlite3_close(db_);
      db_ = nullptr;
      throw state_store_error("state store " + path_.string() + ": cannot open: " + why);
    }
    try {
      // Other processes sharing the store: wait, do not fail. Set before any statement
      // (sqlite3_open_v2 itself does not read the file; the first statement does).
      sqlite3_busy_timeout(db_, static_cast<int>(busy_budget.count()));
      use_wal();
      // Connection settings only (no lock held after), but they may load the schema:
      // a read, retried like one.
      exec_retrying("PRAGMA synchronous=NORMAL");  // with WAL: a commit survives a crash of the program
      exec_retrying("PRAGMA foreign_keys=ON");
      migrate();
    } catch (...) {
      close();  // no destructor runs for a constructor that throws
      throw;
    }
  }
  state_store(const state_store&) = delete;
  state_store& operator=(const state_store&) = delete;
  ~state_store() { close(); }

  [[nodiscard]] const std::filesystem::path& path() const { return path_; }

  /// SQLite's own check of the whole file; throws state_store_error naming the file and
  /// what is wrong. O(size of the database).
  void check() {
    std::lock_guard lock(mutex_);
    std::string problems;
    query("PRAGMA quick_check", {}, [&](sqlite3_stmt* s) {
      const std::string line = text(s, 0);
      if (line != "ok") problems += (problems.empty() ? "" : "; ") + line;
    });
    if (!problems.empty()) throw state_store_error("state store " + path_.string() + " is damaged: " + problems);
  }

  // ---- executions ----

  /// Records a new execution; throws if one with that id exists.
  void create_execution(const execution_record& e) {
    std::lock_guard lock(mutex_);
    transaction([&] {
      if (execution_rowid(e.id)) throw state_store_error("execution " + e.id + " already exists in " + path_.string() +
                                                     " (an execution id is used once; resume it, or choose another)");
      run("INSERT INTO executions(name, workflow, status, started_us, ended_us, nodes_total, nodes_done, nodes_failed,"
          " error, owner, heartbeat_us, runs, backend) VALUES(?,?,?,?,?,?,?,?,?,?,?,?,?)",
          {e.id, e.workflow, e.status, e.started_us, e.ended_us, e.nodes_total, e.nodes_done, e.nodes_failed, e.error,
           e.owner, e.heartbeat_us, e.runs, e.backend});
    });
  }

  /// Takes over an execution to resume it: refused (with who holds it) while another
  /// live executor on this host runs it, or while one elsewhere wrote less than
  /// `stale_after` ago. Counts the run; sets the status back to running.
  /// An execution whose row never made it (the executor died right after storing its
  /// inputs) is recorded now, from `fresh`.
  execution_record claim_execution(const execution_record& fresh,
                                   std::chrono::seconds stale_after = std::chrono::seconds(60)) {
    std::lock_guard lock(mutex_);
    execution_record result;
    const std::string& id = fresh.id;
    const std::string& owner = fresh.owner;
    transaction([&] {
      auto e = load_execution(id);
      if (!e) {
        create_execution(fresh);
        e = load_execution(id);
      }
      if (e->status == "running" && e->owner != owner && owner_alive(*e, stale_after)) {
        throw state_store_error("execution " + id + " is running (owner " + e->owner + ", last seen " +
                                std::to_string((now_us() - e->heartbeat_us) / 1'000'000) + " s ago)");
      }
      run("UPDATE executions SET status='running', owner=?, heartbeat_us=?, runs=runs+1, ended_us=0, error=''"
          " WHERE name=?",
          {owner, now_us(), id});
      result = *load_execution(id);
    });
    return result;
  }

  /// Ends an execution: its status, its error, and its end time.
  void finish_execution(const std::string& id, const std::string& status, const std::string& error_message) {
    std::lock_guard lock(mutex_);
    transaction([&] {
      run("UPDATE executions SET status=?, error=?, ended_us=?, heartbeat_us=? WHERE name=?",
          {status, error_message, now_us(), now_us(), id});
    });
  }

  [[nodiscard]] std::optional<execution_record> execution(const std::string& id) {
    std::lock_guard lock(mutex_);
    return load_execution(id);
  }

  /// Every execution, newest first.
  [[nodiscard]] std::vector<execution_record> executions() {
    std::lock_guard lock(mutex_);
    std::vector<execution_record> out;
    query(std::string(execution_columns) + " ORDER BY started_us DESC, name DESC", {},
          [&](sqlite3_stmt* s) { out.push_back(read_execution(s)); });
    return out;
  }

  /// The executions that started before `started_us` (µs since the epoch), oldest
  /// first: what `loom gc --before DATE` considers.
  [[nodiscard]] std::vector<execution_record> executions_started_before(std::int64_t started_us) {
    std::lock_guard lock(mutex_);
    std::vector<execution_record> out;
    query(std::string(execution_columns) + " WHERE started_us < ? ORDER BY started_us, name", {started_us},
          [&](sqlite3_stmt* s) { out.push_back(read_execution(s)); });
    return out;
  }

  /// Whether the owner of an execution may still be running it: a process on this host
  /// that exists, or an owner on another host that wrote less than `stale_after` ago
  /// (the test claim_execution applies). Says nothing about the status.
  [[nodiscard]] static bool owner_may_be_alive(const execution_record& e,
                                               std::chrono::seconds stale_after = std::chrono::seconds(60)) {
    return owner_alive(e, stale_after);
  }

  /// Whether the owner ("host:pid") of an execution is a process of this host.
  [[nodiscard]] static bool owned_by_this_host(const execution_record& e) {
    const auto colon = e.owner.rfind(':');
    char host[256] = {};
    ::gethostname(host, sizeof host - 1);
    return colon != std::string::npos && e.owner.substr(0, colon) == host;
  }

  /// Deletes an execution's rows (its objects are the object store's business).
  void delete_execution(const std::string& id) {
    std::lock_guard lock(mutex_);
    transaction([&] {
      if (const auto row = execution_rowid(id)) {
        run("DELETE FROM nodes WHERE execution=?", {*row});
        run("DELETE FROM map_items WHERE execution=?", {*row});
        run("DELETE FROM executions WHERE id=?", {*row});
      }
    });
  }

  // ---- nodes ----

  /// One batch of node events, in one transaction. A row's attempts are added to the
  /// stored ones (each event carries the starts it saw); the rest replaces what was
  /// there. `done`/`failed`/`added` move the execution's counters.
  void write_nodes(const std::string& id, const std::vector<node_record>& nodes, std::int64_t done,
                   std::int64_t failed, std::int64_t added) {
    std::lock_guard lock(mutex_);
    transaction([&] {
      const auto row = execution_rowid(id);
      if (!row) throw state_store_error("no execution " + id + " in " + path_.string());
      sqlite3_stmt* s = prepare(
          "INSERT INTO nodes(execution, path, task, kind, phase, attempts, started_us, ended_us, error, outputs)"
          " VALUES(?,?,?,?,?,?,?,?,?,?) ON CONFLICT(execution, path) DO UPDATE SET task=excluded.task,"
          " kind=excluded.kind, phase=excluded.phase, attempts=nodes.attempts+excluded.attempts,"
          " started_us=CASE WHEN excluded.started_us=0 THEN nodes.started_us ELSE excluded.started_us END,"
          " ended_us=excluded.ended_us, error=excluded.error, outputs=excluded.outputs");
      // Bound in place (no copies): this loop is the state store's share of every node.
      auto text = [&](int at, const std::string& t) {
        return t.empty() ? sqlite3_bind_null(s, at)
                         : sqlite3_bind_text(s, at, t.data(), static_cast<int>(t.size()), SQLITE_STATIC);
      };
      for (const auto& n : nodes) {
        sqlite3_reset(s);
        const bool bound =
            sqlite3_bind_int64(s, 1, *row) == SQLITE_OK &&
            sqlite3_bind_text(s, 2, n.path.data(), static_cast<int>(n.path.size()), SQLITE_STATIC) == SQLITE_OK &&
            sqlite3_bind_text(s, 3, n.task.data(), static_cast<int>(n.task.size()), SQLITE_STATIC) == SQLITE_OK &&
            sqlite3_bind_int64(s, 4, n.kind) == SQLITE_OK &&
            sqlite3_bind_int64(s, 5, static_cast<std::int64_t>(n.phase)) == SQLITE_OK &&
            sqlite3_bind_int64(s, 6, n.attempts) == SQLITE_OK && sqlite3_bind_int64(s, 7, n.started_us) == SQLITE_OK &&
            sqlite3_bind_int64(s, 8, n.ended_us) == SQLITE_OK && text(9, n.error) == SQLITE_OK &&
            text(10, n.outputs) == SQLITE_OK;
        if (!bound) fail("bind");
        step_done(s);
      }
      sqlite3_clear_bindings(s);  // nothing left pointing into `nodes`
      run("UPDATE executions SET nodes_done=nodes_done+?, nodes_failed=nodes_failed+?, nodes_total=nodes_total+?,"
          " heartbeat_us=? WHERE id=?",
          {done, failed, added, now_us(), *row});
    });
  }

  /// The nodes of an execution, by path.
  [[nodiscard]] std::vector<node_record> nodes(const std::string& id) {
    std::lock_guard lock(mutex_);
    std::vector<node_record> out;
    const auto row = execution_rowid(id);
    if (!row) return out;
    query("SELECT path, task, kind, phase, attempts, started_us, ended_us, error, outputs FROM nodes"
          " WHERE execution=? ORDER BY path",
          {*row}, [&](sqlite3_stmt* s) {
            node_record n;
            n.path = text(s, 0);
            n.task = text(s, 1);
            n.kind = sqlite3_column_int(s, 2);
            n.phase = static_cast<node_phase>(sqlite3_column_int(s, 3));
            n.attempts = sqlite3_column_int64(s, 4);
            n.started_us = sqlite3_column_int64(s, 5);
            n.ended_us = sqlite3_column_int64(s, 6);
            n.error = text(s, 7);
            n.outputs = text(s, 8);
            out.push_back(std::move(n));
          });
    return out;
  }

  // ---- map nodes' items ----

  /// Replaces the item row of map node `items.path`.
  void write_map_items(const std::string& id, const map_items_record& items) {
    std::lock_guard lock(mutex_);
    transaction([&] {
      const auto row = execution_rowid(id);
      if (!row) throw state_store_error("no execution " + id + " in " + path_.string());
      sqlite3_stmt* s = prepare(
          "INSERT INTO map_items(execution, path, length, succeeded, failed, phases, attempts, errors)"
          " VALUES(?,?,?,?,?,?,?,?) ON CONFLICT(execution, path) DO UPDATE SET length=excluded.length,"
          " succeeded=excluded.succeeded, failed=excluded.failed, phases=excluded.phases,"
          " attempts=excluded.attempts, errors=excluded.errors");
      sqlite3_reset(s);
      auto bind_text = [&](int at, const std::string& t) {
        return sqlite3_bind_text(s, at, t.data(), static_cast<int>(t.size()), SQLITE_STATIC) == SQLITE_OK;
      };
      const bool bound = sqlite3_bind_int64(s, 1, *row) == SQLITE_OK && bind_text(2, items.path) &&
                         sqlite3_bind_int64(s, 3, items.length) == SQLITE_OK &&
                         sqlite3_bind_int64(s, 4, items.succeeded) == SQLITE_OK &&
                         sqlite3_bind_int64(s, 5, items.failed) == SQLITE_OK &&
                         sqlite3_bind_blob(s, 6, items.phases.data(), static_cast<int>(items.phases.size()),
                                           SQLITE_STATIC) == SQLITE_OK &&
                         bind_text(7, items.attempts) && bind_text(8, items.errors);
      if (!bound) fail("bind");
      step_done(s);
      sqlite3_clear_bindings(s);
    });
  }

  /// The item rows of an execution's map nodes, by path.
  [[nodiscard]] std::vector<map_items_record> map_items(const std::string& id) {
    std::lock_guard lock(mutex_);
    std::vector<map_items_record> out;
    const auto row = execution_rowid(id);
    if (!row) return out;
    query("SELECT path, length, succeeded, failed, phases, attempts, errors FROM map_items WHERE execution=?"
          " ORDER BY path",
          {*row}, [&](sqlite3_stmt* s) {
            map_items_record m;
            m.path = text(s, 0);
            m.length = sqlite3_column_int64(s, 1);
            m.succeeded = sqlite3_column_int64(s, 2);
            m.failed = sqlite3_column_int64(s, 3);
            const auto* blob = static_cast<const char*>(sqlite3_column_blob(s, 4));
            m.phases.assign(blob != nullptr ? blob : "", static_cast<std::size_t>(sqlite3_column_bytes(s, 4)));
            m.attempts = text(s, 5);
            m.errors = text(s, 6);
            out.push_back(std::move(m));
          });
    return out;
  }

  // ---- the cache ----

  [[nodiscard]] std::optional<cache_record> cached(const std::string& key) {
    std::lock_guard lock(mutex_);
    std::optional<cache_record> out;
    query("SELECT key, task, version, outputs, created_us FROM cache WHERE key=?", {key}, [&](sqlite3_stmt* s) {
      out = cache_record{text(s, 0), text(s, 1), text(s, 2), text(s, 3), sqlite3_column_int64(s, 4)};
    });
    return out;
  }

  void put_cache(const cache_record& c) {
    std::lock_guard lock(mutex_);
    transaction([&] {
      run("INSERT INTO cache(key, task, version, outputs, created_us) VALUES(?,?,?,?,?) ON CONFLICT(key) DO UPDATE"
          " SET outputs=excluded.outputs, created_us=excluded.created_us",
          {c.key, c.task, c.version, c.outputs, c.created_us});
    });
  }

  /// Bytes of the database file and its write-ahead log.
  [[nodiscard]] std::uintmax_t file_bytes() const {
    std::uintmax_t total = 0;
    for (const char* suffix : {"", "-wal"}) {
      std::error_code ec;
      const auto n = std::filesystem::file_size(path_.string() + suffix, ec);
      if (!ec) total += n;
    }
    return total;
  }

  /// "host:pid": who runs an execution.
  static std::string this_owner() {
    char host[256] = {};
    ::gethostname(host, sizeof host - 1);
    return std::string(host) + ":" + std::to_string(::getpid());
  }

 private:
  using value = std::variant<std::nullptr_t, std::int64_t, std::string>;
  static constexpr const char* execution_columns =
      "SELECT name, workflow, status, started_us, ended_us, nodes_total, nodes_done, nodes_failed, error, owner,"
      " heartbeat_us, runs, backend FROM executions";

  static value null_if_empty(const std::string& s) { return s.empty() ? value(nullptr) : value(s); }

  void close() {
    for (auto& [sql, stmt] : statements_) sqlite3_finalize(stmt);
    statements_.clear();
    if (db_ != nullptr) sqlite3_close(db_);
    db_ = nullptr;
  }

  // The migrations: step k brings schema k to k + 1. Version 0 is an empty database.
  void migrate() {
    static const std::vector<const char*> steps = {
        // 0 -> 1: executions, nodes, the cache index.
        "CREATE TABLE executions("
        "  id INTEGER PRIMARY KEY,"
        "  name TEXT NOT NULL UNIQUE,"
        "  workflow TEXT NOT NULL,"
        "  status TEXT NOT NULL,"
        "  started_us INTEGER NOT NULL,"
        "  ended_us INTEGER NOT NULL DEFAULT 0,"
        "  nodes_total INTEGER NOT NULL DEFAULT 0,"
        "  nodes_done INTEGER NOT NULL DEFAULT 0,"
        "  nodes_failed INTEGER NOT NULL DEFAULT 0,"
        "  error TEXT NOT NULL DEFAULT '',"
        "  owner TEXT NOT NULL DEFAULT '',"
        "  heartbeat_us INTEGER NOT NULL DEFAULT 0,"
        "  runs INTEGER NOT NULL DEFAULT 1,"
        "  backend TEXT NOT NULL DEFAULT 'thread');"
        "CREATE INDEX executions_by_start ON executions(started_us);"
        "CREATE TABLE nodes("
        "  execution INTEGER NOT NULL REFERENCES executions(id),"
        "  path TEXT NOT NULL,"
        "  task TEXT NOT NULL,"
        "  kind INTEGER NOT NULL,"
        "  phase INTEGER NOT NULL,"
        "  attempts INTEGER NOT NULL,"
        "  started_us INTEGER NOT NULL,"
        "  ended_us INTEGER NOT NULL,"
        "  error TEXT,"
        "  outputs TEXT,"
        "  PRIMARY KEY(execution, path)) WITHOUT ROWID;"
        "CREATE TABLE cache("
        "  key TEXT PRIMARY KEY,"
        "  task TEXT NOT NULL,"
        "  version TEXT NOT NULL,"
        "  outputs TEXT NOT NULL,"
        "  created_us INTEGER NOT NULL) WITHOUT ROWID;",
        // 1 -> 2: the items of map nodes, one row per map node.
        "CREATE TABLE map_items("
        "  execution INTEGER NOT NULL REFERENCES executions(id),"
        "  path TEXT NOT NULL,"
        "  length INTEGER NOT NULL,"
        "  succeeded INTEGER NOT NULL,"
        "  failed INTEGER NOT NULL,"
        "  phases BLOB NOT NULL,"
        "  attempts TEXT NOT NULL,"
        "  errors TEXT NOT NULL,"
        "  PRIMARY KEY(execution, path)) WITHOUT ROWID;",
    };
    std::lock_guard lock(mutex_);
    auto version = [&] {
      int v = 0;
      query("PRAGMA user_version", {}, [&](sqlite3_stmt* s) { v = sqlite3_column_int(s, 0); });
      if (v > schema_version) {
        throw state_store_error("state store " + path_.string() + " has schema version " + std::to_string(v) +
                                ", newer than this Loom's " + std::to_string(schema_version) +
                                " (written by a newer Loom)");
      }
      return v;
    };
    // Up to date (the common case, and every reader's): a read, no write lock taken.
    if (version() == schema_version) return;
    // Several processes may get here at once on a new database: one migrates, under the
    // write lock (BEGIN IMMEDIATE, retried); the others find it done when they get it.
    transaction([&] {
      for (int v = version(); v < schema_version; ++v) {
        exec(steps[static_cast<std::size_t>(v)]);
        exec("PRAGMA user_version=" + std::to_string(v + 1));
      }
    });
  }

  std::optional<std::int64_t> execution_rowid(const std::string& id) {
    std::optional<std::int64_t> row;
    query("SELECT id FROM executions WHERE name=?", {id}, [&](sqlite3_stmt* s) { row = sqlite3_column_int64(s, 0); });
    return row;
  }

  std::optional<execution_record> load_execution(const std::string& id) {
    std::optional<execution_record> out;
    query(std::string(execution_columns) + " WHERE name=?", {id}, [&](sqlite3_stmt* s) { out = read_execution(s); });
    return out;
  }

  static execution_record read_execution(sqlite3_stmt* s) {
    execution_record e;
    e.id = text(s, 0);
    e.workflow = text(s, 1);
    e.status = text(s, 2);
    e.started_us = sqlite3_column_int64(s, 3);
    e.ended_us = sqlite3_column_int64(s, 4);
    e.nodes_total = sqlite3_column_int64(s, 5);
    e.nodes_done = sqlite3_column_int64(s, 6);
    e.nodes_failed = sqlite3_column_int64(s, 7);
    e.error = text(s, 8);
    e.owner = text(s, 9);
    e.heartbeat_us = sqlite3_column_int64(s, 10);
    e.runs = sqlite3_column_int64(s, 11);
    e.backend = text(s, 12);
    return e;
  }

  /// Whether the owner of a running execution may still be at it: a process on this
  /// host that exists, or an owner elsewhere that wrote recently.
  static bool owner_alive(const execution_record& e, std::chrono::seconds stale_after) {
    const auto colon = e.owner.rfind(':');
    char host[256] = {};
    ::gethostname(host, sizeof host - 1);
    if (colon != std::string::npos && e.owner.substr(0, colon) == host) {
      const long pid = std::strtol(e.owner.c_str() + colon + 1, nullptr, 10);
      return pid > 0 && (::kill(static_cast<pid_t>(pid), 0) == 0 || errno == EPERM);
    }
    return now_us() - e.heartbeat_us < std::chrono::duration_cast<std::chrono::microseconds>(stale_after).count();
  }

  static std::string text(sqlite3_stmt* s, int column) {
    const auto* p = sqlite3_column_text(s, column);
    return p != nullptr ? std::string(reinterpret_cast<const char*>(p), static_cast<std::size_t>(sqlite3_column_bytes(s, column)))
                        : std::string();
  }

  [[noreturn]] void fail(const std::string& what) const {
    const int code = sqlite3_errcode(db_);
    const std::string message = sqlite3_errmsg(db_);
    if (code == SQLITE_CORRUPT || code == SQLITE_NOTADB) {
      throw state_store_error("state store " + path_.string() + " is damaged: " + message + " (" + what + ")");
    }
    throw state_store_error("state store " + path_.string() + ": " + message + " (" + what + ")");
  }

  static bool busy(int rc) { return (rc & 0xff) == SQLITE_BUSY; }

  /// Runs `attempt` (which returns an SQLite result code) again while it says the
  /// database is busy, with a growing pause (1 ms .. 100 ms), for up to busy_budget;
  /// returns its last result. Only for what is safe to run again after SQLITE_BUSY: a
  /// read that delivered nothing, BEGIN IMMEDIATE, COMMIT, a connection setting. The busy
  /// handler is not enough: SQLite returns SQLITE_BUSY without calling it when waiting
  /// could deadlock, and when another connection switches the file to WAL mode.
  template <class Attempt>
  static int retry_busy(Attempt&& attempt) {
    const auto deadline = std::chrono::steady_clock::now() + busy_budget;
    auto pause = std::chrono::microseconds(1000);
    while (true) {
      const int rc = attempt();
      if (!busy(rc) || std::chrono::steady_clock::now() >= deadline) return rc;
      std::this_thread::sleep_for(pause);
      pause = std::min(pause * 2, std::chrono::microseconds(100'000));
    }
  }

  void exec(const std::string& sql) {
    if (sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, nullptr) != SQLITE_OK) fail(sql.substr(0, 60));
  }

  /// exec() for a statement that may be run again after SQLITE_BUSY.
  void exec_retrying(const std::string& sql) {
    if (retry_busy([&] { return sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, nullptr); }) != SQLITE_OK) {
      fail(sql.substr(0, 60));
    }
  }

  /// The journal mode as a pragma returns it ("wal", "delete", ...).
  std::string journal_mode(const char* sql) {
    std::string mode;
    const int rc = retry_busy([&] {
      sqlite3_stmt* s = nullptr;
      int r = sqlite3_prepare_v2(db_, sql, -1, &s, nullptr);
      if (r == SQLITE_OK) {
        r = sqlite3_step(s);
        if (r == SQLITE_ROW) {
          mode = text(s, 0);
          r = SQLITE_OK;
        }
      }
      sqlite3_finalize(s);  // keeps the error of the step for fail()
      return r == SQLITE_DONE ? SQLITE_OK : r;
    });
    if (rc != SQLITE_OK) fail(sql);
    for (auto& c : mode) c = static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
    return mode;
  }

  /// Puts the database in WAL mode unless it is already (the mode is kept in the file:
  /// every opener but the first finds it so, and takes no write lock). Switching needs the
  /// whole file for a moment; while another connection switches it, checkpoints or
  /// writes, the switch fails at once with SQLITE_BUSY, or leaves the mode as it was,
  /// so it is tried again until busy_budget is spent.
  void use_wal() {
    const auto deadline = std::chrono::steady_clock::now() + busy_budget;
    auto pause = std::chrono::microseconds(1000);
    while (journal_mode("PRAGMA journal_mode") != "wal") {
      if (journal_mode("PRAGMA journal_mode=WAL") == "wal") return;
      if (std::chrono::steady_clock::now() >= deadline) {
        throw state_store_error("state store " + path_.string() + ": cannot put the database in WAL mode (still " +
                                journal_mode("PRAGMA journal_mode") + " after " +
                                std::to_string(busy_budget.count() / 1000) + " s)");
      }
      std::this_thread::sleep_for(pause);
      pause = std::min(pause * 2, std::chrono::microseconds(100'000));
    }
  }

  sqlite3_stmt* prepare(const std::string& sql) {
    for (auto& [text, stmt] : statements_) {
      if (text == sql) return stmt;
    }
    sqlite3_stmt* stmt = nullptr;
    // Preparing may read the schema: retried like a read.
    if (retry_busy([&] { return sqlite3_prepare_v2(db_, sql.c_str(), -1, &stmt, nullptr); }) != SQLITE_OK) {
      sqlite3_finalize(stmt);
      fail(sql.substr(0, 60));
    }
    statements_.emplace_back(sql, stmt);
    return stmt;
  }

  void bind_all(sqlite3_stmt* s, const std::vector<value>& values) {
    sqlite3_clear_bindings(s);
    for (std::size_t i = 0; i < values.size(); ++i) {
      const int at = static_cast<int>(i) + 1;
      int rc = SQLITE_OK;
      if (const auto* n = std::get_if<std::int64_t>(&values[i])) {
        rc = sqlite3_bind_int64(s, at, *n);
      } else if (const auto* t = std::get_if<std::string>(&values[i])) {
        rc = sqlite3_bind_text(s, at, t->data(), static_cast<int>(t->size()), SQLITE_TRANSIENT);
      } else {
        rc = sqlite3_bind_null(s, at);
      }
      if (rc != SQLITE_OK) fail("bind");
    }
  }

  void step_done(sqlite3_stmt* s) {
    const int rc = sqlite3_step(s);
    if (rc != SQLITE_DONE && rc != SQLITE_ROW) {
      sqlite3_reset(s);
      fail(sqlite3_sql(s) != nullptr ? std::string(sqlite3_sql(s)).substr(0, 60) : "step");
    }
    sqlite3_reset(s);
  }

  void run(const std::string& sql, const std::vector<value>& values) {
    sqlite3_stmt* s = prepare(sql);
    sqlite3_reset(s);
    bind_all(s, values);
    step_done(s);
  }

  template <class Row>
  void query(const std::string& sql, const std::vector<value>& values, Row&& row) {
    sqlite3_stmt* s = prepare(sql);
    sqlite3_reset(s);
    bind_all(s, values);
    // Busy before the first row: nothing seen yet, so the read starts again.
    int rc = retry_busy([&] {
      sqlite3_reset(s);
      return sqlite3_step(s);
    });
    while (rc == SQLITE_ROW) {
      row(s);
      rc = sqlite3_step(s);
    }
    if (rc != SQLITE_DONE) {
      sqlite3_reset(s);
      fail(sql.substr(0, 60));
    }
    sqlite3_reset(s);
  }

  /// Runs `body` in one write transaction (BEGIN IMMEDIATE: takes the write lock at
  /// once, so two runs never deadlock upgrading a read); rolls back if it throws.
  template <class Body>
  void transaction(Body&& body) {
    if (depth_++ > 0) {
      struct guard {
        int& d;
        ~guard() { --d; }
      } g{depth_};
      body();
      return;
    }
    try {
      // BEGIN IMMEDIATE waits in the busy handler for the write lock, but can still
      // come back busy (a checkpoint, a switch to WAL mode): nothing is done yet, so it
      // is tried again. So is a busy COMMIT (the transaction stays open when it is).
      exec_retrying("BEGIN IMMEDIATE");
      body();
      exec_retrying("COMMIT");
      --depth_;
    } catch (...) {
      --depth_;
      sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
      throw;
    }
  }

  std::filesystem::path path_;
  sqlite3* db_ = nullptr;
  std::recursive_mutex mutex_;
  std::vector<std::pair<std::string, sqlite3_stmt*>> statements_;
  int depth_ = 0;
};

}  // namespace loom
