// Compact recording of large dynamic sub-DAGs (run_options::compact_subdag_nodes,
// loom/recorder.hpp): one state-store row per sub-DAG instead of one per node, rows
// only for the nodes that fail, are retried, are cached or run long; the nodes' outputs
// kept through the threads' buffers of the pack writer, gathered in consistent cuts; the
// futures file written on the recorder's thread before any output of its nodes.
#include <loom/loom.hpp>
#include <loom/object_store.hpp>
#include <loom/state_store.hpp>

#include <catch2/catch.hpp>

#include "test_files.hpp"
#include "test_packs.hpp"

#include <array>
#include <atomic>
#include <chrono>
#include <map>
#include <set>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <sqlite3.h>

namespace {

namespace fs = std::filesystem;
using loom::json;
using loom_test::scratch_dir;

// How many times each index ran (the tasks below count), and which index fails for now.
std::array<std::atomic<int>, 4096> ran{};
std::atomic<std::int64_t> failing{-1};
std::atomic<int> flaky_tries{0};

void reset_counts() {
  for (auto& r : ran) r.store(0);
  failing.store(-1);
  flaky_tries.store(0);
}

inline constexpr auto twice = loom::task<"compact_twice">([](std::int64_t x) -> std::int64_t {
                                ++ran[static_cast<std::size_t>(x)];
                                if (x == failing.load()) throw std::runtime_error("index " + std::to_string(x) + " fails");
                                return 2 * x;
                              }).with_inputs("x");

inline constexpr auto add = loom::task<"compact_add">([](std::int64_t a, std::int64_t b) { return a + b; })
                                .with_inputs("a", "b");

// n doublings, summed by a chain of additions: 2n - 1 + ... nodes; the chain makes
// every later sum depend on every earlier doubling.
inline constexpr auto doubled_sum = loom::dynamic<"compact_doubled_sum">(
                                        [](loom::dynamic_builder& wf, std::int64_t n) -> loom::promise<std::int64_t> {
                                          loom::promise<std::int64_t> sum = wf(twice, std::int64_t{0});
                                          for (std::int64_t i = 1; i < n; ++i) sum = wf(add, sum, wf(twice, i));
                                          return sum;
                                        })
                                        .with_inputs("n");

inline constexpr auto flaky_twice = loom::task<"compact_flaky_twice">([](std::int64_t x) -> std::int64_t {
                                      if (x == 2 && flaky_tries.fetch_add(1) == 0) throw std::runtime_error("first try fails");
                                      return 2 * x;
                                    })
                                        .with_inputs("x")
                                        .with_retries(1, {.initial = std::chrono::milliseconds(1)});

inline constexpr auto slow_twice = loom::task<"compact_slow_twice">([](std::int64_t x) -> std::int64_t {
                                     if (x == 1) std::this_thread::sleep_for(std::chrono::milliseconds(1400));
                                     return 2 * x;
                                   }).with_inputs("x");

inline constexpr auto several = loom::dynamic<"compact_several">([](loom::dynamic_builder& wf, std::int64_t n) {
                                    std::vector<loom::promise<std::int64_t>> out;
                                    for (std::int64_t i = 0; i < n; ++i) {
                                      out.push_back(i % 2 == 0 ? wf(flaky_twice, i) : wf(slow_twice, i));
                                    }
                                    return out;
                                  }).with_inputs("n");

inline constexpr auto halve = loom::task<"compact_halve">([](std::int64_t x) { return static_cast<double>(x) / 2; })
                                  .with_inputs("x");

inline constexpr auto halves = loom::dynamic<"compact_halves">([](loom::dynamic_builder& wf, std::int64_t n) {
                                 std::vector<loom::promise<double>> out;
                                 for (std::int64_t i = 0; i < n; ++i) out.push_back(wf(halve, i));
                                 return out;
                               }).with_inputs("n");

// The doubled sum, then a check of it that fails while `failing` is -2: every other
// node has run when it fails.
inline constexpr auto checked = loom::task<"compact_checked">([](std::int64_t s) -> std::int64_t {
                                  if (failing.load() == -2) throw std::runtime_error("the check fails");
                                  return s;
                                }).with_inputs("s");

inline constexpr auto checked_sum = loom::dynamic<"compact_checked_sum">(
                                        [](loom::dynamic_builder& wf, std::int64_t n) -> loom::promise<std::int64_t> {
                                          loom::promise<std::int64_t> sum = wf(twice, std::int64_t{0});
                                          for (std::int64_t i = 1; i < n; ++i) sum = wf(add, sum, wf(twice, i));
                                          return wf(checked, sum);
                                        })
                                        .with_inputs("n");

std::int64_t expected_sum(std::int64_t n) { return n * (n - 1); }

/// The bytes of the last whole record of `key` (within the execution) in the packs of
/// execution `id`.
std::string packed_bytes(const loom::object_store& store, const std::string& id, const std::string& key) {
  for (const auto& e : fs::directory_iterator(store.root() / id / "packs")) {
    const std::string pack = loom_test::slurp(e.path());
    try {
      const auto at = loom_test::find_pack_record(pack, key);
      const auto r = loom::detail::read_pack_record(std::string_view(pack).substr(at.start), at.start);
      return pack.substr(at.bytes, r.size);
    } catch (const std::runtime_error&) {  // (not in this pack)
    }
  }
  FAIL("no record " << key << " in the packs of " << id);
  return {};
}

/// Rows of the `nodes` table (not what state_store::nodes() adds from sub-DAG rows).
std::int64_t node_table_rows(const fs::path& db) {
  sqlite3* h = nullptr;
  REQUIRE(sqlite3_open(db.c_str(), &h) == SQLITE_OK);
  sqlite3_stmt* s = nullptr;
  REQUIRE(sqlite3_prepare_v2(h, "SELECT count(*) FROM nodes", -1, &s, nullptr) == SQLITE_OK);
  REQUIRE(sqlite3_step(s) == SQLITE_ROW);
  const std::int64_t n = sqlite3_column_int64(s, 0);
  sqlite3_finalize(s);
  sqlite3_close(h);
  return n;
}

loom::run_options stored(const loom::object_store& store, const std::string& id) {
  loom::run_options o;
  o.store = &store;
  o.execution_id = id;
  return o;
}

}  // namespace

