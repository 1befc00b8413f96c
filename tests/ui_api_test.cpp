// The JSON of `loom ui` (tools/ui_api.hpp; the contract: docs/ui.md) on stores recorded by
// real workflow binaries: the executions list and its filters, an execution, a level of
// its node tree (paged), a node's inputs, outputs and futures file, a level as a graph
// (collapsed into groups when large), a map node's items, the timeline; bad parameters
// and unknown ids; and not a byte of the store changed by any of it.
#include <catch2/catch.hpp>

#include "tool_fixture.hpp"
#include "ui_api.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <fstream>
#include <map>
#include <sstream>
#include <string>

namespace {

using namespace loom_tool_test;
using json = nlohmann::json;

json ok(const loom_tool::api_answer& a) {
  INFO(a.body);
  REQUIRE(a.status == 200);
  return json::parse(a.body);
}

loom_tool::api_params params(std::initializer_list<std::pair<const std::string, std::string>> list) {
  return loom_tool::api_params(list);
}

/// Every file of a directory tree with its bytes.
std::map<std::string, std::string> snapshot(const fs::path& root) {
  std::map<std::string, std::string> files;
  for (const auto& entry : fs::recursive_directory_iterator(root)) {
    if (!entry.is_regular_file()) continue;
    std::ifstream in(entry.path(), std::ios::binary);
    std::ostringstream bytes;
    bytes << in.rdbuf();
    files[fs::relative(entry.path(), root).string()] = bytes.str();
  }
  return files;
}

}  // namespace

TEST_CASE("ui api: the executions, newest first, filtered by status and workflow") {
  store_fixture f;
  f.need("chains");
  f.need("boom");
  loom_tool::ui_api api(f.root);
  const auto all = ok(api.executions({}));
  REQUIRE(all["executions"].size() == 2);
  CHECK(all["total"] == 2);
  CHECK(all["executions"][0]["id"] == "boom");  // recorded last
  CHECK(all["executions"][1]["id"] == "chains");
  CHECK(all["executions"][1]["status"] == "succeeded");
  CHECK(all["executions"][1]["nodes_done"] == all["executions"][1]["nodes_total"]);
  CHECK(all["workflows"].size() == 2);
  const auto failed = ok(api.executions(params({{"status", "failed"}})));
  REQUIRE(failed["executions"].size() == 1);
  CHECK(failed["executions"][0]["id"] == "boom");
  const auto by_workflow = ok(api.executions(params({{"workflow", all["executions"][1]["workflow"]}})));
  REQUIRE(by_workflow["executions"].size() == 1);
  CHECK(by_workflow["executions"][0]["id"] == "chains");
  const auto page = ok(api.executions(params({{"offset", "1"}, {"limit", "1"}})));
  REQUIRE(page["executions"].size() == 1);
  CHECK(page["executions"][0]["id"] == "chains");
  CHECK(page["total"] == 2);
  const auto bad = api.executions(params({{"limit", "ten"}}));
  CHECK(bad.status == 400);
  CHECK_THAT(bad.body, Catch::Contains("limit: expected a non-negative integer, got 'ten'"));
}

TEST_CASE("ui api: an empty store lists nothing, an unknown execution, node or API is a 404 naming it") {
  scratch_dir dir("ui-api-empty");
  loom_tool::ui_api empty(dir.path);
  CHECK(ok(empty.executions({}))["executions"].empty());
  const auto none = empty.execution("ex-nope", "", {});
  CHECK(none.status == 404);
  CHECK_THAT(none.body, Catch::Contains("ex-nope"));

  store_fixture f;
  f.need("chains");
  loom_tool::ui_api api(f.root);
  const auto unknown = api.execution("ex-nope", "", {});
  CHECK(unknown.status == 404);
  CHECK_THAT(unknown.body, Catch::Contains("no execution 'ex-nope'"));
  const auto no_node = api.execution("chains", "node", params({{"path", "n0/dn99"}}));
  CHECK(no_node.status == 404);
  CHECK_THAT(no_node.body, Catch::Contains("no node 'n0/dn99' in execution chains"));
  CHECK(api.execution("chains", "nonsense", {}).status == 404);
  CHECK(api.execution("chains", "children", params({{"path", "../../etc"}})).status == 404);
  CHECK(api.page_exists("chains", std::nullopt, std::nullopt) == true);
  CHECK(api.page_exists("chains", std::string("n0/dn1"), std::nullopt) == true);
  CHECK(api.page_exists("chains", std::string("n0/dn99"), std::nullopt) == false);
  CHECK(api.page_exists("chains", std::string("n0/dn1"), std::uint64_t{0}) == false);  // not a map node
  CHECK(api.page_exists("ex-nope", std::nullopt, std::nullopt) == false);
}

