// Futures files: written for every dynamic node of a stored run, read back and
// validated before anything runs; a malformed file is rejected with every problem.
#include <catch2/catch.hpp>
#include <loom/object_store.hpp>
#include <loom/futures_file.hpp>

#include <filesystem>
#include <random>

#include <loom/loom.hpp>  // (the example includes only what it uses)
#include "../examples/count_characters.hpp"

namespace {

struct temporary_directory {
  std::filesystem::path path;
  temporary_directory() {
    static std::atomic<int> n{0};
    path = std::filesystem::temp_directory_path() /
           ("loom-test-" + std::to_string(::getpid()) + "-" + std::to_string(n++));
    std::filesystem::remove_all(path);
  }
  ~temporary_directory() { std::filesystem::remove_all(path); }
};

// The futures file of count_characters("ab", "b"): derive_count(update_list(update_list(
// freq, return_index("a")), return_index("b")), update_list(freq, return_index("b"))).
std::string valid_futures_text() {
  static const std::string text = [] {
    temporary_directory dir;
    loom::object_store store(dir.path);
    loom::executor ex({.threads = 1});
    loom::run_options options;
    options.store = &store;
    options.execution_id = "sample";
    CHECK(ex.run(options, start_wf, "ab", "b") == 1);
    return *store.get("sample/n0/futures.json");
  }();
  return text;
}

loom::json valid_futures() { return loom::json::parse(valid_futures_text()); }

const loom::detail::entity_info* counting() { return loom::detail::registry::global().find("count_characters"); }

// The problems found in a futures file, or none.
std::vector<std::string> problems_of(const std::string& text, loom::futures_read_options options = {}) {
  try {
    loom::read_futures_file(text, "test.json", options, counting());
    return {};
  } catch (const loom::futures_error& e) {
    return e.problems();
  }
}
std::vector<std::string> problems_of(const loom::json& doc, loom::futures_read_options options = {}) {
  return problems_of(doc.dump(), options);
}

bool mentions(const std::vector<std::string>& problems, const std::string& a, const std::string& b = "") {
  for (const auto& p : problems) {
    if (p.find(a) != std::string::npos && p.find(b) != std::string::npos) return true;
  }
  return false;
}

// Index of the first node calling `entity`.
std::size_t first_node(const loom::json& doc, const std::string& entity) {
  for (std::size_t i = 0; i < doc["nodes"].size(); ++i) {
    if (doc["nodes"][i]["entity"] == entity) return i;
  }
  FAIL("no node calls " << entity);
  return 0;
}

}  // namespace

TEST_CASE("a stored run keeps inputs, outputs and every futures file", "[futures]") {
  temporary_directory dir;
  loom::object_store store(dir.path);
  loom::executor ex({.threads = 2});
  loom::run_options options;
  options.store = &store;
  CHECK(ex.run(options, start_wf, "Pear", "Earth") == 3);
  const std::string id = loom::executor::last_execution_id();
  CHECK(id.rfind("ex-", 0) == 0);
  CHECK(store.contains(id + "/inputs.json"));
  CHECK(loom::json::parse(*store.get(id + "/outputs.json")) == loom::json{{"o0", 3}});
  CHECK(loom::json::parse(*store.get(id + "/n0/outputs.json")) == loom::json{{"o0", 3}});
  CHECK(loom::json::parse(*store.get(id + "/n0/dn0/outputs.json")) == loom::json{{"o0", 15}});  // 'P'
  const auto futures = loom::json::parse(*store.get(id + "/n0/futures.json"));
  CHECK(futures["format"] == "loom-futures");
  CHECK(futures["version"] == 1);
  CHECK(futures["workflow"] == "count_characters");
  CHECK(futures["nodes"].size() == 2 * (4 + 5) + 1);
  CHECK(futures["entities"]["update_list"]["interface"]["inputs"][0]["name"] == "freq_list");
  CHECK(futures["nodes"][0] == loom::json{{"id", "dn0"}, {"entity", "return_index"},
                                          {"inputs", {{"character", {{"literal", "P"}}}}}});
  CHECK(futures["nodes"][1]["inputs"]["list_index"] == loom::json{{"ref", "dn0.o0"}});
  CHECK(futures["outputs"]["o0"]["ref"] == "dn18.o0");
  // What was written validates again, as another process would read it.
  CHECK(loom::read_futures_file(futures.dump(), "again", {}, counting())->nodes.size() == 19);
}