TEST_CASE("compact sub-DAG: a large sub-DAG is one row, every node is still listed, and its outputs kept") {
  reset_counts();
  scratch_dir dir("compact-test");
  loom::object_store store(dir.path / "store");
  loom::executor ex({.threads = 2});
  constexpr std::int64_t n = 1500;  // 2n - 1 = 2,999 nodes: over the default threshold of 1,000
  CHECK(ex.run(stored(store, "big"), doubled_sum, n) == expected_sum(n));

  const auto db = loom::state_store::default_path(store.root());
  loom::state_store states(db);
  const auto groups = states.subdags("big");
  REQUIRE(groups.size() == 1);
  CHECK(groups[0].path == "n0");
  CHECK(groups[0].prefix == "n0/dn");
  CHECK(groups[0].length == 2 * n - 1);
  CHECK(groups[0].tasks.size() == 2);  // compact_twice and compact_add, kind 0 (task)
  // One row in the nodes table: the dynamic node; its 2,999 nodes are in the sub-DAG row.
  CHECK(node_table_rows(db) == 1);
  const auto nodes = states.nodes("big");
  REQUIRE(nodes.size() == static_cast<std::size_t>(2 * n));
  std::map<std::string, int> tasks;
  for (const auto& node : nodes) {
    CHECK(node.phase == loom::node_phase::succeeded);
    if (node.path == "n0") continue;
    CHECK(node.attempts == 1);
    ++tasks[node.task];
  }
  CHECK(tasks["compact_twice"] == n);
  CHECK(tasks["compact_add"] == n - 1);
  const auto e = states.execution("big");
  REQUIRE(e.has_value());
  CHECK(e->status == "succeeded");
  CHECK(e->nodes_done == 2 * n);
  CHECK(e->nodes_total == 2 * n);
  // The outputs of every node, where every node's are; the futures file, written on the
  // recorder's thread, is there too.
  CHECK(json::parse(*store.get("big/n0/dn0/outputs.json")) == json{{"o0", 0}});
  const auto last = json::parse(*store.get("big/n0/dn" + std::to_string(2 * n - 2) + "/outputs.json"));
  CHECK(last == json{{"o0", expected_sum(n)}});
  CHECK(store.get("big/n0/futures.json").has_value());
  CHECK(store.list("big/n0").size() >= static_cast<std::size_t>(2 * n));
}

TEST_CASE("compact sub-DAG: smaller sub-DAGs keep a row per node, with times, 0 makes every sub-DAG compact") {
  reset_counts();
  scratch_dir dir("compact-test");
  loom::object_store store(dir.path / "store");
  loom::executor ex({.threads = 2});
  CHECK(ex.run(stored(store, "small"), doubled_sum, std::int64_t{10}) == expected_sum(10));
  loom::run_options all = stored(store, "all");
  all.compact_subdag_nodes = 0;
  CHECK(ex.run(all, doubled_sum, std::int64_t{10}) == expected_sum(10));

  loom::state_store states(loom::state_store::default_path(store.root()));
  CHECK(states.subdags("small").empty());
  const auto small = states.nodes("small");
  REQUIRE(small.size() == 20);
  for (const auto& node : small) {
    CHECK(node.started_us > 0);
    CHECK(node.ended_us >= node.started_us);
  }
  REQUIRE(states.subdags("all").size() == 1);
  const auto compact = states.nodes("all");
  REQUIRE(compact.size() == 20);
  for (const auto& node : compact) CHECK(node.phase == loom::node_phase::succeeded);
  CHECK(states.execution("all")->nodes_done == 20);
}