TEST_CASE("ui api: an execution, its levels paged, a node's inputs, outputs, futures file and breadcrumbs") {
  store_fixture f;
  f.need("chains");  // 2 chains of 3 links, then total: n0, n0/dn0 .. n0/dn6
  loom_tool::ui_api api(f.root);
  const auto e = ok(api.execution("chains", "", {}));
  CHECK(e["execution"]["id"] == "chains");
  CHECK(e["root"]["child_count"] == 1);
  CHECK(e["problems"].empty());

  const auto top = ok(api.execution("chains", "children", {}));
  REQUIRE(top["children"].size() == 1);
  const auto n0 = top["children"][0];
  CHECK(n0["path"] == "n0");
  CHECK(n0["kind"] == "dynamic");
  CHECK(n0["phase"] == "succeeded");
  CHECK(n0["child_count"] == 7);

  const auto level = ok(api.execution("chains", "children", params({{"path", "n0"}})));
  CHECK(level["total"] == 7);
  REQUIRE(level["children"].size() == 7);
  for (const auto& c : level["children"]) CHECK(c["phase"] == "succeeded");
  const auto paged = ok(api.execution("chains", "children", params({{"path", "n0"}, {"offset", "5"}, {"limit", "10"}})));
  REQUIRE(paged["children"].size() == 2);
  CHECK(paged["children"][0]["path"] == level["children"][5]["path"]);

  // A node fed by another: its input's binding, and the value its producer output.
  json fed;
  for (const auto& c : level["children"]) {
    const auto detail = ok(api.execution("chains", "node", params({{"path", c["path"]}})));
    REQUIRE(detail["inputs"].is_object());
    for (const auto& [name, input] : detail["inputs"].items()) {
      if (input["binding"].get<std::string>().find(".o0") != std::string::npos) fed = detail;
    }
  }
  REQUIRE_FALSE(fed.is_null());
  CHECK(fed["outputs"]["value"].is_object());
  for (const auto& [name, input] : fed["inputs"].items()) {
    INFO(name << ": " << input.dump());
    CHECK(input.contains("value"));  // a literal, or what the producer output (kept in the run's pack)
  }
  REQUIRE(fed["breadcrumbs"].size() == 3);
  CHECK(fed["breadcrumbs"][0]["path"] == "");
  CHECK(fed["breadcrumbs"][1]["path"] == "n0");
  CHECK(fed["breadcrumbs"][2]["path"] == fed["node"]["path"]);
  // The dynamic node's futures file, parsed: the level's nodes.
  const auto body = ok(api.execution("chains", "node", params({{"path", "n0"}})));
  REQUIRE(body["futures"]["value"].is_object());
  CHECK(body["futures"]["value"]["nodes"].size() == 7);
  // The execution itself: its inputs and outputs.
  const auto root = ok(api.execution("chains", "node", {}));
  CHECK(root["node"]["path"] == "");
  CHECK(root["inputs"]["i0"]["value"] == 2);  // (count: the binary names inputs by position)
  CHECK(root["outputs"]["value"].is_object());
  CHECK(root["breadcrumbs"].size() == 1);
}

TEST_CASE("ui api: a level as a graph, and a level over the limit as groups of its tasks") {
  store_fixture f;
  f.need("chains");
  loom_tool::ui_api api(f.root);
  const auto g = ok(api.execution("chains", "graph", params({{"path", "n0"}})));
  CHECK(g["total"] == 7);
  CHECK(g["nodes"].size() == 7);
  CHECK(g["groups"].is_null());
  // Each chain's links, then total reading the two chains' ends: 2 x 2 + 2 edges.
  CHECK(g["edges"].size() == 6);
  const auto grouped = ok(api.execution("chains", "graph", params({{"path", "n0"}, {"max", "3"}})));
  CHECK(grouped["nodes"].empty());
  REQUIRE(grouped["groups"].is_array());
  std::size_t counted = 0;
  for (const auto& group : grouped["groups"]) {
    counted += group["count"].get<std::size_t>();
    std::size_t by_phase = 0;
    for (const auto& [phase, n] : group["phases"].items()) by_phase += n.get<std::size_t>();
    CHECK(by_phase == group["count"]);
  }
  CHECK(counted == 7);
  CHECK(grouped["groups"].size() < 7);
}

