// The `loom` command (tools/) on real stores: workflow binaries run with --store (the
// examples, loom_resume_tasks, loom_process_tasks, futures_forms), then every command's
// output is checked — table rows, tree lines, DOT clusters and colours, JSON fields —
// as are the exit codes of bad command lines, damaged objects, packs and databases, gc,
// a run killed with SIGKILL, shown as interrupted, and Slurm job records (written by hand)
// in show's tree, --node and --json.
#include <loom/futures_file.hpp>
#include <loom/object_store.hpp>
#include <loom/state_store.hpp>

#include <catch2/catch.hpp>

#include "test_files.hpp"
#include "test_packs.hpp"
#include "test_values.hpp"
#include "tool_fixture.hpp"
#include <nlohmann/json.hpp>
#include <sqlite3.h>

#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <optional>
#include <random>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <fcntl.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#ifdef LOOM_COUNT_CHARACTERS_BINARY
#include "../examples/count_characters.hpp"  // the executor's reader needs the entities registered
#endif

namespace {

namespace fs = std::filesystem;
using loom_test::scratch_dir;
using loom_test::slurp;
using loom_test::spit;
using loom_test::find_pack_record;
using json = nlohmann::json;
using namespace loom_tool_test;

bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) lines.push_back(line);
  return lines;
}

/// The whitespace-separated words of a line.
std::vector<std::string> words(const std::string& line) {
  std::vector<std::string> out;
  std::istringstream in(line);
  std::string w;
  while (in >> w) out.push_back(w);
  return out;
}

/// The rows of `loom show`'s node table (from the NODE header to the first empty line):
/// each row's indent and its words, of which there are at least four.
std::vector<std::pair<std::size_t, std::vector<std::string>>> node_table(const std::string& out) {
  std::vector<std::pair<std::size_t, std::vector<std::string>>> rows;
  bool in_table = false;
  for (const auto& line : lines_of(out)) {
    if (line.rfind("NODE", 0) == 0) {
      in_table = true;
      continue;
    }
    if (!in_table) continue;
    if (line.empty()) break;  // the map summaries follow
    auto w = words(line);
    REQUIRE(w.size() >= 4);
    rows.emplace_back(line.find_first_not_of(' '), std::move(w));
  }
  return rows;
}

/// The line of a table or tree whose first word is `first` (after `indent` spaces).
std::optional<std::string> line_starting(const std::string& text, const std::string& start) {
  for (const auto& line : lines_of(text)) {
    if (line.rfind(start, 0) == 0) return line;
  }
  return std::nullopt;
}

/// The objects file of a key (a file of its own).
fs::path object_path(const store_fixture& f, const std::string& key) { return f.root / key; }

void set_started(const fs::path& store, const std::string& id, std::int64_t started_us) {
  sqlite3* db = nullptr;
  REQUIRE(sqlite3_open((store / "loom.db").c_str(), &db) == SQLITE_OK);
  const std::string sql =
      "UPDATE executions SET started_us=" + std::to_string(started_us) + " WHERE name='" + id + "'";
  char* message = nullptr;
  const int rc = sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &message);
  sqlite3_free(message);
  sqlite3_close(db);
  REQUIRE(rc == SQLITE_OK);
}

std::int64_t days_us(int days) { return std::int64_t{days} * 86400 * 1'000'000; }

/// What the Slurm backend (src/slurm_node_backend.cpp) leaves for one job of a node:
/// its job record under `stem`.json (a store object; job id "" until sbatch answered)
/// and, once the node process ended, its done record `stem`.done (a plain file) with
/// `exit` and the job id `done_job` (by default the record's).
struct slurm_paths {
  std::string script, out, err;
};
slurm_paths write_slurm_job(const store_fixture& f, const std::string& stem, const std::string& job,
                            std::optional<int> exit, std::optional<std::string> done_job = std::nullopt) {
  const std::string execution = stem.substr(0, stem.find('/'));
  // Its comment, "<node path>#<attempt>.<submission>" (a map node's batch: attempt 0).
  const std::string rel = stem.substr(execution.size() + 1);
  const auto batch = rel.find("/batch-");
  const std::string comment = batch != std::string::npos ? rel.substr(0, batch) + "#0.1"
                                                         : rel.substr(0, rel.rfind('/')) + "#" +
                                                               rel.substr(rel.rfind("job-a") + 5) + ".1";
  const slurm_paths paths{(f.root / (stem + ".sh")).string(), (f.root / (stem + ".out")).string(),
                          (f.root / (stem + ".err")).string()};
  const json record = {{"name", "loom:" + execution}, {"comment", comment},
                       {"job", job},  {"script", paths.script}, {"stdout", paths.out}, {"stderr", paths.err}};
  loom::object_store(f.root).put(stem + ".json", record.dump());
  if (exit) {
    std::ofstream done(f.root / (stem + ".done"), std::ios::binary | std::ios::trunc);
    done << json{{"job", done_job.value_or(job)}, {"exit", *exit}}.dump() << "\n";
  }
  return paths;
}

}  // namespace

// ---------------------------------------------------------------------------------------
// The command line

TEST_CASE("--help on every command and on loom itself: usage on stdout, exit code 0") {
  for (const std::vector<std::string>& args :
       {std::vector<std::string>{"--help"}, {"-h"}, {"help"}}) {
    const auto r = loom_tool(args);
    CHECK(r.code == 0);
    CHECK(contains(r.out, "usage: loom COMMAND"));
    for (const char* command : {"executions", "show", "graph", "inspect", "gc"}) CHECK(contains(r.out, command));
  }
  for (const std::string command : {"executions", "show", "graph", "inspect", "gc"}) {
    INFO(command);
    const auto r = loom_tool({command, "--help"});
    CHECK(r.code == 0);
    CHECK(r.out.rfind("usage: loom " + command, 0) == 0);
    CHECK(contains(r.out, "--store DIR"));
    CHECK(contains(r.out, "exit codes: 0 success, 1 failure"));
    CHECK(r.err.empty());
    // --help wins over anything else on the line, even without a store.
    CHECK(loom_tool({command, "--bogus", "-h"}).code == 0);
  }
  CHECK(contains(loom_tool({"help", "gc"}).out, "usage: loom gc --before DATE"));
}

TEST_CASE("bad command lines: exit code 2 and a message on stderr") {
  scratch_dir dir("tool-test");
  const std::string store = dir.path.string();
  struct bad {
    std::vector<std::string> args;
    std::string message;
  };
  const std::vector<bad> cases = {
      {{}, "loom: no command"},
      {{"list"}, "unknown command 'list'"},
      {{"executions", "--bogus", "--store", store}, "unknown option --bogus"},
      {{"executions", "extra", "--store", store}, "unexpected argument 'extra'"},
      {{"executions", "--store"}, "--store needs a value"},
      {{"executions", "--json=yes", "--store", store}, "--json takes no value"},
      {{"show", "--store", store}, "missing ID"},
      {{"show", "a", "b", "--store", store}, "unexpected argument 'b'"},
      {{"graph", "x", "--format", "png", "--store", store}, "--format: expected dot or svg, got 'png'"},
      {{"inspect", "--store", store}, "missing FILE"},
      {{"gc", "--store", store}, "--before DATE is required"},
      {{"gc", "--before", "yesterday", "--store", store}, "--before: expected YYYY-MM-DD"},
      {{"gc", "--before", "2026-02-30", "--store", store}, "got '2026-02-30'"},
      {{"gc", "--before", "2026-01-01T25:00", "--store", store}, "got '2026-01-01T25:00'"},
      // Ids and node paths that would reach outside the store are refused, not looked up.
      {{"show", "../x", "--store", store}, "invalid execution id '../x'"},
      {{"show", "a/b", "--store", store}, "invalid execution id 'a/b': '/' is not allowed"},
      {{"graph", "..", "--store", store}, "invalid execution id '..'"},
      {{"show", "ex", "--node", "../../etc", "--store", store}, "--node: invalid node path '../../etc'"},
      {{"show", "ex", "--node", "/n0", "--store", store}, "--node: invalid node path '/n0'"},
      {{"graph", "ex", "--node", "n0/../..", "--store", store}, "--node: invalid node path 'n0/../..'"},
  };
  for (const auto& c : cases) {
    std::string line;
    for (const auto& a : c.args) line += a + " ";
    INFO("loom " << line);
    const auto r = loom_tool(c.args);
    CHECK(r.code == 2);
    CHECK(contains(r.err, c.message));
    CHECK(r.out.empty());
  }
}

TEST_CASE("no --store and no LOOM_STORE: exit code 2, LOOM_STORE is the default store") {
  for (const std::vector<std::string>& args : {std::vector<std::string>{"executions"}, {"show", "x"}, {"graph", "x"},
                                              {"gc", "--before", "2026-01-01"}}) {
    const auto r = loom_tool(args);
    CHECK(r.code == 2);
    CHECK(contains(r.err, "no store: give --store DIR or set LOOM_STORE"));
  }
  store_fixture f;
  f.need("chains");
  const auto r = loom_tool({"executions"}, {{"LOOM_STORE", f.store()}});
  CHECK(r.code == 0);
  CHECK(line_starting(r.out, "chains "));
  // --store wins over LOOM_STORE.
  scratch_dir empty("tool-test");
  const auto other = loom_tool({"executions", "--store", empty.path.string()}, {{"LOOM_STORE", f.store()}});
  CHECK(other.code == 0);
  CHECK_FALSE(line_starting(other.out, "chains "));
}