TEST_CASE("compact sub-DAG: a retried node and a node that runs long get rows of their own") {
  reset_counts();
  scratch_dir dir("compact-test");
  loom::object_store store(dir.path / "store");
  loom::executor ex({.threads = 2});
  loom::run_options o = stored(store, "rows");
  o.compact_subdag_nodes = 0;
  CHECK(ex.run(o, several, std::int64_t{6}) == std::vector<std::int64_t>{0, 2, 4, 6, 8, 10});

  loom::state_store states(loom::state_store::default_path(store.root()));
  REQUIRE(states.subdags("rows").size() == 1);
  std::map<std::string, loom::node_record> by_path;
  for (auto& node : states.nodes("rows")) by_path[node.path] = node;
  // Node 2 (flaky) failed once, then succeeded: its row says so.
  REQUIRE(by_path.count("n0/dn2") == 1);
  CHECK(by_path["n0/dn2"].phase == loom::node_phase::succeeded);
  CHECK(by_path["n0/dn2"].attempts == 2);
  CHECK(by_path["n0/dn2"].started_us > 0);
  // Node 1 slept 1.4 s: over long_node, so it has a row with (roughly) its start.
  const auto db = loom::state_store::default_path(store.root());
  CHECK(node_table_rows(db) == 3);  // n0, n0/dn2, n0/dn1
  CHECK(by_path["n0/dn1"].started_us > 0);
  CHECK(by_path["n0/dn1"].ended_us > by_path["n0/dn1"].started_us);
  CHECK(by_path["n0/dn1"].phase == loom::node_phase::succeeded);
  // The others: from the sub-DAG row, no times.
  CHECK(by_path["n0/dn4"].phase == loom::node_phase::succeeded);
  CHECK(by_path["n0/dn4"].started_us == 0);
  CHECK(states.execution("rows")->nodes_done == 7);  // 6 nodes and the dynamic node
}

TEST_CASE("compact sub-DAG: a failed node has its row and error, resume runs only what did not succeed") {
  reset_counts();
  scratch_dir dir("compact-test");
  loom::object_store store(dir.path / "store");
  loom::executor ex({.threads = 2});
  constexpr std::int64_t n = 1200;
  failing.store(700);
  CHECK_THROWS_WITH(ex.run(stored(store, "resumed"), doubled_sum, n), Catch::Contains("index 700 fails"));
  {
    loom::state_store states(loom::state_store::default_path(store.root()));
    const auto e = states.execution("resumed");
    REQUIRE(e.has_value());
    CHECK(e->status == "failed");
    bool found = false;
    for (const auto& node : states.nodes("resumed")) {
      if (node.task != "compact_twice" || node.phase != loom::node_phase::failed) continue;
      found = true;
      CHECK_THAT(node.error, Catch::Contains("index 700 fails"));
      CHECK(node.attempts == 1);
    }
    CHECK(found);
  }
  std::vector<int> first(static_cast<std::size_t>(n));
  for (std::size_t k = 0; k < first.size(); ++k) first[k] = ran[k].load();
  CHECK(first[700] == 1);

  failing.store(-1);
  loom::run_options again = stored(store, "resumed");
  again.resume = true;
  CHECK(ex.run(again, doubled_sum, n) == expected_sum(n));
  // Every doubling ran exactly once over both runs, except 700 (failed, then ran again),
  // and those the first run finished but did not keep before it stopped (none, here:
  // a failed run writes what was kept before it closes).
  for (std::size_t k = 0; k < first.size(); ++k) {
    INFO("index " << k);
    if (k == 700) {
      CHECK(ran[k].load() == 2);
    } else {
      CHECK(ran[k].load() == 1);
    }
  }
  loom::state_store states(loom::state_store::default_path(store.root()));
  const auto e = states.execution("resumed");
  CHECK(e->status == "succeeded");
  std::map<std::string, loom::node_record> by_path;
  for (auto& node : states.nodes("resumed")) by_path[node.path] = node;
  for (const auto& [path, node] : by_path) {
    INFO(path);
    CHECK(node.phase == loom::node_phase::succeeded);
  }
}