TEST_CASE("ui api: a map node's items counted, filtered by phase and paged, one item, a wrong item") {
  store_fixture f;
  f.need("picky");  // a partial map of 10 items: items 2 and 6 fail
  loom_tool::ui_api api(f.root);
  std::string map_path;
  std::function<void(const std::string&)> find_map = [&](const std::string& parent) {
    const auto level = ok(api.execution("picky", "children", params({{"path", parent}})));
    for (const auto& c : level["children"]) {
      if (c["kind"] == "map" && map_path.empty()) map_path = c["path"];
      if (c["child_count"] > 0) find_map(c["path"]);
    }
  };
  find_map("");
  REQUIRE_FALSE(map_path.empty());
  const auto all = ok(api.execution("picky", "items", params({{"path", map_path}})));
  CHECK(all["length"] == 10);
  CHECK(all["counts"]["succeeded"] == 8);
  CHECK(all["counts"]["failed"] == 2);
  CHECK(all["items"].size() == 10);
  const auto failed = ok(api.execution("picky", "items", params({{"path", map_path}, {"phase", "failed"}})));
  REQUIRE(failed["items"].size() == 2);
  CHECK(failed["items"][0]["k"] == 2);
  CHECK(failed["items"][1]["k"] == 6);
  CHECK_FALSE(failed["items"][0]["error"].get<std::string>().empty());
  const auto page = ok(api.execution("picky", "items", params({{"path", map_path}, {"offset", "8"}, {"limit", "5"}})));
  CHECK(page["total"] == 10);
  CHECK(page["items"].size() == 2);
  const auto item = ok(api.execution("picky", "item", params({{"path", map_path}, {"k", "3"}})));
  CHECK(item["phase"] == "succeeded");
  CHECK(api.execution("picky", "item", params({{"path", map_path}, {"k", "10"}})).status == 404);
  CHECK(api.execution("picky", "items", params({{"path", map_path}, {"phase", "odd"}})).status == 400);
  CHECK(api.page_exists("picky", map_path, std::uint64_t{9}) == true);
  CHECK(api.page_exists("picky", map_path, std::uint64_t{10}) == false);
}

TEST_CASE("ui api: the timeline of an execution's nodes, by start") {
  store_fixture f;
  f.need("chains");
  loom_tool::ui_api api(f.root);
  const auto t = ok(api.execution("chains", "timeline", {}));
  CHECK(t["total"] == 8);  // n0 and its 7
  REQUIRE(t["nodes"].size() == 8);
  for (std::size_t i = 1; i < t["nodes"].size(); ++i) {
    CHECK(t["nodes"][i - 1]["started_us"] <= t["nodes"][i]["started_us"]);
  }
  CHECK(t["start_us"] == t["nodes"][0]["started_us"]);
  CHECK(t["end_us"] >= t["start_us"]);
  const auto limited = ok(api.execution("chains", "timeline", params({{"limit", "3"}})));
  CHECK(limited["total"] == 8);
  CHECK(limited["nodes"].size() == 3);
}

TEST_CASE("ui api: reading everything changes no byte of the store and adds no file") {
  store_fixture f;
  f.need("chains");
  f.need("picky");
  const auto before = snapshot(f.root);
  REQUIRE(before.count("loom.db") == 1);
  REQUIRE(before.count("loom.db-wal") == 0);  // the runs are over: their WAL is gone
  loom_tool::ui_api api(f.root);
  ok(api.executions({}));
  for (const std::string id : {"chains", "picky"}) {
    ok(api.execution(id, "", {}));
    ok(api.execution(id, "timeline", {}));
    std::function<void(const std::string&)> walk = [&](const std::string& parent) {
      ok(api.execution(id, "graph", params({{"path", parent}})));
      const auto level = ok(api.execution(id, "children", params({{"path", parent}})));
      for (const auto& c : level["children"]) {
        ok(api.execution(id, "node", params({{"path", c["path"]}})));
        if (c["kind"] == "map") ok(api.execution(id, "items", params({{"path", c["path"]}})));
        if (c["child_count"] > 0) walk(c["path"]);
      }
    };
    walk("");
  }
  CHECK(snapshot(f.root) == before);
}
