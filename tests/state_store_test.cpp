// The state store (SQLite): its schema version and migration check, node rows written
// in batches, a damaged database reported with its file name, and several writers.
#include <loom/loom.hpp>
#include <loom/state_store.hpp>
#include <loom/object_store.hpp>

#include <catch2/catch.hpp>

#include "test_files.hpp"

#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include <sqlite3.h>

namespace {

namespace fs = std::filesystem;
using loom_test::scratch_dir;
using loom_test::slurp;
using loom_test::spit;

loom::execution_record new_execution(const std::string& id) {
  loom::execution_record e;
  e.id = id;
  e.workflow = "wf";
  e.status = "running";
  e.started_us = loom::now_us();
  e.owner = loom::state_store::this_owner();
  e.heartbeat_us = e.started_us;
  return e;
}

int user_version(const fs::path& db) {
  sqlite3* h = nullptr;
  REQUIRE(sqlite3_open(db.c_str(), &h) == SQLITE_OK);
  sqlite3_stmt* s = nullptr;
  REQUIRE(sqlite3_prepare_v2(h, "PRAGMA user_version", -1, &s, nullptr) == SQLITE_OK);
  REQUIRE(sqlite3_step(s) == SQLITE_ROW);
  const int v = sqlite3_column_int(s, 0);
  sqlite3_finalize(s);
  sqlite3_close(h);
  return v;
}

void set_user_version(const fs::path& db, int v) {
  sqlite3* h = nullptr;
  REQUIRE(sqlite3_open(db.c_str(), &h) == SQLITE_OK);
  REQUIRE(sqlite3_exec(h, ("PRAGMA user_version=" + std::to_string(v)).c_str(), nullptr, nullptr, nullptr) == SQLITE_OK);
  sqlite3_close(h);
}

inline constexpr auto inc = loom::task<"state_inc">([](std::int64_t x) { return x + 1; }).with_inputs("x");
inline constexpr auto incs = loom::dynamic<"state_incs">([](loom::dynamic_builder& wf, std::int64_t n) {
                               std::vector<loom::promise<std::int64_t>> out;
                               for (std::int64_t i = 0; i < n; ++i) out.push_back(wf(inc, i));
                               return out;
                             }).with_inputs("n");

}  // namespace

TEST_CASE("state store: a new database has the current schema, a newer one is refused") {
  scratch_dir dir("state-store-test");
  const auto db = dir.path / "loom.db";
  { loom::state_store states(db); }
  CHECK(user_version(db) == loom::state_store::schema_version);
  { loom::state_store again(db); }  // opening an up-to-date database changes nothing
  CHECK(user_version(db) == loom::state_store::schema_version);
  set_user_version(db, loom::state_store::schema_version + 1);
  CHECK_THROWS_WITH(loom::state_store(db), Catch::Contains(db.string()) && Catch::Contains("has schema version 4") &&
                                               Catch::Contains("newer than this Loom's 3"));
  CHECK_THROWS_WITH(loom::state_store(dir.path / "missing.db", /*create=*/false), Catch::Contains("does not exist"));
}

TEST_CASE("state store: a schema 1 database (before map items and sub-DAG rows) is migrated to the current schema") {
  scratch_dir dir("state-store-test");
  const auto db = dir.path / "loom.db";
  {
    loom::state_store states(db);
    states.create_execution(new_execution("old"));
  }
  {  // what Loom with schema 1 left: no map_items table
    sqlite3* h = nullptr;
    REQUIRE(sqlite3_open(db.c_str(), &h) == SQLITE_OK);
    REQUIRE(sqlite3_exec(h, "DROP TABLE map_items", nullptr, nullptr, nullptr) == SQLITE_OK);
    REQUIRE(sqlite3_exec(h, "DROP TABLE subdags", nullptr, nullptr, nullptr) == SQLITE_OK);
    sqlite3_close(h);
  }
  set_user_version(db, 1);
  loom::state_store states(db);
  CHECK(user_version(db) == loom::state_store::schema_version);
  CHECK(states.execution("old"));  // kept
  CHECK(states.map_items("old").empty());
  loom::map_items_record one;
  one.path = "n0";
  one.length = 1;
  one.succeeded = 1;
  one.phases = std::string(1, '\x01');
  states.write_map_items("old", one);
  CHECK(states.map_items("old").size() == 1);
}