TEST_CASE("every dynamic node can go through its futures file", "[futures]") {
  loom::executor ex({.threads = 2});
  loom::run_options options;
  options.verify_futures = true;
  CHECK(ex.run(options, start_wf, "Pear", "Earth") == 3);
  CHECK(ex.run(options, start_wf, "abcdefghijklmnopqrstuvwxyz", "zyxwvutsrqponmlkjihgfedcbaAAA") == 26);
}

TEST_CASE("large literals go to the object store by reference", "[futures]") {
  temporary_directory dir;
  loom::object_store store(dir.path);
  loom::executor ex({.threads = 1});
  loom::run_options options;
  options.store = &store;
  options.execution_id = "big";
  options.inline_literal_bytes = 20;  // the 26-item frequency lists are longer
  CHECK(ex.run(options, start_wf, "ab", "b") == 1);
  const auto futures = loom::json::parse(*store.get("big/n0/futures.json"));
  const auto& freq = futures["nodes"][first_node(futures, "update_list")]["inputs"]["freq_list"];
  REQUIRE(freq.contains("stored"));
  CHECK(loom::json::parse(*store.get(freq["stored"].get<std::string>())) == loom::json(std::vector<int>(26, 0)));
  loom::futures_read_options read;
  read.store = &store;
  CHECK_NOTHROW(loom::read_futures_file(futures.dump(), "big", read, counting()));
  CHECK(mentions(problems_of(futures), "no object store"));
}

TEST_CASE("malformed futures files are rejected with every problem listed", "[futures]") {
  REQUIRE(problems_of(valid_futures()).empty());

  SECTION("truncated") {
    const auto text = valid_futures_text();
    CHECK(mentions(problems_of(text.substr(0, text.size() / 2)), "not valid JSON"));
    CHECK(mentions(problems_of(std::string()), "not valid JSON"));
  }
  SECTION("wrong version") {
    auto doc = valid_futures();
    doc["version"] = 2;
    CHECK(mentions(problems_of(doc), "unsupported version 2"));
    doc["format"] = "something-else";
    CHECK(mentions(problems_of(doc), "not a futures file"));
  }
  SECTION("unknown task") {
    auto doc = valid_futures();
    doc["nodes"][0]["entity"] = "no_such_task";
    doc["entities"]["no_such_task"] = doc["entities"]["return_index"];
    const auto problems = problems_of(doc);
    CHECK(mentions(problems, "entity 'no_such_task' is not known"));
  }
  SECTION("interface mismatch") {
    auto doc = valid_futures();
    doc["entities"]["return_index"]["interface"]["outputs"][0]["type"] = "string";
    CHECK(mentions(problems_of(doc), "return_index", "of type string in the file"));
    doc = valid_futures();
    doc["entities"]["update_list"]["version"] = "7";
    CHECK(mentions(problems_of(doc), "version '7' in the file"));
  }
  SECTION("type mismatch") {
    auto doc = valid_futures();
    const auto u = first_node(doc, "update_list");
    doc["nodes"][u]["inputs"]["freq_list"] = {{"literal", {0, 1, "x"}}};
    CHECK(mentions(problems_of(doc), "node dn" + std::to_string(u) + " input 'freq_list'",
                   "freq_list[2]: expected integer, got string"));
    doc = valid_futures();
    const auto d = first_node(doc, "derive_count");
    doc["nodes"][d]["inputs"]["freq1"] = {{"ref", "dn0.o0"}};  // an integer, not a list
    CHECK(mentions(problems_of(doc), "input 'freq1': type mismatch: expected list<integer>, found integer"));
  }
  SECTION("dangling reference") {
    auto doc = valid_futures();
    doc["nodes"][1]["inputs"]["list_index"] = {{"ref", "dn99.o0"}};
    CHECK(mentions(problems_of(doc), "dangling reference to node dn99"));
    doc["nodes"][1]["inputs"]["list_index"] = {{"ref", "dn0.o7"}};
    CHECK(mentions(problems_of(doc), "has no output 'o7'"));
  }
  SECTION("cycle") {
    auto doc = valid_futures();
    // update_list #2 feeds on update_list #1 already; make #1 feed on #2 as well.
    std::vector<std::size_t> updates;
    for (std::size_t i = 0; i < doc["nodes"].size(); ++i) {
      if (doc["nodes"][i]["entity"] == "update_list") updates.push_back(i);
    }
    REQUIRE(updates.size() == 3);
    doc["nodes"][updates[0]]["inputs"]["freq_list"] = {{"ref", "dn" + std::to_string(updates[1]) + ".o0"}};
    CHECK(mentions(problems_of(doc), "cycle"));
  }
  SECTION("duplicate id") {
    auto doc = valid_futures();
    doc["nodes"][2]["id"] = "dn0";
    CHECK(mentions(problems_of(doc), "node dn0: duplicate id"));
  }
  SECTION("limits: too many nodes, oversized") {
    loom::futures_read_options few;
    few.max_nodes = 3;
    CHECK(mentions(problems_of(valid_futures(), few), "too many nodes: 7, over the limit of 3"));
    loom::futures_read_options small;
    small.max_bytes = 100;
    CHECK(mentions(problems_of(valid_futures(), small), "oversized"));
  }
  SECTION("several problems at once, each with its node and input") {
    auto doc = valid_futures();
    doc["nodes"][1]["inputs"]["list_index"] = {{"ref", "dn99.o0"}};
    doc["nodes"][1]["inputs"]["surprise"] = {{"literal", 1}};
    doc["nodes"][0]["inputs"].erase("character");
    const auto problems = problems_of(doc);
    CHECK(problems.size() == 3);
    CHECK(mentions(problems, "node dn1 input 'list_index'", "dangling"));
    CHECK(mentions(problems, "node dn1: unknown input 'surprise'"));
    CHECK(mentions(problems, "node dn0 input 'character': no binding (expected string)"));
  }
  SECTION("bindings of the wrong shape") {
    auto doc = valid_futures();
    doc["nodes"][0]["inputs"]["character"] = 5;
    CHECK(mentions(problems_of(doc), "not a binding"));
    doc["nodes"][0]["inputs"]["character"] = {{"list", loom::json::array()}};
    CHECK(mentions(problems_of(doc), "cannot feed string"));
    doc = valid_futures();
    doc["outputs"] = loom::json::object();
    CHECK(mentions(problems_of(doc), "output 'o0': no binding"));
  }
}