// ---------------------------------------------------------------------------------------
// executions

TEST_CASE("executions: a table of the recorded runs, newest first, and --json") {
  store_fixture f;
  f.need("chains");
  f.need("boom");
  f.need("nested");
  const auto r = loom_tool({"executions", "--store", f.store()});
  REQUIRE(r.code == 0);
  const auto lines = lines_of(r.out);
  REQUIRE(lines.size() == 4);
  CHECK(words(lines[0]) == std::vector<std::string>{"ID", "WORKFLOW", "STATUS", "STARTED", "(UTC)", "DURATION", "NODES"});
  // Newest first: the order they ran in, reversed.
  CHECK(words(lines[1])[0] == "nested");
  CHECK(words(lines[2])[0] == "boom");
  CHECK(words(lines[3])[0] == "chains");
  const std::regex row(R"(^(\S+)\s+(\S+)\s+(\S+)\s+(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ)\s+([0-9.]+ (us|ms|s))\s+(\d+)/(\d+)$)");
  std::map<std::string, std::smatch> by_id;
  for (std::size_t i = 1; i < lines.size(); ++i) {
    std::smatch m;
    INFO(lines[i]);
    REQUIRE(std::regex_match(lines[i], m, row));
    by_id[m[1]] = m;
  }
  CHECK(by_id["chains"][2] == "chains");
  CHECK(by_id["chains"][3] == "succeeded");
  CHECK(by_id["chains"][7] == "8");  // n0, six links, total
  CHECK(by_id["chains"][8] == "8");
  CHECK(by_id["boom"][2] == "fail_with");
  CHECK(by_id["boom"][3] == "failed");
  CHECK(by_id["boom"][7] == "0");
  CHECK(by_id["boom"][8] == "1");
  CHECK(by_id["nested"][2] == "p_outer_static");
  CHECK(by_id["nested"][7] == "8");

  const auto j = loom_tool({"executions", "--json", "--store", f.store()});
  REQUIRE(j.code == 0);
  const auto list = json::parse(j.out);
  REQUIRE(list.size() == 3);
  const auto& boom = list[1];
  CHECK(boom["id"] == "boom");
  CHECK(boom["workflow"] == "fail_with");
  CHECK(boom["status"] == "failed");
  CHECK(boom["recorded_status"] == "failed");
  CHECK(boom["nodes_done"] == 0);
  CHECK(boom["nodes_total"] == 1);
  CHECK(boom["nodes_failed"] == 1);
  CHECK(contains(boom["error"].get<std::string>(), "node n0 (task 'fail_with') failed: boom"));
  CHECK(boom["ended_us"].get<std::int64_t>() >= boom["started_us"].get<std::int64_t>());
  CHECK(boom["duration_us"] == boom["ended_us"].get<std::int64_t>() - boom["started_us"].get<std::int64_t>());
  CHECK(std::regex_match(boom["started"].get<std::string>(), std::regex(R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ)")));
  CHECK(contains(boom["owner"].get<std::string>(), ":"));
  CHECK(boom["runs"] == 1);
  CHECK(boom["backend"] == "thread");
}

TEST_CASE("executions: a store with nothing recorded, and a store that does not exist") {
  scratch_dir dir("tool-test");
  const auto r = loom_tool({"executions", "--store", dir.path.string()});
  CHECK(r.code == 0);
  CHECK(r.out.empty());
  CHECK(contains(r.err, "no executions recorded in " + dir.path.string()));
  CHECK(loom_tool({"executions", "--json", "--store", dir.path.string()}).out == "[]\n");
  const auto show = loom_tool({"show", "x", "--store", dir.path.string()});
  CHECK(show.code == 1);
  CHECK(contains(show.err, "no executions recorded in " + dir.path.string()));
  const auto missing = loom_tool({"executions", "--store", (dir.path / "nope").string()});
  CHECK(missing.code == 1);
  CHECK(contains(missing.err, "no store at " + (dir.path / "nope").string()));
  CHECK_FALSE(fs::exists(dir.path / "nope"));  // looking never creates a store
}

// ---------------------------------------------------------------------------------------
// show

TEST_CASE("show: the node tree of a dynamic workflow, in node order, and --json") {
  store_fixture f;
  f.need("chains");
  const auto r = loom_tool({"show", "chains", "--store", f.store()});
  INFO(r.err);
  REQUIRE(r.code == 0);
  CHECK(line_starting(r.out, "execution  chains"));
  CHECK(line_starting(r.out, "workflow   chains"));
  CHECK(line_starting(r.out, "status     succeeded"));
  CHECK(line_starting(r.out, "nodes      8/8 done, 0 failed"));
  const auto header = line_starting(r.out, "NODE");
  REQUIRE(header);
  CHECK(words(*header) == std::vector<std::string>{"NODE", "TASK", "KIND", "PHASE", "ATTEMPTS", "DURATION", "ERROR"});
  const auto n0 = line_starting(r.out, "n0 ");
  REQUIRE(n0);
  const auto n0_words = words(*n0);
  CHECK(std::vector<std::string>(n0_words.begin(), n0_words.begin() + 5) ==
        std::vector<std::string>{"n0", "chains", "dynamic", "succeeded", "1"});
  // The sub-DAG nested under n0, indented, dn0 .. dn6 in number order.
  std::vector<std::string> children;
  for (const auto& line : lines_of(r.out)) {
    if (line.rfind("  dn", 0) == 0) children.push_back(words(line)[0]);
  }
  CHECK(children == std::vector<std::string>{"dn0", "dn1", "dn2", "dn3", "dn4", "dn5", "dn6"});
  const auto total = line_starting(r.out, "  dn6 ");
  REQUIRE(total);
  CHECK(words(*total)[1] == "total");
  CHECK(words(*total)[2] == "task");
  CHECK(words(*total)[3] == "succeeded");

  const auto j = loom_tool({"show", "chains", "--json", "--store", f.store()});
  REQUIRE(j.code == 0);
  const auto doc = json::parse(j.out);
  CHECK(doc["execution"]["id"] == "chains");
  CHECK(doc["execution"]["status"] == "succeeded");
  REQUIRE(doc["nodes"].size() == 1);
  const auto& root = doc["nodes"][0];
  CHECK(root["path"] == "n0");
  CHECK(root["kind"] == "dynamic");
  CHECK(root["attempts"] == 1);
  REQUIRE(root["children"].size() == 7);
  CHECK(root["children"][3]["path"] == "n0/dn3");
  CHECK(root["children"][3]["task"] == "link");
  CHECK(root["children"][3]["phase"] == "succeeded");
  CHECK(root["children"][3]["duration_us"].get<std::int64_t>() >= 0);

  const auto unknown = loom_tool({"show", "nope", "--store", f.store()});
  CHECK(unknown.code == 1);
  CHECK(contains(unknown.err, "no execution 'nope'"));
}

TEST_CASE("show: static and dynamic workflows nested in each other, --node shows one subtree") {
  store_fixture f;
  f.need("nested");
  const auto r = loom_tool({"show", "nested", "--store", f.store()});
  INFO(r.out << r.err);
  REQUIRE(r.code == 0);
  // p_outer_static: n0 p_twice_sum (dynamic) -> dn0 p_sum_of_squares (workflow)
  //   -> n0 p_squares (dynamic) -> dn0..dn2 p_square; n1 total; dn1 add
  std::vector<std::vector<std::string>> tree;
  for (const auto& [indent, w] : node_table(r.out)) tree.push_back({std::to_string(indent), w[0], w[1], w[2], w[3]});
  const std::vector<std::vector<std::string>> expected = {
      {"0", "n0", "p_twice_sum", "dynamic", "succeeded"},   {"2", "dn0", "p_sum_of_squares", "workflow", "succeeded"},
      {"4", "n0", "p_squares", "dynamic", "succeeded"},     {"6", "dn0", "p_square", "task", "succeeded"},
      {"6", "dn1", "p_square", "task", "succeeded"},        {"6", "dn2", "p_square", "task", "succeeded"},
      {"4", "n1", "total", "task", "succeeded"},            {"2", "dn1", "add", "task", "succeeded"},
  };
  CHECK(tree == expected);

  const auto sub = loom_tool({"show", "nested", "--node", "n0/dn0", "--store", f.store()});
  REQUIRE(sub.code == 0);
  const auto top = line_starting(sub.out, "n0/dn0 ");  // the top of the subtree by its whole path
  REQUIRE(top);
  CHECK(words(*top)[1] == "p_sum_of_squares");
  CHECK(line_starting(sub.out, "  n0 "));
  CHECK(line_starting(sub.out, "    dn2 "));
  CHECK_FALSE(line_starting(sub.out, "  dn1 "));  // n0/dn1 (add) is outside n0/dn0
  const auto j = json::parse(loom_tool({"show", "nested", "--node", "n0/dn0/n0", "--json", "--store", f.store()}).out);
  REQUIRE(j["nodes"].size() == 1);
  CHECK(j["nodes"][0]["path"] == "n0/dn0/n0");
  CHECK(j["nodes"][0]["children"].size() == 3);
  CHECK(j["nodes"][0]["children"][2]["path"] == "n0/dn0/n0/dn2");

  const auto bad = loom_tool({"show", "nested", "--node", "n0/dn7", "--store", f.store()});
  CHECK(bad.code == 1);
  CHECK(contains(bad.err, "no node 'n0/dn7' in execution nested"));
}

TEST_CASE("show and graph: a wf.when's branch and merge nodes, and the skipped side") {
  store_fixture f;
  f.need("branched");
  const auto r = loom_tool({"show", "branched", "--store", f.store()});
  INFO(r.out << r.err);
  REQUIRE(r.code == 0);
  // p_branched(-3): n0 is_positive, n1 the branch node; then: n2 one_to, n3 the map of
  // p_square, n4 total; else: n5 sub; n6 the merge, n7 add.
  std::vector<std::vector<std::string>> rows;
  for (const auto& [indent, w] : node_table(r.out)) rows.push_back({w[0], w[1], w[2], w[3]});
  const std::vector<std::vector<std::string>> expected = {
      {"n0", "p_is_positive", "task", "succeeded"}, {"n1", "loom.when", "branch", "succeeded"},
      {"n2", "p_one_to", "task", "skipped"},        {"n3", "p_square", "map", "skipped"},
      {"n4", "total", "task", "skipped"},           {"n5", "sub", "task", "succeeded"},
      {"n6", "loom.when.merge<integer>", "merge", "succeeded"}, {"n7", "add", "task", "succeeded"},
  };
  CHECK(rows == expected);
  const auto outputs = loom_tool({"show", "branched", "--json", "--store", f.store()});
  REQUIRE(outputs.code == 0);
  const auto doc = json::parse(outputs.out);
  CHECK(doc["execution"]["status"] == "succeeded");
  CHECK(doc["execution"]["nodes_done"] == 8);  // the skipped nodes count as done
  CHECK(doc["nodes"][2]["phase"] == "skipped");

  const auto g = loom_tool({"graph", "branched", "--store", f.store()});
  INFO(g.out << g.err);
  REQUIRE(g.code == 0);
  CHECK(contains(g.out, "\"n1\" [label=\"loom.when\\nn1\", shape=diamond"));
  CHECK(contains(g.out, "\"n6\" [label=\"loom.when.merge<integer>\\nn6\", shape=invtrapezium"));
  CHECK(contains(g.out, "\"n3\" [label=\"p_square\\nn3\", shape=box, peripheries=2, fillcolor=\"#e4e4e4\""));
  CHECK(contains(g.out, "\"n1\" -> \"n2\" [style=dotted, label=\"then\"];"));
  CHECK(contains(g.out, "\"n1\" -> \"n5\" [style=dotted, label=\"else\"];"));
  CHECK(contains(g.out, "\"n5\" -> \"n6\";"));
}

TEST_CASE("show: a map node's items summed up, and --item K shows one") {
  store_fixture f;
  f.need("picky");
  const auto r = loom_tool({"show", "picky", "--store", f.store()});
  INFO(r.out << r.err);
  REQUIRE(r.code == 0);
  CHECK(line_starting(r.out, "n1 "));
  CHECK(contains(r.out, "map n1 (p_picky): 10 items, 8 succeeded, 2 failed, 0 not done\n"
                        "  item 2 failed: no threes: 3\n"
                        "  item 6 failed: no threes: 7\n"));
  const auto j = json::parse(loom_tool({"show", "picky", "--json", "--store", f.store()}).out);
  const auto& items = j["nodes"][1]["items"];
  CHECK(items["length"] == 10);
  CHECK(items["succeeded"] == 8);
  CHECK(items["failed_items"] == json::array({{{"item", 2}, {"error", "no threes: 3"}}, {{"item", 6}, {"error", "no threes: 7"}}}));

  const auto failed = loom_tool({"show", "picky", "--node", "n1", "--item", "6", "--store", f.store()});
  INFO(failed.out << failed.err);
  REQUIRE(failed.code == 0);
  CHECK(contains(failed.out, "item 6 of map node n1 (p_picky)\nphase      failed\nattempts   1\nerror      no threes: 7\n"));
  const auto fine = json::parse(loom_tool({"show", "picky", "--node", "n1", "--item", "4", "--json", "--store", f.store()}).out);
  CHECK(fine["phase"] == "succeeded");
  CHECK(fine["outputs"] == json{{"o0", 500}});

  const auto beyond = loom_tool({"show", "picky", "--node", "n1", "--item", "10", "--store", f.store()});
  CHECK(beyond.code == 1);
  CHECK(contains(beyond.err, "map node n1 has 10 items: there is no item 10"));
  CHECK(loom_tool({"show", "picky", "--node", "n1", "--item", "-1", "--store", f.store()}).code == 2);
  CHECK(loom_tool({"show", "picky", "--item", "1", "--store", f.store()}).code == 2);  // no --node
  const auto not_map = loom_tool({"show", "picky", "--node", "n0", "--item", "0", "--store", f.store()});
  CHECK(not_map.code == 1);
  CHECK(contains(not_map.err, "node n0 is not a map node"));
}

TEST_CASE("show: a failed run: the error of the failed node, and the node that never started") {
  store_fixture f;
  f.need("fails");
  const auto r = loom_tool({"show", "fails", "--store", f.store()});
  INFO(r.out << r.err);
  REQUIRE(r.code == 0);
  CHECK(line_starting(r.out, "status     failed"));
  CHECK(line_starting(r.out, "nodes      0/2 done, 1 failed"));
  const auto error = line_starting(r.out, "error      node n0 (task 'dies_in_body') failed: its process");
  CHECK(error);
  CHECK(contains(r.out, "             | dies_in_body: the body aborts"));  // the error's next line, indented
  const auto n0 = line_starting(r.out, "n0 ");
  REQUIRE(n0);
  CHECK(words(*n0)[1] == "dies_in_body");
  CHECK(words(*n0)[3] == "failed");
  CHECK(words(*n0)[4] == "1");
  CHECK(contains(*n0, "was killed by signal SIGABRT"));
  const auto n1 = line_starting(r.out, "n1 ");
  REQUIRE(n1);
  CHECK(words(*n1) == std::vector<std::string>{"n1", "add", "task", "not", "started", "0", "-"});
  const auto j = json::parse(loom_tool({"show", "fails", "--json", "--store", f.store()}).out);
  CHECK(j["execution"]["backend"] == "process");
  CHECK(j["nodes"][0]["phase"] == "failed");
  CHECK(contains(j["nodes"][0]["error"].get<std::string>(), "dies_in_body: the body aborts"));
  CHECK(j["nodes"][1]["phase"] == "not started");
  CHECK(j["nodes"][1]["attempts"] == 0);
}

TEST_CASE("show: nodes that ran as Slurm jobs: the last job in the tree, every job with --node, and --json") {
  store_fixture f;
  f.need("chains");  // n0 (dynamic), n0/dn0 .. n0/dn6
  const auto before = loom_tool({"show", "chains", "--store", f.store()});
  REQUIRE(before.code == 0);
  CHECK_FALSE(contains(before.out, "SLURM"));  // no job records: the table as it always was

  const auto body = write_slurm_job(f, "chains/n0/job-a0", "100", 0);
  const auto failed = write_slurm_job(f, "chains/n0/dn0/job-a0", "101", 3);      // failed, then retried:
  const auto retried = write_slurm_job(f, "chains/n0/dn0/job-a1", "102", 0);     //   the last attempt is shown
  const auto queued = write_slurm_job(f, "chains/n0/dn1/job-a0", "103", std::nullopt);  // no done record
  const auto unanswered = write_slurm_job(f, "chains/n0/dn2/job-a0", "", std::nullopt);  // sbatch has not answered
  write_slurm_job(f, "chains/n0/dn3/job-a0", "105", 3);
  write_slurm_job(f, "chains/n0/dn4/job-a0", "", 0, "106");  // sbatch's answer not recorded, but the job ran
  write_slurm_job(f, "chains/n0/dn5/job-a0", "107", 0, "99");  // a done record of another job does not count

  const auto r = loom_tool({"show", "chains", "--store", f.store()});
  INFO(r.out << r.err);
  REQUIRE(r.code == 0);
  const auto header = line_starting(r.out, "NODE");
  REQUIRE(header);
  CHECK(words(*header) ==
        std::vector<std::string>{"NODE", "TASK", "KIND", "PHASE", "ATTEMPTS", "DURATION", "SLURM", "ERROR"});
  const auto column = header->find("SLURM");
  const auto cell = [&](const std::string& start) -> std::string {
    const auto line = line_starting(r.out, start);
    if (!line || line->size() <= column) return "";
    return line->substr(column);
  };
  CHECK(cell("n0 ") == "job 100 (exited 0)");
  CHECK(cell("  dn0 ") == "job 102 (exited 0)");
  CHECK(cell("  dn1 ") == "job 103 (submitted)");
  CHECK(cell("  dn2 ") == "submitting (no job id yet)");
  CHECK(cell("  dn3 ") == "job 105 (exited 3)");
  CHECK(cell("  dn4 ") == "job 106 (exited 0)");
  CHECK(cell("  dn5 ") == "job 107 (submitted)");
  CHECK(cell("  dn6 ") == "");  // no job: nothing in the column
  const auto dn6 = line_starting(r.out, "  dn6 ");
  REQUIRE(dn6);
  CHECK(words(*dn6)[1] == "total");
  CHECK_FALSE(contains(r.out, "slurm jobs of"));  // the detail is --node's

  const auto dn0 = loom_tool({"show", "chains", "--node", "n0/dn0", "--store", f.store()});
  INFO(dn0.out << dn0.err);
  REQUIRE(dn0.code == 0);
  CHECK(contains(dn0.out, "\nslurm jobs of n0/dn0 (link)\n"
                          "  attempt 0: job 101, exited 3\n"
                          "    script  " + failed.script + "\n"
                          "    stdout  " + failed.out + "\n"
                          "    stderr  " + failed.err + "\n"
                          "  attempt 1: job 102, exited 0\n"
                          "    script  " + retried.script + "\n"
                          "    stdout  " + retried.out + "\n"
                          "    stderr  " + retried.err + "\n"));
  const auto dn1 = loom_tool({"show", "chains", "--node", "n0/dn1", "--store", f.store()});
  CHECK(contains(dn1.out, "slurm jobs of n0/dn1 (link)\n  attempt 0: job 103, submitted\n    script  " + queued.script + "\n"));
  const auto dn2 = loom_tool({"show", "chains", "--node", "n0/dn2", "--store", f.store()});
  CHECK(contains(dn2.out, "slurm jobs of n0/dn2 (link)\n  attempt 0: no job id yet, submitting\n    script  " +
                              unanswered.script + "\n    stdout  " + unanswered.out + "\n    stderr  " + unanswered.err + "\n"));
  const auto dn3 = loom_tool({"show", "chains", "--node", "n0/dn3", "--store", f.store()});
  CHECK(contains(dn3.out, "  attempt 0: job 105, exited 3\n"));
  // --node lists the jobs of that node, not of the nodes inside it.
  const auto n0 = loom_tool({"show", "chains", "--node", "n0", "--store", f.store()});
  CHECK(contains(n0.out, "slurm jobs of n0 (chains)\n  attempt 0: job 100, exited 0\n    script  " + body.script + "\n"));
  CHECK_FALSE(contains(n0.out, "slurm jobs of n0/dn0"));
  CHECK_FALSE(contains(loom_tool({"show", "chains", "--node", "n0/dn6", "--store", f.store()}).out, "slurm jobs of"));

  const auto j = loom_tool({"show", "chains", "--json", "--store", f.store()});
  REQUIRE(j.code == 0);
  const auto doc = json::parse(j.out);
  const auto& root = doc["nodes"][0];
  CHECK(root["slurm"] == json::array({{{"attempt", 0}, {"job", "100"}, {"state", "exited 0"}, {"exit", 0},
                                       {"script", body.script}, {"stdout", body.out}, {"stderr", body.err},
                                       {"comment", "n0#0.1"}, {"record", "chains/n0/job-a0.json"}}}));
  const auto& children = root["children"];
  REQUIRE(children.size() == 7);
  for (std::size_t i = 0; i < 6; ++i) REQUIRE(children[i].contains("slurm"));
  REQUIRE(children[0]["slurm"].size() == 2);
  CHECK(children[0]["slurm"][0]["attempt"] == 0);
  CHECK(children[0]["slurm"][0]["job"] == "101");
  CHECK(children[0]["slurm"][0]["state"] == "exited 3");
  CHECK(children[0]["slurm"][0]["exit"] == 3);
  CHECK(children[0]["slurm"][0]["stderr"] == failed.err);
  CHECK(children[0]["slurm"][1]["attempt"] == 1);
  CHECK(children[0]["slurm"][1]["job"] == "102");
  CHECK(children[0]["slurm"][1]["exit"] == 0);
  CHECK(children[1]["slurm"][0]["state"] == "submitted");
  CHECK(children[1]["slurm"][0]["exit"].is_null());
  CHECK(children[2]["slurm"][0]["job"] == "");
  CHECK(children[2]["slurm"][0]["state"] == "submitting");
  CHECK(children[2]["slurm"][0]["stdout"] == unanswered.out);
  CHECK(children[3]["slurm"][0]["state"] == "exited 3");
  CHECK(children[4]["slurm"][0]["job"] == "106");
  CHECK(children[5]["slurm"][0]["state"] == "submitted");
  CHECK_FALSE(children[6].contains("slurm"));

  // A damaged job record is reported with its key, exit code 1 (the tree is still shown).
  spit(object_path(f, "chains/n0/dn3/job-a0.json"), "{\"job\": \"666\"}");
  const auto damaged = loom_tool({"show", "chains", "--store", f.store()});
  CHECK(damaged.code == 1);
  CHECK(contains(damaged.err, "chains/n0/dn3/job-a0.json"));
  CHECK(line_starting(damaged.out, "  dn0 "));
}

TEST_CASE("show: a map node that ran its items as Slurm jobs, one per batch") {
  store_fixture f;
  f.need("picky");  // n1: the map
  const auto first = write_slurm_job(f, "picky/n1/batch-0/job", "200", 0);
  write_slurm_job(f, "picky/n1/batch-1/job", "201", 3);
  write_slurm_job(f, "picky/n1/batch-2/job", "202", std::nullopt);
  write_slurm_job(f, "picky/n1/batch-10/job", "210", 0);
  const auto r = loom_tool({"show", "picky", "--store", f.store()});
  INFO(r.out << r.err);
  REQUIRE(r.code == 0);
  const auto header = line_starting(r.out, "NODE");
  const auto n1 = line_starting(r.out, "n1 ");
  REQUIRE(header);
  REQUIRE(n1);
  CHECK(n1->substr(header->find("SLURM")) == "4 jobs: 2 exited 0, 1 exited 3, 1 submitted");
  CHECK(contains(r.out, "map n1 (p_picky): 10 items, 8 succeeded, 2 failed, 0 not done\n"));  // still there

  const auto detail = loom_tool({"show", "picky", "--node", "n1", "--store", f.store()});
  INFO(detail.out);
  REQUIRE(detail.code == 0);
  CHECK(contains(detail.out, "slurm jobs of n1 (p_picky)\n  batch 0: job 200, exited 0\n    script  " + first.script +
                                 "\n    stdout  " + first.out + "\n    stderr  " + first.err + "\n"));
  // In batch order (batch 10 after batch 2).
  const auto b1 = detail.out.find("  batch 1: job 201, exited 3\n");
  const auto b2 = detail.out.find("  batch 2: job 202, submitted\n");
  const auto b10 = detail.out.find("  batch 10: job 210, exited 0\n");
  CHECK(b1 != std::string::npos);
  CHECK(b2 != std::string::npos);
  CHECK(b10 != std::string::npos);
  CHECK(b1 < b2);
  CHECK(b2 < b10);

  const auto doc = json::parse(loom_tool({"show", "picky", "--json", "--store", f.store()}).out);
  REQUIRE(doc["nodes"][1].contains("slurm"));
  const auto& jobs = doc["nodes"][1]["slurm"];
  REQUIRE(jobs.size() == 4);
  CHECK(jobs[0]["batch"] == 0);
  CHECK_FALSE(jobs[0].contains("attempt"));
  CHECK(jobs[1]["exit"] == 3);
  CHECK(jobs[3]["batch"] == 10);
  CHECK(jobs[3]["record"] == "picky/n1/batch-10/job.json");
  CHECK(jobs[3]["comment"] == "n1#0.1");
  CHECK_FALSE(doc["nodes"][0].contains("slurm"));
}

// ---------------------------------------------------------------------------------------
// graph

TEST_CASE("graph: DOT of the executed DAG, sub-DAGs as nested clusters, nodes coloured by phase") {
  store_fixture f;
  f.need("nested");
  f.need("fails");
  const auto r = loom_tool({"graph", "nested", "--store", f.store()});
  INFO(r.out << r.err);
  REQUIRE(r.code == 0);
  CHECK(r.out.rfind("digraph \"p_outer_static\" {\n", 0) == 0);
  CHECK(r.out.size() > 2);
  CHECK(r.out.substr(r.out.size() - 2) == "}\n");
  CHECK(std::count(r.out.begin(), r.out.end(), '{') == std::count(r.out.begin(), r.out.end(), '}'));
  // Clusters, nested: dynamic n0, static workflow n0/dn0 inside it, dynamic n0/dn0/n0 inside that.
  for (const char* cluster : {"  subgraph \"cluster_n0\" {", "    subgraph \"cluster_n0/dn0\" {",
                              "      subgraph \"cluster_n0/dn0/n0\" {"}) {
    CHECK(contains(r.out, cluster));
  }
  CHECK(contains(r.out, "label=\"n0/dn0: p_sum_of_squares (workflow)\"; style=dashed;"));
  CHECK(contains(r.out, "label=\"n0: p_twice_sum (dynamic)\"; style=dashed;"));
  // Every node, succeeded green; workflow and dynamic nodes as 3-D boxes.
  const std::string green = "fillcolor=\"#c6e9c0\"";
  CHECK(contains(r.out, "\"n0\" [label=\"p_twice_sum\\nn0\", shape=box3d, " + green));
  CHECK(contains(r.out, "\"n0/dn0/n0/dn2\" [label=\"p_square\\ndn2\", " + green));
  CHECK(contains(r.out, "\"n0/dn0/n1\" [label=\"total\\nn1\", " + green));
  std::size_t statements = 0;
  for (const auto& line : lines_of(r.out)) {
    if (line.find("\" [") != std::string::npos && line.find(" -> ") == std::string::npos) ++statements;
  }
  CHECK(statements == 8 + 1);  // the nodes and the root's input
  // Edges: within a graph, from a sub-DAG's outputs to its node, from the root's input.
  CHECK(contains(r.out, "\"n0/dn0\" -> \"n0/dn1\";"));
  CHECK(contains(r.out, "\"n0/dn0/n0\" -> \"n0/dn0/n1\";"));
  CHECK(contains(r.out, "\"n0/dn1\" -> \"n0\" [style=dashed];"));
  CHECK(contains(r.out, "\"n0/dn0/n0/dn1\" -> \"n0/dn0/n0\" [style=dashed];"));
  CHECK(contains(r.out, "\"input:i0\" -> \"n0\";"));

  // Failed red, not started white and dashed.
  const auto failed = loom_tool({"graph", "fails", "--store", f.store()});
  REQUIRE(failed.code == 0);
  CHECK(contains(failed.out, "\"n0\" [label=\"dies_in_body\\nn0\", shape=box3d, fillcolor=\"#f4b6b6\", tooltip=\"failed: "));
  CHECK(contains(failed.out, "\"n1\" [label=\"add\\nn1\", fillcolor=\"#ffffff\", style=\"rounded,filled,dashed\", "
                             "tooltip=\"not started\"];"));
  CHECK(contains(failed.out, "\"n0\" -> \"n1\";"));
  CHECK(lines_of(failed.out).size() == 9);  // the error's line break is DOT's \n, not a new line
}

TEST_CASE("graph --node PATH: only that node's subgraph") {
  store_fixture f;
  f.need("nested");
  const auto r = loom_tool({"graph", "nested", "--node", "n0/dn0/n0", "--store", f.store()});
  REQUIRE(r.code == 0);
  CHECK(r.out.rfind("digraph \"n0/dn0/n0: p_squares\" {", 0) == 0);
  CHECK(contains(r.out, "subgraph \"cluster_n0/dn0/n0\" {"));
  CHECK(contains(r.out, "\"n0/dn0/n0/dn0\" [label=\"p_square\\ndn0\""));
  CHECK_FALSE(contains(r.out, "\"n0/dn1\""));
  CHECK_FALSE(contains(r.out, "\"n0/dn0/n1\""));
  CHECK_FALSE(contains(r.out, "input:"));
  const auto task = loom_tool({"graph", "nested", "--node", "n0/dn1", "--store", f.store()});
  REQUIRE(task.code == 0);
  CHECK(contains(task.out, "\"n0/dn1\" [label=\"add\\ndn1\""));
  CHECK_FALSE(contains(task.out, "subgraph"));
  const auto bad = loom_tool({"graph", "nested", "--node", "n9", "--store", f.store()});
  CHECK(bad.code == 1);
  CHECK(contains(bad.err, "no node 'n9' in execution nested"));
}

TEST_CASE("graph --format svg: exit code 1 and a clear message without Graphviz, through dot when it is there") {
  store_fixture f;
  f.need("chains");
  scratch_dir bin("tool-test");
  const auto r = loom_tool({"graph", "chains", "--format", "svg", "--store", f.store()}, {{"PATH", bin.path.string()}});
  CHECK(r.code == 1);
  CHECK(r.out.empty());
  CHECK(contains(r.err, "--format svg needs Graphviz's 'dot' program, which is not installed"));
  // A stand-in for dot: the DOT goes to its stdin, its output is ours.
  spit(bin.path / "dot", "#!/bin/sh\necho \"<svg args='$*'>\"\n/bin/cat\necho '</svg>'\n");
  fs::permissions(bin.path / "dot", fs::perms::owner_all);
  const auto piped = loom_tool({"graph", "chains", "--format=svg", "--store", f.store()}, {{"PATH", bin.path.string()}});
  INFO(piped.err);
  CHECK(piped.code == 0);
  CHECK(piped.out.rfind("<svg args='-Tsvg'>\ndigraph \"chains\" {", 0) == 0);
  CHECK(contains(piped.out, "}\n</svg>\n"));
  spit(bin.path / "dot", "#!/bin/sh\n/bin/cat >/dev/null\necho 'dot: syntax error' >&2\nexit 3\n");
  const auto broken = loom_tool({"graph", "chains", "--format", "svg", "--store", f.store()}, {{"PATH", bin.path.string()}});
  CHECK(broken.code == 1);
  CHECK(contains(broken.err, "-Tsvg failed (exit code 3)"));
}

// ---------------------------------------------------------------------------------------
// inspect

#ifdef LOOM_COUNT_CHARACTERS_BINARY
TEST_CASE("inspect: a futures file from the store, by key and by path, node by node or as JSON") {
  store_fixture f;
  f.need("pear");
  const auto r = loom_tool({"inspect", "pear/n0/futures.json", "--store", f.store()});
  INFO(r.err);
  REQUIRE(r.code == 0);
  CHECK(r.out.rfind("futures file pear/n0/futures.json: valid (loom-futures, version 1)\n", 0) == 0);
  CHECK(line_starting(r.out, "workflow: count_characters"));
  CHECK(line_starting(r.out, "entities (3):"));
  CHECK(line_starting(r.out, "  update_list   task  (freq_list: list<integer>, list_index: integer) -> (o0: list<integer>)"));
  CHECK(line_starting(r.out, "nodes (19):"));
  CHECK(line_starting(r.out, "  dn0   return_index(character: \"P\")"));
  CHECK(line_starting(r.out, "  dn1   update_list(freq_list: [0, 0, 0, ... 26 items], list_index: dn0.o0)"));
  CHECK(line_starting(r.out, "  dn18  derive_count(freq1: dn7.o0, freq2: dn17.o0)"));
  CHECK(line_starting(r.out, "outputs: o0 = dn18.o0"));
  // The object file itself, by path: checked against its checksum file, the same
  // content; on disk it is the JSON document its name says.
  CHECK(json::parse(slurp(object_path(f, "pear/n0/futures.json")))["format"] == "loom-futures");
  const auto by_path = loom_tool({"inspect", object_path(f, "pear/n0/futures.json").string()});
  CHECK(by_path.code == 0);
  CHECK(contains(by_path.out, "  dn18  derive_count(freq1: dn7.o0, freq2: dn17.o0)"));
  // --json: the file, indented.
  const auto j = loom_tool({"inspect", "pear/n0/futures.json", "--json", "--store", f.store()});
  REQUIRE(j.code == 0);
  const auto doc = json::parse(j.out);
  CHECK(doc["format"] == "loom-futures");
  CHECK(doc["nodes"].size() == 19);
  CHECK(contains(j.out, "\n  \"nodes\": [\n"));
  // The root graph: a static workflow's graph (`n` ids, inputs by name).
  const auto root = loom_tool({"inspect", "pear/workflow.json", "--store", f.store()});
  CHECK(root.code == 0);
  CHECK(root.out.rfind("workflow graph pear/workflow.json: valid", 0) == 0);
  CHECK(line_starting(root.out, "  n0  count_characters(s1: input:i0, s2: input:i1)"));
}

TEST_CASE("inspect: stored values, in packs (by key) and in files, plain JSON files") {
  store_fixture f;
  f.need("pear");
  // A node's outputs live in the execution's pack.
  CHECK_FALSE(fs::exists(object_path(f, "pear/n0/dn18/outputs.json")));
  const auto r = loom_tool({"inspect", "pear/n0/dn18/outputs.json", "--store", f.store()});
  CHECK(r.code == 0);
  CHECK(r.out == "{\n  \"o0\": 3\n}\n");
  const auto list = loom_tool({"inspect", "pear/n0/dn1/outputs.json", "--store", f.store()});
  CHECK(list.code == 0);
  CHECK(list.out == "{\n  \"o0\": [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]\n}\n");
  const auto inputs = loom_tool({"inspect", "pear/inputs.json"}, {{"LOOM_STORE", f.store()}});
  CHECK(inputs.code == 0);
  CHECK(json::parse(inputs.out) == json{{"entity", "start_wf"}, {"inputs", {{"i0", "Pear"}, {"i1", "Earth"}}}});
  scratch_dir dir("tool-test");
  spit(dir.path / "value.json", "{\"b\": [1, 2], \"a\": {\"c\": null}}");
  const auto plain = loom_tool({"inspect", (dir.path / "value.json").string()});
  CHECK(plain.code == 0);
  CHECK(plain.out == "{\n  \"a\": {\n    \"c\": null\n  },\n  \"b\": [1, 2]\n}\n");
  // A pack, record by record.
  fs::path pack;
  for (const auto& e : fs::directory_iterator(f.root / "pear" / "packs")) pack = e.path();
  const auto records = loom_tool({"inspect", pack.string()});
  CHECK(records.code == 0);
  CHECK(contains(records.out, "pack " + pack.string() + ": 20 records"));
  CHECK(contains(records.out, "pear/n0/dn18/outputs.json  8      ok"));
  const auto missing = loom_tool({"inspect", "pear/n0/dn99/outputs.json", "--store", f.store()});
  CHECK(missing.code == 1);
  CHECK(contains(missing.err, "no object pear/n0/dn99/outputs.json in the store"));
  const auto no_file = loom_tool({"inspect", (dir.path / "nope.json").string()});
  CHECK(no_file.code == 1);
  CHECK(contains(no_file.err, "no file " + (dir.path / "nope.json").string()));
}
#endif

TEST_CASE("inspect: a compact record of a pack that does not read is damaged there too, as reading its key says") {
  scratch_dir dir("tool-test");
  loom::object_store store(dir.path);
  const std::string good = loom_test::compact_body(std::int64_t{5});
  std::string bad = good;
  bad.back() = static_cast<char>(0x80);  // (a number that does not end; its checksum is right)
  {
    loom::pack_writer pack(store, "ex-1");
    pack.append("ex-1/n0/dn0/outputs.json", good);
    pack.append("ex-1/n0/dn1/outputs.json", bad);
    pack.flush();
  }
  fs::path pack;
  for (const auto& e : fs::directory_iterator(dir.path / "ex-1" / "packs")) pack = e.path();
  const auto records = loom_tool({"inspect", pack.string()});
  CHECK(records.code == 1);
  CHECK(contains(records.out, "ex-1/n0/dn0/outputs.json"));
  CHECK(contains(records.err, "ex-1/n0/dn1/outputs.json at offset "));
  CHECK(contains(records.err, "compact value: cut short inside a number"));
  const auto value = loom_tool({"inspect", "ex-1/n0/dn0/outputs.json", "--store", dir.path.string()});
  CHECK(value.code == 0);
  CHECK(value.out == "{\n  \"o0\": 5\n}\n");
  const auto damaged = loom_tool({"inspect", "ex-1/n0/dn1/outputs.json", "--store", dir.path.string()});
  CHECK(damaged.code == 1);
  CHECK(contains(damaged.err, "compact value: cut short inside a number"));
}

#ifdef LOOM_FUTURES_FORMS_BINARY
TEST_CASE("inspect: every binding form, a subworkflow and stored literals (checked against the store)") {
  store_fixture f;
  f.need("forms");
  const auto r = loom_tool({"inspect", "forms/n0/futures.json", "--store", f.store()});
  INFO(r.err);
  REQUIRE(r.code == 0);
  CHECK(line_starting(r.out, "  dn6  join(parts: [dn5.o0, stored:forms/n0/literals/6.json])"));
  CHECK(line_starting(r.out, "  dn7  weigh(by_key: {\"one\": dn1.o0, \"seven\": 7})"));
  CHECK(line_starting(r.out, "  dn8  place(p: stored:forms/n0/literals/7.json, scale: null, tag: [true,\"t\"])"));
  CHECK(line_starting(r.out, "  dn9  map square(x: [dn0.o0, dn1.o0, dn2.o0, dn3.o0]) over \"x\""));
  CHECK(line_starting(r.out, "subworkflows (1):"));
  CHECK(line_starting(r.out, "  pair_total(a, b):"));
  CHECK(line_starting(r.out, "    n3  total(xs: [input:a, n1.o0, n2.o0, n0.o0])"));
  CHECK(line_starting(r.out, "    outputs: o0 = n3.o0"));
  // A stored literal that no longer matches its port's type is a problem of the file.
  loom::object_store store(f.root);
  store.put("forms/n0/literals/7.json", "{\"x\": \"far\", \"y\": 2.0}");
  const auto bad = loom_tool({"inspect", "forms/n0/futures.json", "--store", f.store()});
  CHECK(bad.code == 1);
  CHECK(contains(bad.err, "node dn8 input 'p': stored object 'forms/n0/literals/7.json' does not match "
                          "point{x: float, y: float}: p.x: expected float, got string"));
  // show and graph read the same files: the tree draws, the problem is reported.
  const auto show = loom_tool({"show", "forms", "--store", f.store()});
  CHECK(show.code == 1);
  CHECK(contains(show.out, "  dn4   pair_total"));
  CHECK(contains(show.err, "forms/n0/futures.json: futures file rejected (1 problem)"));
}
#endif

TEST_CASE("inspect: a damaged object file is reported with its key by inspect, show and graph") {
  store_fixture f;
  f.need("chains");
  const std::string key = "chains/n0/futures.json";
  std::string bytes = slurp(object_path(f, key));
  bytes[bytes.find("\"link\"") + 1] = 'L';  // one byte of the payload
  spit(object_path(f, key), bytes);
  const std::string damage = "object store: " + key + " is damaged (checksum mismatch)";
  const auto r = loom_tool({"inspect", key, "--store", f.store()});
  CHECK(r.code == 1);
  CHECK(r.out.empty());
  CHECK(contains(r.err, damage));
  const auto by_path = loom_tool({"inspect", object_path(f, key).string()});
  CHECK(by_path.code == 1);
  CHECK(contains(by_path.err, object_path(f, key).string() + " is damaged (checksum mismatch)"));
  const auto show = loom_tool({"show", "chains", "--store", f.store()});
  CHECK(show.code == 1);
  CHECK(contains(show.err, damage));
  CHECK(line_starting(show.out, "  dn6 "));  // the rows still tell the tree
  const auto graph = loom_tool({"graph", "chains", "--store", f.store()});
  CHECK(graph.code == 1);
  CHECK(graph.out.empty());
  CHECK(contains(graph.err, damage));
}

TEST_CASE("inspect: a truncated futures file, as an object and as plain JSON") {
  store_fixture f;
  f.need("chains");
  const std::string key = "chains/n0/futures.json";
  const std::string payload = slurp(object_path(f, key));
  REQUIRE(payload.front() == '{');  // on disk, the JSON document itself (its checksum is beside it)
  spit(object_path(f, key), payload.substr(0, payload.size() - 30));
  const auto r = loom_tool({"inspect", key, "--store", f.store()});
  CHECK(r.code == 1);
  CHECK(contains(r.err, "object store: " + key + " is damaged (checksum mismatch)"));
  CHECK(loom_tool({"graph", "chains", "--store", f.store()}).code == 1);
  scratch_dir dir("tool-test");
  const fs::path plain = dir.path / "futures.json";
  spit(plain, payload.substr(0, payload.size() / 2));
  const auto cut = loom_tool({"inspect", plain.string()});
  CHECK(cut.code == 1);
  CHECK(contains(cut.err, plain.string() + ": futures file rejected (1 problem)"));
  CHECK(contains(cut.err, "not valid JSON (truncated or corrupt?)"));
}

TEST_CASE("inspect: a damaged record in a pack, by key and as a pack") {
  store_fixture f;
  f.need("chains");
  fs::path pack;
  for (const auto& e : fs::directory_iterator(f.root / "chains" / "packs")) pack = e.path();
  std::string bytes = slurp(pack);
  bytes[find_pack_record(bytes, "n0/dn3/outputs.json").bytes + 2] ^= 1;
  spit(pack, bytes);
  const auto r = loom_tool({"inspect", "chains/n0/dn3/outputs.json", "--store", f.store()});
  CHECK(r.code == 1);
  CHECK(contains(r.err, "object store: chains/n0/dn3/outputs.json is damaged (checksum mismatch in chains/packs/"));
  CHECK(loom_tool({"inspect", "chains/n0/dn2/outputs.json", "--store", f.store()}).code == 0);
  const auto whole = loom_tool({"inspect", pack.string()});
  CHECK(whole.code == 1);
  CHECK(contains(whole.out, "chains/n0/dn3/outputs.json  8      checksum mismatch"));
  CHECK(contains(whole.err, pack.string() + " is damaged: chains/n0/dn3/outputs.json at offset "));
}

TEST_CASE("inspect: a structurally invalid futures file: every problem, from its own entities table") {
  scratch_dir dir("tool-test");
  const auto entity = R"("t": {"kind": "task", "version": "1", "interface": {
      "inputs": [{"name": "x", "type": "integer"}, {"name": "xs", "type": {"list": "integer"}}],
      "outputs": [{"name": "o0", "type": "string"}]}})";
  const std::string bad = std::string(R"({"format": "loom-futures", "version": 1, "workflow": "w", "entities": {)") +
                          entity + R"(}, "nodes": [
      {"id": "dn0", "entity": "t", "inputs": {"x": {"ref": "dn1.o0"}, "xs": {"literal": []}}},
      {"id": "dn1", "entity": "t", "inputs": {"x": {"literal": 1}, "xs": {"list": [{"ref": "dn0.o0"}]}}},
      {"id": "dn2", "entity": "u", "inputs": {}},
      {"id": "dn3", "entity": "t", "inputs": {"x": {"literal": "seven"}, "xs": {"literal": [1]}, "y": {"literal": 1}}},
      {"id": "dn4", "entity": "t", "inputs": {"x": {"ref": "dn9.o0"}, "xs": {"input": "i0"}}},
      {"id": "dn4", "entity": "t", "inputs": {"xs": {"literal": [1, "2"]}}}],
    "outputs": {"o0": {"ref": "dn0.o0"}}, "subworkflows": {}})";
  spit(dir.path / "bad.json", bad);
  const auto r = loom_tool({"inspect", (dir.path / "bad.json").string()});
  INFO(r.err);
  CHECK(r.code == 1);
  CHECK(json::parse(r.out)["workflow"] == "w");  // still shown, indented
  for (const char* problem : {
           "bad.json: futures file rejected (11 problems)",
           "  - node dn4: duplicate id",
           "  - node dn2: entity 'u' is missing from the entities table",
           "  - node dn0 input 'x': type mismatch: expected integer, found string (output o0 of node dn1, t)",
           "  - node dn1 input 'xs'[0]: type mismatch: expected integer, found string (output o0 of node dn0, t)",
           "  - node dn3 input 'x': literal does not match integer: x: expected integer, got string",
           "  - node dn3: unknown input 'y' for t",
           "  - node dn4 input 'x': dangling reference to node dn9 (no such node)",
           "  - node dn4 input 'xs': not a binding here: \"input\" (only in a static workflow's graph)",
           "  - node dn4 input 'x': no binding (expected integer)",
           "  - node dn4 input 'xs': literal does not match list<integer>: xs[1]: expected integer, got string",
           "  - cycle: 2 nodes wait on each other, among them dn0, dn1",
       }) {
    CHECK(contains(r.err, problem));
  }
  // A field version 1 does not have; another version; the node limit.
  const std::string head = std::string(R"({"format": "loom-futures", "version": 1, "workflow": "w", "entities": {)") + entity + "}";
  const std::string node0 = R"({"id": "dn0", "entity": "t", "inputs": {"x": {"literal": 1}, "xs": {"list": [{"literal": 1}]}}})";
  spit(dir.path / "extra.json", head + R"(, "nodes": [)" + node0 + R"(], "outputs": {"o0": {"ref": "dn0.o0"}}, "subworkflows": {}, "extra": 1})");
  const auto extra = loom_tool({"inspect", (dir.path / "extra.json").string()});
  CHECK(extra.code == 1);
  CHECK(contains(extra.err, "futures file rejected (1 problem)\n  - unknown field \"extra\" (version 1 has no such field)"));
  spit(dir.path / "v2.json", R"({"format": "loom-futures", "version": 2})");
  const auto v2 = loom_tool({"inspect", (dir.path / "v2.json").string()});
  CHECK(v2.code == 1);
  CHECK(contains(v2.err, "unsupported version 2 (this reader knows version 1)"));
  std::string chain = head + R"(, "outputs": {}, "subworkflows": {}, "nodes": [)" + node0;
  for (int i = 1; i < 5; ++i) {
    chain += R"(, {"id": "dn)" + std::to_string(i) + R"(", "entity": "t", "inputs": {"x": {"literal": 0}, "xs": {"literal": []}}})";
  }
  spit(dir.path / "five.json", chain + "]}");
  CHECK(loom_tool({"inspect", (dir.path / "five.json").string()}).code == 0);
  const auto limited = loom_tool({"inspect", (dir.path / "five.json").string(), "--max-nodes", "4"});
  CHECK(limited.code == 1);
  CHECK(contains(limited.err, "too many nodes: 5, over the limit of 4"));
  CHECK(loom_tool({"inspect", (dir.path / "five.json").string(), "--max-nodes", "many"}).code == 2);
  // Nesting deep enough to overflow a recursive printer: refused, not a crash.
  spit(dir.path / "deep.json", std::string(100000, '[') + std::string(100000, ']'));
  const auto deep = loom_tool({"inspect", (dir.path / "deep.json").string()});
  CHECK(deep.code == 1);
  CHECK(contains(deep.err, "deep.json: nested 100000 levels deep, over the limit of 1000"));
  spit(dir.path / "futures.json", std::string(5000, '{') + "}");
  const auto deep_graph = loom_tool({"inspect", (dir.path / "futures.json").string()});
  CHECK(deep_graph.code == 1);
  CHECK(contains(deep_graph.err, "nested 5000 levels deep, over the limit of 1000"));
}

