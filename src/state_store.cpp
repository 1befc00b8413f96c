// src/state_store.cpp — the state store (loom/state_store.hpp): executions, node rows,
// map items and the cache index in one SQLite database, and its busy and WAL handling.
#include <loom/state_store.hpp>

#include <loom/detail/codec.hpp>
#include <nlohmann/json.hpp>
#include <loom/object_store.hpp>

#include <algorithm>
#include <charconv>
#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <thread>
#include <unordered_set>

#include <fcntl.h>
#include <sqlite3.h>
#include <unistd.h>

namespace loom {

// ---- the store's private templates (first: the functions below instantiate them) ----

template <class Attempt>
LOOM_FUNC int state_store::retry_busy(Attempt&& attempt) {
  const auto deadline = std::chrono::steady_clock::now() + budget_;
  auto pause = std::chrono::microseconds(1000);
  while (true) {
    const int rc = attempt();
    if (!busy(rc) || std::chrono::steady_clock::now() >= deadline) return rc;
    std::this_thread::sleep_for(pause);
    pause = std::min(pause * 2, std::chrono::microseconds(100'000));
  }
}

template <class Row>
LOOM_FUNC void state_store::query(const std::string& sql, const std::vector<value>& values, Row&& row) {
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

template <class Body>
LOOM_FUNC void state_store::transaction(Body&& body) {
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
    changes_.bump();  // after the commit: a watcher that sees the count sees the rows
  } catch (...) {
    --depth_;
    sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
    throw;
  }
}

// ---- records ----

LOOM_FUNC std::string_view phase_name(node_phase p) {
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

LOOM_FUNC int map_items_record::phase(std::size_t k) const {
  if (k / 4 >= phases.size()) return not_done;
  return (static_cast<unsigned char>(phases[k / 4]) >> (2 * (k % 4))) & 3;
}

LOOM_FUNC void map_items_record::set_phase(std::size_t k, int p) {
  auto byte = static_cast<unsigned char>(phases[k / 4]);
  byte = static_cast<unsigned char>((byte & ~(3U << (2 * (k % 4)))) | ((static_cast<unsigned>(p) & 3U) << (2 * (k % 4))));
  phases[k / 4] = static_cast<char>(byte);
}

LOOM_FUNC std::int64_t now_us() {
  return std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// ---- state_store ----

LOOM_FUNC state_store::state_store(std::filesystem::path path, bool create) : path_(std::move(path)) {
  if (!create && !std::filesystem::exists(path_)) throw state_store_error("state store " + path_.string() + " does not exist");
  const auto mode = detail::file_mode_in(path_.has_parent_path() ? path_.parent_path() : ".");
  if (create) {
    // Created here with the permissions of its directory (SQLite would make it 0644);
    // SQLite gives the -wal and -shm files the database's. An empty file is an empty
    // database. EEXIST: there is one already, or another process just made it.
    const int fd = ::open(path_.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, static_cast<mode_t>(mode));
    if (fd >= 0) ::close(fd);
  }
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
    // (Made with the database's mode, as SQLite makes its -wal and -shm.)
    changes_ = detail::change_counter::for_writing(path_, mode);
    migrate();
  } catch (...) {
    close();  // no destructor runs for a constructor that throws
    throw;
  }
}

LOOM_FUNC state_store::state_store(std::filesystem::path path, reading how) : path_(std::move(path)) {
  if (!std::filesystem::exists(path_)) throw state_store_error("state store " + path_.string() + " does not exist");
  // A URI, so that the mode and immutability travel with the name: its path escaped
  // where a URI would read it otherwise.
  // ("file://" and an absolute path: a path starting with "//" is not an authority.)
  std::string uri = "file://";
  for (const char c : std::filesystem::absolute(path_).string()) {
    if (c == '%' || c == '?' || c == '#') {
      static const char hex[] = "0123456789ABCDEF";
      uri += '%';
      uri += hex[static_cast<unsigned char>(c) >> 4U];
      uri += hex[static_cast<unsigned char>(c) & 15U];
    } else {
      uri += c;
    }
  }
  uri += how == reading::immutable ? "?mode=ro&immutable=1" : "?mode=ro";
  const int flags = SQLITE_OPEN_READONLY | SQLITE_OPEN_URI | SQLITE_OPEN_FULLMUTEX;
  if (sqlite3_open_v2(uri.c_str(), &db_, flags, nullptr) != SQLITE_OK) {
    const std::string why = db_ != nullptr ? sqlite3_errmsg(db_) : "out of memory";
    sqlite3_close(db_);
    db_ = nullptr;
    throw state_store_error("state store " + path_.string() + ": cannot open for reading: " + why);
  }
  budget_ = reader_busy_budget;
  try {
    sqlite3_busy_timeout(db_, static_cast<int>(budget_.count()));
    std::lock_guard lock(mutex_);
    int version = 0;
    query("PRAGMA user_version", {}, [&](sqlite3_stmt* s) { version = sqlite3_column_int(s, 0); });
    if (version != schema_version) {
      throw state_store_error("state store " + path_.string() + " has schema version " + std::to_string(version) +
                              ", this Loom reads " + std::to_string(schema_version) +
                              (version > schema_version ? " (written by a newer Loom)"
                                                        : " (run any loom command that writes it, to migrate it)"));
    }
  } catch (...) {
    close();
    throw;
  }
}

LOOM_FUNC void state_store::check() {
  std::lock_guard lock(mutex_);
  std::string problems;
  query("PRAGMA quick_check", {}, [&](sqlite3_stmt* s) {
    const std::string line = text(s, 0);
    if (line != "ok") problems += (problems.empty() ? "" : "; ") + line;
  });
  if (!problems.empty()) throw state_store_error("state store " + path_.string() + " is damaged: " + problems);
}

// ---- executions ----

LOOM_FUNC void state_store::create_execution(const execution_record& e) {
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

LOOM_FUNC execution_record state_store::claim_execution(const execution_record& fresh,
                                                       std::chrono::seconds stale_after) {
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

LOOM_FUNC void state_store::finish_execution(const std::string& id, const std::string& status,
                                          const std::string& error_message) {
  std::lock_guard lock(mutex_);
  transaction([&] {
    run("UPDATE executions SET status=?, error=?, ended_us=?, heartbeat_us=? WHERE name=?",
        {status, error_message, now_us(), now_us(), id});
  });
}

LOOM_FUNC std::optional<execution_record> state_store::execution(const std::string& id) {
  std::lock_guard lock(mutex_);
  return load_execution(id);
}

LOOM_FUNC std::vector<execution_record> state_store::executions() {
  std::lock_guard lock(mutex_);
  std::vector<execution_record> out;
  query(std::string(execution_columns) + " ORDER BY started_us DESC, name DESC", {},
        [&](sqlite3_stmt* s) { out.push_back(read_execution(s)); });
  return out;
}

LOOM_FUNC std::vector<execution_record> state_store::executions_started_before(std::int64_t started_us) {
  std::lock_guard lock(mutex_);
  std::vector<execution_record> out;
  query(std::string(execution_columns) + " WHERE started_us < ? ORDER BY started_us, name", {started_us},
        [&](sqlite3_stmt* s) { out.push_back(read_execution(s)); });
  return out;
}

LOOM_FUNC bool state_store::owned_by_this_host(const execution_record& e) {
  const auto colon = e.owner.rfind(':');
  char host[256] = {};
  ::gethostname(host, sizeof host - 1);
  return colon != std::string::npos && e.owner.substr(0, colon) == host;
}

LOOM_FUNC void state_store::delete_execution(const std::string& id) {
  std::lock_guard lock(mutex_);
  transaction([&] {
    if (const auto row = execution_rowid(id)) {
      run("DELETE FROM nodes WHERE execution=?", {*row});
      run("DELETE FROM map_items WHERE execution=?", {*row});
      run("DELETE FROM subdags WHERE execution=?", {*row});
      run("DELETE FROM executions WHERE id=?", {*row});
    }
  });
}

// ---- nodes ----

LOOM_FUNC void state_store::write_nodes(const std::string& id, const std::vector<node_record>& nodes,
                                     std::int64_t done, std::int64_t failed, std::int64_t added,
                                     const std::vector<subdag_record>& subdags) {
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
    if (!subdags.empty()) {
      sqlite3_stmt* d = prepare(
          "INSERT INTO subdags(execution, path, prefix, length, tasks, task_of, phases, updated_us)"
          " VALUES(?,?,?,?,?,?,?,?) ON CONFLICT(execution, path) DO UPDATE SET prefix=excluded.prefix,"
          " length=excluded.length, tasks=excluded.tasks, task_of=excluded.task_of, phases=excluded.phases,"
          " updated_us=excluded.updated_us");
      for (const auto& g : subdags) {
        json tasks = json::array();
        for (const auto& [task, kind] : g.tasks) tasks.push_back(json::array({task, kind}));
        const std::string tasks_text = tasks.dump();
        sqlite3_reset(d);
        auto bind_text = [&](int at, const std::string& t) {
          return sqlite3_bind_text(d, at, t.data(), static_cast<int>(t.size()), SQLITE_STATIC) == SQLITE_OK;
        };
        auto bind_blob = [&](int at, const std::string& b) {
          return sqlite3_bind_blob(d, at, b.data(), static_cast<int>(b.size()), SQLITE_STATIC) == SQLITE_OK;
        };
        const bool bound = sqlite3_bind_int64(d, 1, *row) == SQLITE_OK && bind_text(2, g.path) &&
                           bind_text(3, g.prefix) && sqlite3_bind_int64(d, 4, g.length) == SQLITE_OK &&
                           bind_text(5, tasks_text) && bind_blob(6, g.task_of) && bind_blob(7, g.phases) &&
                           sqlite3_bind_int64(d, 8, g.updated_us) == SQLITE_OK;
        if (!bound) fail("bind");
        step_done(d);
        sqlite3_clear_bindings(d);
      }
    }
    run("UPDATE executions SET nodes_done=nodes_done+?, nodes_failed=nodes_failed+?, nodes_total=nodes_total+?,"
        " heartbeat_us=? WHERE id=?",
        {done, failed, added, now_us(), *row});
  });
}

LOOM_FUNC std::size_t subdag_record::task_index(std::size_t k) const {
  if (2 * k + 1 >= task_of.size()) return 0;
  return static_cast<unsigned char>(task_of[2 * k]) | (static_cast<std::size_t>(static_cast<unsigned char>(task_of[2 * k + 1])) << 8U);
}

LOOM_FUNC std::vector<subdag_record> state_store::subdags(const std::string& id) {
  std::lock_guard lock(mutex_);
  std::vector<subdag_record> out;
  const auto row = execution_rowid(id);
  if (!row) return out;
  query("SELECT path, prefix, length, tasks, task_of, phases, updated_us FROM subdags WHERE execution=? ORDER BY path",
        {*row}, [&](sqlite3_stmt* s) {
          subdag_record g;
          g.path = text(s, 0);
          g.prefix = text(s, 1);
          g.length = sqlite3_column_int64(s, 2);
          auto blob = [&](int column) {
            const auto* bytes = static_cast<const char*>(sqlite3_column_blob(s, column));
            return std::string(bytes != nullptr ? bytes : "", static_cast<std::size_t>(sqlite3_column_bytes(s, column)));
          };
          // A damaged row is read as far as it makes sense: tasks that are not [name, kind]
          // pairs are left out, and the row covers the nodes its blobs hold.
          const json tasks = json::parse(text(s, 3), nullptr, false);
          if (tasks.is_array()) {
            for (const auto& t : tasks) {
              if (t.is_array() && t.size() == 2 && t[0].is_string() && t[1].is_number_integer()) {
                g.tasks.emplace_back(t[0].get<std::string>(), t[1].get<int>());
              }
            }
          }
          g.task_of = blob(4);
          g.phases = blob(5);
          g.updated_us = sqlite3_column_int64(s, 6);
          g.length = std::clamp<std::int64_t>(g.length, 0,
                                              static_cast<std::int64_t>(std::min(g.phases.size(), g.task_of.size() / 2)));
          out.push_back(std::move(g));
        });
  return out;
}

LOOM_FUNC std::vector<std::uint32_t> state_store::node_rows_under(const std::string& id, const std::string& prefix) {
  std::lock_guard lock(mutex_);
  std::vector<std::uint32_t> out;
  const auto row = execution_rowid(id);
  if (!row) return out;
  // The paths from `prefix` up to the next string that does not start with it.
  std::string end = prefix;
  end.push_back('\x7f');
  query("SELECT path FROM nodes WHERE execution=? AND path>=? AND path<?", {*row, prefix, end}, [&](sqlite3_stmt* s) {
    const std::string path = text(s, 0);
    std::uint32_t k = 0;
    const char* first = path.data() + prefix.size();
    const char* last = path.data() + path.size();
    const auto [stop, ec] = std::from_chars(first, last, k);
    if (ec == std::errc() && stop == last && first != last) out.push_back(k);
  });
  return out;
}

LOOM_FUNC std::vector<node_record> state_store::nodes(const std::string& id) {
  std::vector<node_record> out = node_rows(id);
  const auto groups = subdags(id);
  if (groups.empty()) return out;
  // The sub-DAGs' nodes that have no row of their own, then all of them in path order.
  std::unordered_set<std::string_view> with_rows;
  for (const auto& n : out) with_rows.insert(n.path);
  std::vector<node_record> compact;
  for (const auto& g : groups) {
    for (std::size_t k = 0; k < static_cast<std::size_t>(g.length); ++k) {
      const int code = static_cast<unsigned char>(g.phases[k]);
      if (code == 0 || code > 1 + static_cast<int>(node_phase::skipped)) continue;  // not started (or damaged)
      std::string path = g.prefix + std::to_string(k);
      if (with_rows.count(path) != 0) continue;
      node_record n;
      n.path = std::move(path);
      const std::size_t t = g.task_index(k);
      if (t < g.tasks.size()) {
        n.task = g.tasks[t].first;
        n.kind = g.tasks[t].second;
      }
      n.phase = static_cast<node_phase>(code - 1);
      n.attempts = n.phase == node_phase::cached || n.phase == node_phase::skipped ? 0 : 1;
      compact.push_back(std::move(n));
    }
  }
  with_rows.clear();
  out.insert(out.end(), std::make_move_iterator(compact.begin()), std::make_move_iterator(compact.end()));
  std::sort(out.begin(), out.end(), [](const node_record& a, const node_record& b) { return a.path < b.path; });
  return out;
}

LOOM_FUNC std::vector<node_record> state_store::node_rows(const std::string& id) {
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

LOOM_FUNC void state_store::write_map_items(const std::string& id, const map_items_record& items) {
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

LOOM_FUNC std::vector<map_items_record> state_store::map_items(const std::string& id) {
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
          // A damaged row's counts are made possible, so that every reader can do its
          // arithmetic and loops on them (fuzz_map_items: a length of INT64_MAX and
          // negative counts overflowed): a row covers at most the items its phases hold
          // (4 per byte, as written), and its counts add up to at most its length.
          const auto covered = static_cast<std::int64_t>(m.phases.size()) * 4;
          m.length = std::clamp<std::int64_t>(m.length, 0, covered);
          m.succeeded = std::clamp<std::int64_t>(m.succeeded, 0, m.length);
          m.failed = std::clamp<std::int64_t>(m.failed, 0, m.length - m.succeeded);
          out.push_back(std::move(m));
        });
  return out;
}

// ---- the cache ----

LOOM_FUNC std::optional<cache_record> state_store::cached(const std::string& key) {
  std::lock_guard lock(mutex_);
  std::optional<cache_record> out;
  query("SELECT key, task, version, outputs, created_us FROM cache WHERE key=?", {key}, [&](sqlite3_stmt* s) {
    out = cache_record{text(s, 0), text(s, 1), text(s, 2), text(s, 3), sqlite3_column_int64(s, 4)};
  });
  return out;
}

LOOM_FUNC void state_store::put_cache(const cache_record& c) {
  std::lock_guard lock(mutex_);
  transaction([&] {
    run("INSERT INTO cache(key, task, version, outputs, created_us) VALUES(?,?,?,?,?) ON CONFLICT(key) DO UPDATE"
        " SET outputs=excluded.outputs, created_us=excluded.created_us",
        {c.key, c.task, c.version, c.outputs, c.created_us});
  });
}

LOOM_FUNC std::uintmax_t state_store::file_bytes() const {
  std::uintmax_t total = 0;
  for (const char* suffix : {"", "-wal"}) {
    std::error_code ec;
    const auto n = std::filesystem::file_size(path_.string() + suffix, ec);
    if (!ec) total += n;
  }
  return total;
}

LOOM_FUNC std::string state_store::this_owner() {
  char host[256] = {};
  ::gethostname(host, sizeof host - 1);
  return std::string(host) + ":" + std::to_string(::getpid());
}

// ---- private ----

LOOM_FUNC void state_store::close() {
  for (auto& [sql, stmt] : statements_) sqlite3_finalize(stmt);
  statements_.clear();
  if (db_ != nullptr) sqlite3_close(db_);
  db_ = nullptr;
}

LOOM_FUNC void state_store::migrate() {
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
      // 2 -> 3: the nodes of large dynamic sub-DAGs, one row per sub-DAG.
      "CREATE TABLE subdags("
      "  execution INTEGER NOT NULL REFERENCES executions(id),"
      "  path TEXT NOT NULL,"
      "  prefix TEXT NOT NULL,"
      "  length INTEGER NOT NULL,"
      "  tasks TEXT NOT NULL,"
      "  task_of BLOB NOT NULL,"
      "  phases BLOB NOT NULL,"
      "  updated_us INTEGER NOT NULL,"
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

LOOM_FUNC std::optional<std::int64_t> state_store::execution_rowid(const std::string& id) {
  std::optional<std::int64_t> row;
  query("SELECT id FROM executions WHERE name=?", {id}, [&](sqlite3_stmt* s) { row = sqlite3_column_int64(s, 0); });
  return row;
}

LOOM_FUNC std::optional<execution_record> state_store::load_execution(const std::string& id) {
  std::optional<execution_record> out;
  query(std::string(execution_columns) + " WHERE name=?", {id}, [&](sqlite3_stmt* s) { out = read_execution(s); });
  return out;
}

LOOM_FUNC execution_record state_store::read_execution(sqlite3_stmt* s) {
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

LOOM_FUNC bool state_store::owner_alive(const execution_record& e, std::chrono::seconds stale_after) {
  const auto colon = e.owner.rfind(':');
  char host[256] = {};
  ::gethostname(host, sizeof host - 1);
  if (colon != std::string::npos && e.owner.substr(0, colon) == host) {
    const long pid = std::strtol(e.owner.c_str() + colon + 1, nullptr, 10);
    return pid > 0 && (::kill(static_cast<pid_t>(pid), 0) == 0 || errno == EPERM);
  }
  return now_us() - e.heartbeat_us < std::chrono::duration_cast<std::chrono::microseconds>(stale_after).count();
}

LOOM_FUNC std::string state_store::text(sqlite3_stmt* s, int column) {
  const auto* p = sqlite3_column_text(s, column);
  return p != nullptr ? std::string(reinterpret_cast<const char*>(p), static_cast<std::size_t>(sqlite3_column_bytes(s, column)))
                      : std::string();
}

LOOM_FUNC void state_store::fail(const std::string& what) const {
  const int code = sqlite3_errcode(db_);
  std::string message = sqlite3_errmsg(db_);
  // SQLite's words for a failed write or sync ("disk I/O error", "database or disk is
  // full") do not say which: the system's error does ("No space left on device").
  if (const int system = sqlite3_system_errno(db_);
      system != 0 && ((code & 0xff) == SQLITE_IOERR || (code & 0xff) == SQLITE_FULL || (code & 0xff) == SQLITE_CANTOPEN)) {
    message += std::string(": ") + std::strerror(system);
  }
  if (code == SQLITE_CORRUPT || code == SQLITE_NOTADB) {
    throw state_store_error("state store " + path_.string() + " is damaged: " + message + " (" + what + ")");
  }
  throw state_store_error("state store " + path_.string() + ": " + message + " (" + what + ")");
}

LOOM_FUNC bool state_store::busy(int rc) { return (rc & 0xff) == SQLITE_BUSY; }

LOOM_FUNC void state_store::exec(const std::string& sql) {
  if (sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, nullptr) != SQLITE_OK) fail(sql.substr(0, 60));
}

LOOM_FUNC void state_store::exec_retrying(const std::string& sql) {
  if (retry_busy([&] { return sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, nullptr); }) != SQLITE_OK) {
    fail(sql.substr(0, 60));
  }
}

LOOM_FUNC std::string state_store::journal_mode(const char* sql) {
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

LOOM_FUNC void state_store::use_wal() {
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

LOOM_FUNC sqlite3_stmt* state_store::prepare(const std::string& sql) {
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

LOOM_FUNC void state_store::bind_all(sqlite3_stmt* s, const std::vector<value>& values) {
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

LOOM_FUNC void state_store::step_done(sqlite3_stmt* s) {
  const int rc = sqlite3_step(s);
  if (rc != SQLITE_DONE && rc != SQLITE_ROW) {
    sqlite3_reset(s);
    fail(sqlite3_sql(s) != nullptr ? std::string(sqlite3_sql(s)).substr(0, 60) : "step");
  }
  sqlite3_reset(s);
}

LOOM_FUNC void state_store::run(const std::string& sql, const std::vector<value>& values) {
  sqlite3_stmt* s = prepare(sql);
  sqlite3_reset(s);
  bind_all(s, values);
  step_done(s);
}

}  // namespace loom