TEST_CASE("damaged futures files never crash the reader", "[futures]") {
  const auto text = valid_futures_text();
  std::mt19937 rng(3);
  for (int trial = 0; trial < 200; ++trial) {
    std::string damaged = text;
    const auto at = rng() % damaged.size();
    switch (trial % 3) {
      case 0: damaged.resize(at); break;
      case 1: damaged[at] = static_cast<char>(rng() % 128); break;
      default: damaged.erase(at, 1 + rng() % 20); break;
    }
    try {
      loom::read_futures_file(damaged, "damaged", {}, counting());
    } catch (const loom::futures_error&) {
      // rejected cleanly: fine
    }
  }
  SUCCEED("no crash, no exception other than futures_error");
}

TEST_CASE("object store keys stay under the root", "[store]") {
  temporary_directory dir;
  loom::object_store store(dir.path);
  for (const char* bad : {"../x", "/abs", "a//b", "a/./b", "a/../../b", "", "a b", "a\\b", "x/"}) {
    CHECK_THROWS_WITH(store.put(bad, "v"), Catch::Contains("invalid key"));
  }
  store.put("ex-1/n0/outputs.json", "{}");
  store.put("ex-1/n0/outputs.json", "{\"o0\": 1}");  // replaced atomically
  CHECK(*store.get("ex-1/n0/outputs.json") == "{\"o0\": 1}");
  CHECK_FALSE(store.get("ex-1/none").has_value());
  CHECK(store.list("ex-1") == std::vector<std::string>{"ex-1/n0/outputs.json"});  // no temporary left behind
}