TEST_CASE("pack writer: what threads keep is gathered in consistent cuts (a record is never written without "
          "the ones kept before it)") {
  scratch_dir dir("compact-test");
  loom::object_store store(dir.path / "store");
  loom::pack_writer pack(store, "cut");
  // Two threads keep records 0, 1, 2, ... in turn, each after seeing the one before
  // (a chain across threads, as a node's successor may run on the other thread), while
  // this thread flushes. After every flush, the records in the pack are 0..k for some k.
  constexpr int count = 4000;
  std::atomic<int> next{0};
  auto keeper = [&](int parity) {
    while (true) {
      const int k = next.load(std::memory_order_acquire);
      if (k >= count) return;
      if (k % 2 != parity) {
        std::this_thread::yield();
        continue;
      }
      pack.keep("r/" + std::to_string(k), std::to_string(k));
      next.store(k + 1, std::memory_order_release);
    }
  };
  std::thread even(keeper, 0);
  std::thread odd(keeper, 1);
  std::vector<std::size_t> seen;
  while (true) {
    const bool over = next.load() >= count;
    pack.flush(false);
    const auto keys = store.list("cut/r");
    std::set<int> got;
    for (const auto& key : keys) got.insert(std::stoi(key.substr(6)));
    seen.push_back(got.size());
    const bool prefix = got.empty() || (*got.begin() == 0 && *got.rbegin() == static_cast<int>(got.size()) - 1);
    if (!prefix) {
      even.join();
      odd.join();
      FAIL("the pack holds records that are not a prefix of the chain: " << got.size() << " records, up to "
                                                                         << *got.rbegin());
    }
    if (over) break;
    std::this_thread::sleep_for(std::chrono::microseconds(300));
  }
  even.join();
  odd.join();
  pack.flush(true);
  CHECK(store.list("cut/r").size() == static_cast<std::size_t>(count));
  CHECK(*store.get("cut/r/1234") == "1234");
  CHECK(seen.size() >= 2);  // (flushed while the threads kept: the cuts were taken mid-way)
}

TEST_CASE("compact sub-DAG: integer outputs are packed in their compact form, a double's as text, both read as text") {
  reset_counts();
  scratch_dir dir("compact-test");
  loom::object_store store(dir.path / "store");
  loom::executor ex({.threads = 1});
  auto options = stored(store, "ints");
  options.compact_subdag_nodes = 0;  // (every sub-DAG compact)
  CHECK(ex.run(options, doubled_sum, std::int64_t{3}) == expected_sum(3));
  // dn0 = twice(0), dn1 = twice(1), dn2 = add(dn0, dn1), dn3 = twice(2), dn4 = add(dn2,
  // dn3): integers, in the compact form.
  for (const char* node : {"dn0", "dn2", "dn4"}) {
    const std::string bytes = packed_bytes(store, "ints", std::string("n0/") + node + "/outputs.json");
    REQUIRE_FALSE(bytes.empty());
    CHECK(bytes.front() == '\0');
  }
  // get() gives back exactly the text a text record holds (no spaces, as it is dumped).
  CHECK(store.get("ints/n0/dn0/outputs.json") == std::optional<std::string>("{\"o0\":0}"));
  CHECK(store.get("ints/n0/dn2/outputs.json") == std::optional<std::string>("{\"o0\":2}"));
  CHECK(store.get("ints/n0/dn4/outputs.json") == std::optional<std::string>("{\"o0\":6}"));

  options.execution_id = "doubles";
  CHECK(ex.run(options, halves, std::int64_t{3}) == std::vector<double>{0.0, 0.5, 1.0});
  const std::string half = packed_bytes(store, "doubles", "n0/dn1/outputs.json");
  CHECK(half == "{\"o0\":0.5}");  // (a double has no compact form: its text, as before)
  CHECK(store.get("doubles/n0/dn1/outputs.json") == std::optional<std::string>(half));

  // A run that fails at its last node, resumed: the other nodes' outputs are read back
  // through their compact form and feed the last one; none of them runs again.
  reset_counts();
  failing.store(-2);
  options.execution_id = "failed";
  CHECK_THROWS_WITH(ex.run(options, checked_sum, std::int64_t{3}), Catch::Contains("the check fails"));
  CHECK(packed_bytes(store, "failed", "n0/dn4/outputs.json").front() == '\0');
  failing.store(-1);
  options.resume = true;
  CHECK(ex.run(options, checked_sum, std::int64_t{3}) == expected_sum(3));
  for (std::size_t i = 0; i < 3; ++i) CHECK(ran[i].load() == 1);
}