#ifdef LOOM_COUNT_CHARACTERS_BINARY
// One reader of the format (loom/detail/futures_document.hpp): the same damage gives the
// same problems, word for word and in the same order, from `loom inspect` (no registry,
// the file's own entities table) and from the executor's loom::read_futures_file (this
// process's registry).
TEST_CASE("inspect and the executor's reader report the same damage with the same problems") {
  // The futures file of this process's count_characters (its entities as registered
  // here: without the code generator, inputs are named i0, i1, ...).
  scratch_dir dir("tool-test");
  loom::object_store store(dir.path / "store");
  loom::executor ex({.threads = 1});
  loom::run_options options;
  options.store = &store;
  options.execution_id = "same";
  REQUIRE(ex.run(options, start_wf, "Pear", "Earth") == 3);
  const auto* counting = loom::detail::registry::global().find("count_characters");
  REQUIRE(counting != nullptr);
  const json valid = json::parse(*store.get("same/n0/futures.json"));
  const auto input = [&](const char* entity, int i) {
    return valid["entities"][entity]["interface"]["inputs"][i]["name"].get<std::string>();
  };
  const std::string character = input("return_index", 0), freq = input("update_list", 0), index = input("update_list", 1);
  // dn0 return_index("P"), dn1 update_list(freq, dn0), dn2 return_index("e"), dn3 update_list(dn1, dn2), ...
  REQUIRE(valid["nodes"][3]["inputs"][freq] == json{{"ref", "dn1.o0"}});
  const std::vector<std::pair<std::string, std::function<void(json&)>>> damages = {
      {"a cycle", [&](json& d) { d["nodes"][1]["inputs"][freq] = {{"ref", "dn3.o0"}}; }},
      {"a dangling ref", [&](json& d) { d["nodes"][1]["inputs"][index] = {{"ref", "dn99.o0"}}; }},
      {"a ref to no output", [&](json& d) { d["nodes"][1]["inputs"][index] = {{"ref", "dn0.o7"}}; }},
      {"a ref without a dot", [&](json& d) { d["nodes"][1]["inputs"][index] = {{"ref", "dn0"}}; }},
      {"a ref of the wrong type", [&](json& d) { d["nodes"][3]["inputs"][freq] = {{"ref", "dn0.o0"}}; }},
      {"a literal of the wrong type", [&](json& d) { d["nodes"][1]["inputs"][freq] = {{"literal", {0, 1, "x"}}}; }},
      {"a duplicate id", [&](json& d) { d["nodes"][2]["id"] = "dn0"; }},
      {"an unknown input, a missing one",
       [&](json& d) {
         d["nodes"][1]["inputs"]["surprise"] = {{"literal", 1}};
         d["nodes"][0]["inputs"].erase(character);
       }},
      {"not a binding", [&](json& d) { d["nodes"][0]["inputs"][character] = 5; }},
      {"a list where none fits", [&](json& d) { d["nodes"][0]["inputs"][character] = {{"list", json::array()}}; }},
      {"an entity missing from the table", [&](json& d) { d["entities"].erase("derive_count"); }},
      {"a bad interface", [&](json& d) { d["entities"]["return_index"]["interface"] = {{"inputs", 1}}; }},
      {"a bad map", [&](json& d) { d["nodes"][0]["map"] = {{"mapped", {"nope"}}}; }},
      {"a map over a non-list", [&](json& d) { d["nodes"][0]["map"] = {{"mapped", {character}}}; }},
      {"no outputs", [&](json& d) { d.erase("outputs"); }},
      {"another version", [&](json& d) { d["version"] = 2; }},
      {"no nodes", [&](json& d) { d["nodes"] = json::object(); }},
  };
  for (const auto& [what, damage] : damages) {
    INFO(what);
    json doc = valid;
    damage(doc);
    std::vector<std::string> executor;
    try {
      (void)loom::read_futures_file(doc.dump(), "futures.json", {}, counting);
    } catch (const loom::futures_error& e) {
      executor = e.problems();
    }
    REQUIRE_FALSE(executor.empty());
    spit(dir.path / "futures.json", doc.dump());
    const auto r = loom_tool({"inspect", (dir.path / "futures.json").string()});
    CHECK(r.code == 1);
    std::vector<std::string> tool;
    for (const auto& line : lines_of(r.err)) {
      if (line.rfind("  - ", 0) == 0) tool.push_back(line.substr(4));
    }
    CHECK(tool == executor);
  }
}
#endif