TEST_CASE("untrusted shapes and stored keys are rejected, not trusted", "[futures]") {
  auto doc = valid_futures();
  doc["entities"]["update_list"]["version"] = 1;  // a number, not a string
  CHECK(mentions(problems_of(doc), "version '' in the file"));
  doc = valid_futures();
  doc["format"] = 7;
  CHECK(mentions(problems_of(doc), "not a futures file"));
  doc = valid_futures();
  doc["nodes"][0]["entity"] = loom::json::array();
  CHECK(mentions(problems_of(doc), "node dn0: entity ''"));
  doc = valid_futures();
  doc["outputs"]["o9"] = {{"literal", 1}};
  CHECK(mentions(problems_of(doc), "unknown output 'o9' for count_characters"));

  temporary_directory dir;
  loom::object_store store(dir.path);
  store.put("other-execution/secret.json", "[1, 2]");
  doc = valid_futures();
  doc["nodes"][first_node(doc, "update_list")]["inputs"]["freq_list"] = {{"stored", "other-execution/secret.json"}};
  loom::futures_read_options confined;
  confined.store = &store;
  confined.stored_prefix = "this-execution/n0";
  CHECK(mentions(problems_of(doc, confined), "outside this node's keys"));
}

// The reader parses with simdjson but reads the text as nlohmann::json does (the
// format's reference, and the writer's): keys in any order, a repeated key's last value,
// integers beyond 64 bits as floats, -0 as a signed integer, a byte order mark skipped.
TEST_CASE("the text is read as nlohmann::json reads it", "[futures]") {
  const auto text = valid_futures_text();
  const auto replaced = [&](const std::string& from, const std::string& to) {
    std::string out = text;
    const auto at = out.find(from);
    REQUIRE(at != std::string::npos);
    return out.replace(at, from.size(), to);
  };
  const auto written_back = [](const std::string& t) {
    return loom::write_futures_text(*loom::read_futures_file(t, "test.json", {}, counting()), "count_characters");
  };
  SECTION("keys in any order, any spacing: the same graph") {
    auto doc = valid_futures();
    CHECK(written_back(doc.dump(2)) == text);
    std::string reversed = "{";  // the top-level keys in reverse order
    for (auto it = doc.items().begin(); it != doc.items().end(); ++it) {
      reversed.insert(1, loom::json(it.key()).dump() + ":" + it.value().dump() + (reversed.size() > 1 ? "," : ""));
    }
    CHECK(written_back(reversed + "}") == text);
    CHECK(written_back(replaced("\"id\":\"dn0\"", "\"\\u0069d\":\"dn0\"")) == text);  // an escaped key
    CHECK(written_back("\xEF\xBB\xBF" + text) == text);  // a byte order mark
  }
  SECTION("a repeated key: its last value") {
    CHECK(written_back(replaced("\"version\":1", "\"version\":2,\"version\":1")) == text);
    CHECK(problems_of(replaced("\"version\":1", "\"version\":1,\"version\":2")) ==
          std::vector<std::string>{"unsupported version 2 (this reader knows version 1)"});
    CHECK(written_back(replaced("{\"ref\":\"dn0.o0\"}", "{\"ref\":\"dn99.o0\",\"ref\":\"dn0.o0\"}")) == text);
    CHECK(mentions(problems_of(replaced("{\"ref\":\"dn0.o0\"}", "{\"ref\":\"dn0.o0\",\"literal\":3}")),
                   "not a binding (expected one of literal, ref, list, map, stored): {\"literal\":3,\"ref\":\"dn0.o0\"}"));
  }
  SECTION("numbers: -0 is signed, integers beyond 64 bits are floats") {
    const auto map_node = [&](const std::string& concurrency) {
      return problems_of(replaced("\"id\":\"dn0\"", "\"id\":\"dn0\",\"map\":{\"concurrency\":" + concurrency +
                                                        ",\"mapped\":[\"character\"]}"));
    };
    const std::string unsigned_only = "node dn0: \"map\": \"concurrency\" must be a non-negative integer";
    CHECK(mentions(map_node("-0"), unsigned_only));
    CHECK(mentions(map_node("-1"), unsigned_only));
    CHECK(mentions(map_node("1.0"), unsigned_only));
    CHECK_FALSE(mentions(map_node("0"), unsigned_only));
    CHECK_FALSE(mentions(map_node("18446744073709551615"), unsigned_only));
    CHECK(mentions(map_node("18446744073709551616"), unsigned_only));  // a float
    const auto u = first_node(valid_futures(), "update_list");
    const std::string big = replaced("[0,0,", "[18446744073709551616,0,");
    CHECK(mentions(problems_of(big), "node dn" + std::to_string(u) + " input 'freq_list'",
                   "freq_list[0]: expected integer, got float"));
    CHECK(mentions(problems_of(replaced("\"version\":1", "\"version\":1e400")), "malformed: ", "number overflow"));
  }
}