TEST_CASE("state store: a map node's items are one row: packed phases, sparse attempts and errors") {
  scratch_dir dir("state-store-test");
  loom::state_store states(dir.path / "loom.db");
  states.create_execution(new_execution("ex"));
  loom::map_items_record m;
  m.path = "n0/dn1";
  m.length = 6;
  m.succeeded = 4;
  m.failed = 1;
  // items 0..5: succeeded, succeeded, failed, not done, succeeded, succeeded
  m.phases = std::string{static_cast<char>(0b00'10'01'01), static_cast<char>(0b01'01)};
  m.attempts = R"({"2":3})";
  m.errors = R"({"2":"boom"})";
  states.write_map_items("ex", m);
  m.succeeded = 5;  // written again: replaced, not added
  states.write_map_items("ex", m);
  const auto rows = states.map_items("ex");
  REQUIRE(rows.size() == 1);
  CHECK(rows[0].path == "n0/dn1");
  CHECK(rows[0].length == 6);
  CHECK(rows[0].succeeded == 5);
  CHECK(rows[0].phases.size() == 2);  // 6 items in 2 bytes
  CHECK(rows[0].phase(0) == loom::map_items_record::succeeded_item);
  CHECK(rows[0].phase(2) == loom::map_items_record::failed_item);
  CHECK(rows[0].phase(3) == loom::map_items_record::not_done);
  CHECK(rows[0].phase(5) == loom::map_items_record::succeeded_item);
  CHECK(rows[0].phase(99) == loom::map_items_record::not_done);
  CHECK(rows[0].errors == R"({"2":"boom"})");
  CHECK(rows[0].attempts == R"({"2":3})");
}

TEST_CASE("state store: a damaged map item row is read with possible counts (found by fuzz_map_items)") {
  scratch_dir dir("state-store-test");
  const auto db = dir.path / "loom.db";
  loom::state_store states(db);
  states.create_execution(new_execution("ex"));
  loom::map_items_record m;
  m.path = "n0";
  m.length = 6;
  m.phases = std::string(2, '\0');
  states.write_map_items("ex", m);
  // What the fuzzer found: counts no run writes, which overflowed readers' arithmetic.
  struct damage {
    const char* set;
    std::int64_t length, succeeded, failed;
  };
  for (const auto& d : {damage{"length=9223372036854775807, succeeded=-1, failed=-9223372036854775808", 8, 0, 0},
                        damage{"length=-5, succeeded=3, failed=2", 0, 0, 0},
                        damage{"length=6, succeeded=5, failed=4", 6, 5, 1},
                        damage{"length=6, succeeded=-3, failed=9223372036854775807", 6, 0, 6}}) {
    sqlite3* h = nullptr;
    REQUIRE(sqlite3_open(db.c_str(), &h) == SQLITE_OK);
    REQUIRE(sqlite3_exec(h, (std::string("UPDATE map_items SET ") + d.set).c_str(), nullptr, nullptr, nullptr) == SQLITE_OK);
    sqlite3_close(h);
    INFO(d.set);
    const auto rows = states.map_items("ex");
    REQUIRE(rows.size() == 1);
    CHECK(rows[0].length == d.length);  // at most the 8 items its 2 bytes of phases hold
    CHECK(rows[0].succeeded == d.succeeded);
    CHECK(rows[0].failed == d.failed);
  }
}

TEST_CASE("state store: node events collapse into rows, attempts add up across batches") {
  scratch_dir dir("state-store-test");
  loom::state_store states(dir.path / "loom.db");
  states.create_execution(new_execution("ex"));
  CHECK_THROWS_WITH(states.create_execution(new_execution("ex")), Catch::Contains("execution ex already exists"));
  loom::node_record started;
  started.path = "n0";
  started.task = "t";
  started.attempts = 1;
  started.started_us = 100;
  states.write_nodes("ex", {started}, 0, 0, 2);
  loom::node_record done = started;
  done.phase = loom::node_phase::succeeded;
  done.attempts = 0;  // a later batch: the start was counted already
  done.started_us = 0;
  done.ended_us = 200;
  states.write_nodes("ex", {done}, 1, 0, 0);
  const auto nodes = states.nodes("ex");
  REQUIRE(nodes.size() == 1);
  CHECK(nodes[0].attempts == 1);
  CHECK(nodes[0].started_us == 100);
  CHECK(nodes[0].ended_us == 200);
  CHECK(nodes[0].phase == loom::node_phase::succeeded);
  const auto e = states.execution("ex");
  CHECK(e->nodes_total == 2);
  CHECK(e->nodes_done == 1);
  states.finish_execution("ex", "succeeded", "");
  CHECK(states.execution("ex")->status == "succeeded");
  CHECK(states.execution("ex")->ended_us > 0);
  loom::map_items_record empty;
  empty.path = "n1";
  states.write_map_items("ex", empty);
  states.delete_execution("ex");
  CHECK_FALSE(states.execution("ex").has_value());
  CHECK(states.nodes("ex").empty());
  CHECK(states.map_items("ex").empty());
}