TEST_CASE("a damaged database is reported with its file name, exit code 1") {
  store_fixture f;
  f.need("chains");
  const fs::path db = f.root / "loom.db";
  std::string bytes = slurp(db);
  REQUIRE(bytes.size() > 4096);
  bytes.replace(0, 16, "not a database!!");
  spit(db, bytes);
  for (const std::vector<std::string>& args : {std::vector<std::string>{"executions"}, {"show", "chains"},
                                              {"graph", "chains"}, {"gc", "--before", "2100-01-01"}}) {
    auto with_store = args;
    with_store.insert(with_store.end(), {"--store", f.store()});
    const auto r = loom_tool(with_store);
    INFO(args[0] << ": " << r.err);
    CHECK(r.code == 1);
    CHECK(contains(r.err, "state store " + db.string() + " is damaged"));
  }
  // Damage past the header: found when the rows are read.
  bytes.replace(0, 16, std::string("SQLite format 3\0", 16));
  for (std::size_t i = 4096; i < bytes.size(); ++i) bytes[i] = '\xff';
  spit(db, bytes);
  const auto r = loom_tool({"executions", "--store", f.store()});
  CHECK(r.code == 1);
  CHECK(contains(r.err, "state store " + db.string() + " is damaged: database disk image is malformed"));
}