TEST_CASE("state store: a running execution with a live owner cannot be taken over, a dead one can") {
  scratch_dir dir("state-store-test");
  loom::state_store states(dir.path / "loom.db");
  auto live = new_execution("live");
  live.owner = loom::state_store::this_owner();  // this very process: alive
  states.create_execution(live);
  auto resumer = new_execution("live");
  resumer.owner = "elsewhere:1";
  CHECK_THROWS_WITH(states.claim_execution(resumer), Catch::Contains("execution live is running (owner "));
  auto dead = new_execution("dead");
  char host[256] = {};
  ::gethostname(host, sizeof host - 1);
  dead.owner = std::string(host) + ":999999999";  // no such process
  states.create_execution(dead);
  auto taken = states.claim_execution(new_execution("dead"));
  CHECK(taken.runs == 2);
  CHECK(taken.owner == loom::state_store::this_owner());
}

TEST_CASE("state store: a damaged database is reported with its file, never used") {
  scratch_dir dir("state-store-test");
  const auto db = dir.path / "loom.db";
  {
    loom::object_store store(dir.path);
    loom::run_options o;
    o.store = &store;
    o.execution_id = "before";
    loom::executor ex({.threads = 2});
    CHECK(ex.run(o, incs, std::int64_t{300}).size() == 300);
  }
  SECTION("its header overwritten") {
    {
      std::fstream f(db, std::ios::in | std::ios::out | std::ios::binary);
      f.write("this is not a database at all", 29);
    }
    CHECK_THROWS_AS(loom::state_store(db), loom::state_store_error);
    CHECK_THROWS_WITH(loom::state_store(db), Catch::Contains(db.string()) && Catch::Contains("is damaged"));
    // A run on that store fails at once, saying so; nothing runs.
    loom::object_store store(dir.path);
    loom::run_options o;
    o.store = &store;
    o.execution_id = "after";
    loom::executor ex({.threads = 2});
    CHECK_THROWS_WITH(ex.run(o, incs, std::int64_t{3}), Catch::Contains("loom.db is damaged"));
  }
  SECTION("a page in the middle overwritten") {
    const auto size = fs::file_size(db);
    REQUIRE(size > 3 * 4096);
    {
      std::fstream f(db, std::ios::in | std::ios::out | std::ios::binary);
      f.seekp(static_cast<std::streamoff>(2 * 4096));
      const std::string junk(4096, '\x5a');
      f.write(junk.data(), static_cast<std::streamsize>(junk.size()));
    }
    bool reported = false;
    try {
      loom::state_store states(db);
      states.check();
      (void)states.nodes("before");
    } catch (const loom::state_store_error& e) {
      reported = true;
      CHECK_THAT(e.what(), Catch::Contains(db.string()) && Catch::Contains("damaged"));
    }
    CHECK(reported);
  }
}

TEST_CASE("state store: two runs recording into one store at the same time do not disturb each other") {
  scratch_dir dir("state-store-test");
  loom::object_store store(dir.path);
  // Catch2's assertions are not thread-safe: each run keeps its output, checked after join.
  std::vector<std::vector<std::int64_t>> outputs(4);
  auto run = [&](int r) {
    loom::run_options o;
    o.store = &store;
    o.execution_id = "together-" + std::to_string(r);
    loom::executor ex({.threads = 1});
    outputs[static_cast<std::size_t>(r)] = ex.run(o, incs, std::int64_t{2000 + r});
  };
  std::vector<std::thread> runs;
  for (int r = 0; r < 4; ++r) runs.emplace_back(run, r);
  for (auto& t : runs) t.join();
  for (int r = 0; r < 4; ++r) {
    const auto& out = outputs[static_cast<std::size_t>(r)];
    REQUIRE(out.size() == static_cast<std::size_t>(2000 + r));
    CHECK(out.back() == 2000 + r);
  }
  loom::state_store states(loom::state_store::default_path(store.root()));
  states.check();
  for (int r = 0; r < 4; ++r) {
    const std::string id = "together-" + std::to_string(r);
    const auto e = states.execution(id);
    REQUIRE(e.has_value());
    CHECK(e->status == "succeeded");
    CHECK(e->nodes_total == 2001 + r);
    CHECK(e->nodes_done == 2001 + r);
    CHECK(states.nodes(id).size() == static_cast<std::size_t>(2001 + r));
    CHECK(loom::json::parse(*store.get(id + "/n0/dn17/outputs.json")) == loom::json{{"o0", 18}});
  }
}