// ---------------------------------------------------------------------------------------
// gc

TEST_CASE("gc: deletes exactly the executions started before DATE, objects and rows, --dry-run deletes nothing") {
  store_fixture f;
  for (const char* id : {"chains", "nested", "boom"}) f.need(id);
  // Make two of them old: started 2020-01-01 and 2020-01-03.
  const std::int64_t jan1 = days_us(18262);  // 2020-01-01T00:00:00Z
  set_started(f.root, "chains", jan1 + 3'600'000'000);
  set_started(f.root, "boom", jan1 + days_us(2));
  const auto dry = loom_tool({"gc", "--before", "2021-01-01", "--dry-run", "--store", f.store()});
  INFO(dry.err);
  REQUIRE(dry.code == 0);
  const auto dry_lines = lines_of(dry.out);
  REQUIRE(dry_lines.size() == 3);
  CHECK(dry_lines[0].rfind("would delete chains (chains, succeeded, started 2020-01-01T01:00:00Z): ", 0) == 0);
  CHECK(dry_lines[1].rfind("would delete boom (fail_with, failed, started 2020-01-03T00:00:00Z): ", 0) == 0);
  CHECK(dry_lines[2].rfind("would delete 2 executions started before 2021-01-01T00:00:00Z (", 0) == 0);
  CHECK(fs::exists(f.root / "chains"));
  CHECK(loom_tool({"show", "chains", "--store", f.store()}).code == 0);

  // A full ISO 8601 time: only the first one started before it.
  const auto one = loom_tool({"gc", "--before", "2020-01-02T12:30:00+02:00", "--store", f.store()});
  REQUIRE(one.code == 0);
  CHECK(lines_of(one.out).size() == 2);
  CHECK(one.out.rfind("deleted chains (chains, succeeded, started 2020-01-01T01:00:00Z): ", 0) == 0);
  CHECK_FALSE(fs::exists(f.root / "chains"));
  CHECK(fs::exists(f.root / "boom"));

  const auto rest = loom_tool({"gc", "--before", "2021-01-01", "--store", f.store()});
  REQUIRE(rest.code == 0);
  CHECK(rest.out.rfind("deleted boom (fail_with, failed, started 2020-01-03T00:00:00Z): ", 0) == 0);
  CHECK(contains(rest.out, "deleted 1 execution started before 2021-01-01T00:00:00Z ("));
  CHECK_FALSE(fs::exists(f.root / "boom"));
  // What is left: the new one, whole.
  const auto list = json::parse(loom_tool({"executions", "--json", "--store", f.store()}).out);
  REQUIRE(list.size() == 1);
  CHECK(list[0]["id"] == "nested");
  CHECK(loom_tool({"show", "boom", "--store", f.store()}).code == 1);
  CHECK(loom_tool({"graph", "nested", "--store", f.store()}).code == 0);
  loom::state_store states(loom::state_store::default_path(f.root), false);
  CHECK(states.nodes("chains").empty());
  CHECK(states.nodes("nested").size() == 8);
  const auto none = loom_tool({"gc", "--before", "2021-01-01", "--store", f.store()});
  CHECK(none.code == 0);
  CHECK(none.out == "deleted 0 executions started before 2021-01-01T00:00:00Z (0 B)\n");
}

// ---------------------------------------------------------------------------------------
// A run killed with SIGKILL

TEST_CASE("a running execution: gc keeps it, killed with SIGKILL, it is shown as interrupted, and gc deletes it") {
  scratch_dir dir("tool-test");
  const std::string store = (dir.path / "store").string();
  // Two chains of 1,000 links of 2 ms each: about 2 s if nobody kills it.
  const pid_t pid = spawn({LOOM_RESUME_TASKS_BINARY, "run", "chains", "--count", "2", "--length", "1000", "--store",
                           store, "--execution-id", "slow", "--threads", "2"},
                          {{"LOOM_TEST_TASK_US", "2000"}, {"LOOM_TEST_LOG", std::nullopt}}, dir.path / "run.out",
                          dir.path / "run.err");
  struct reaper {
    pid_t pid;
    bool done = false;
    ~reaper() {
      if (!done) {
        ::kill(pid, SIGKILL);
        wait_for(pid);
      }
    }
  } guard{pid};
  // Wait until it is on record with some nodes done.
  json row;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (std::chrono::steady_clock::now() < deadline) {
    if (fs::exists(dir.path / "store" / "loom.db")) {
      const auto r = loom_tool({"executions", "--json", "--store", store});
      if (r.code == 0) {
        const auto list = json::parse(r.out);
        if (!list.empty() && list[0]["nodes_done"].get<std::int64_t>() >= 20) {
          row = list[0];
          break;
        }
      }
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  REQUIRE(row.is_object());
  REQUIRE(row["nodes_done"] < 2000);  // still running
  CHECK(row["status"] == "running");
  CHECK(row["owner_alive"] == true);
  CHECK(row["owner"].get<std::string>().substr(row["owner"].get<std::string>().rfind(':') + 1) == std::to_string(pid));
  const auto kept = loom_tool({"gc", "--before", "2100-01-01", "--store", store});
  CHECK(kept.code == 0);
  CHECK(contains(kept.out, "kept slow (chains, running, started "));
  CHECK(contains(kept.out, "it is running, and its owner " + row["owner"].get<std::string>() + " is alive"));
  CHECK(contains(kept.out, "deleted 0 executions started before 2100-01-01T00:00:00Z (0 B), kept 1 running"));
  CHECK(fs::exists(dir.path / "store" / "slow"));

  ::kill(pid, SIGKILL);
  CHECK(wait_for(pid) == 128 + SIGKILL);
  guard.done = true;

  const auto table = loom_tool({"executions", "--store", store});
  REQUIRE(table.code == 0);
  const auto line = line_starting(table.out, "slow ");
  REQUIRE(line);
  CHECK(words(*line)[1] == "chains");
  CHECK(words(*line)[2] == "interrupted");
  const auto list = json::parse(loom_tool({"executions", "--json", "--store", store}).out);
  CHECK(list[0]["status"] == "interrupted");
  CHECK(list[0]["recorded_status"] == "running");
  CHECK(list[0]["owner_alive"] == false);
  const auto show = loom_tool({"show", "slow", "--store", store});
  CHECK(show.code == 0);
  CHECK(line_starting(show.out, "status     interrupted (recorded as running)"));
  const auto n0 = line_starting(show.out, "n0 ");
  REQUIRE(n0);
  const auto n0_words = words(*n0);
  CHECK(std::vector<std::string>(n0_words.begin(), n0_words.begin() + 4) ==
        std::vector<std::string>{"n0", "chains", "dynamic", "running"});
  CHECK(contains(show.out, "not started"));  // links after the kill: in the futures file, never started
  const auto graph = loom_tool({"graph", "slow", "--store", store});
  CHECK(graph.code == 0);
  CHECK(contains(graph.out, "\"n0\" [label=\"chains\\nn0\", shape=box3d, fillcolor=\"#fff2a8\""));  // running
  CHECK(contains(graph.out, "\"n0/dn999\" [label=\"link\\ndn999\", fillcolor=\"#ffffff\", style=\"rounded,filled,dashed\""));

  const auto gone = loom_tool({"gc", "--before", "2100-01-01", "--store", store});
  CHECK(gone.code == 0);
  CHECK(contains(gone.out, "deleted slow (chains, interrupted, started "));
  CHECK_FALSE(fs::exists(dir.path / "store" / "slow"));
  CHECK(json::parse(loom_tool({"executions", "--json", "--store", store}).out).empty());
}

namespace {

/// Every directory and file under `root` (the root included) whose permission bits are
/// not `dir_mode` / `file_mode`, one per line: "0644 loom.db".
std::string modes_other_than(const fs::path& root, unsigned dir_mode, unsigned file_mode) {
  std::string wrong;
  auto check = [&](const fs::path& path) {
    struct ::stat st {};
    REQUIRE(::lstat(path.c_str(), &st) == 0);
    const unsigned mode = static_cast<unsigned>(st.st_mode) & 07777U;
    const unsigned want = S_ISDIR(st.st_mode) ? dir_mode : file_mode;
    if (mode != want) {
      char text[16];
      std::snprintf(text, sizeof text, "%04o ", mode);
      wrong += text + fs::relative(path, root).string() + "\n";
    }
  };
  check(root);
  for (const auto& entry : fs::recursive_directory_iterator(root)) check(entry.path());
  return wrong;
}

}  // namespace

TEST_CASE("a store is private to its owner: directories 0700, files 0600, its root's mode is the user's choice") {
  const mode_t old_umask = ::umask(022);  // a usual umask: Loom, not the umask, makes the store private
  store_fixture fixture;  // its root does not exist: the first run creates it
  // Runs of every kind: a dynamic workflow (packs), nested workflows, a map, a failure
  // on the process backend (node processes write the store), the seed's example.
  for (const char* id : {"chains", "nested", "picky", "fails", "boom"}) fixture.need(id);
  CHECK(fs::exists(fixture.root / "loom.db"));
  CHECK(fs::exists(fixture.root / "chains" / "packs"));
  CHECK(modes_other_than(fixture.root, 0700, 0600) == "");  // (on failure, the paths and their modes)

  // A user who wants the group to read a store opens up its root: what is created in it
  // from then on follows (without execute bits on files), and Loom leaves the root alone.
  scratch_dir shared("tool-test-shared");
  const fs::path root = shared.path / "store";
  fs::create_directories(root);
  REQUIRE(::chmod(root.c_str(), 0750) == 0);
  const auto r = run_program({LOOM_RESUME_TASKS_BINARY, "run", "chains", "--count", "2", "--length", "3", "--store",
                              root.string(), "--execution-id", "grouped"});
  INFO(r.err);
  REQUIRE(r.code == 0);
  CHECK(modes_other_than(root, 0750, 0640) == "");
  const auto shown = loom_tool({"show", "grouped", "--store", root.string()});
  CHECK(shown.code == 0);
  ::umask(old_umask);
}
