// The command line of a workflow binary: run by name with named inputs, defaults,
// exit codes, and the executed DAG as DOT.
#include <catch2/catch.hpp>
#include <loom/object_store.hpp>

#include <filesystem>
#include <sstream>

#include <loom/loom.hpp>  // (the example includes only what it uses)
#include "../examples/count_characters.hpp"

namespace {

struct result {
  int code;
  std::string out;
  std::string err;
};

result command(std::vector<std::string> args) {
  loom::register_entities(start_wf, count_characters, return_index, update_list, derive_count);
  args.insert(args.begin(), "binary");
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  std::ostringstream out;
  std::ostringstream err;
  const int code = loom::run_command_line(static_cast<int>(argv.size()), argv.data(), out, err);
  return {code, out.str(), err.str()};
}

}  // namespace

TEST_CASE("run prints the outputs as one JSON object", "[cli]") {
  const auto r = command({"run", "start_wf", "--s1", "Pear", "--s2", "Earth"});
  CHECK(r.code == 0);
  CHECK(r.out == "{\"o0\":3}\n");
  CHECK(r.err.empty());
  CHECK(command({"run", "start_wf", "--s1=Pear", "--s2=Earth", "--threads", "1"}).out == "{\"o0\":3}\n");
  CHECK(command({"run", "start_wf"}).out == "{\"o0\":3}\n");  // the defaults
  CHECK(command({"run", "count_characters", "--s1", "abc", "--s2", "\"cab\""}).out == "{\"o0\":3}\n");
  CHECK(command({"run", "update_list", "--freq_list", "[0, 1]", "--list_index", "1"}).out == "{\"o0\":[0,2]}\n");
}

TEST_CASE("bad command lines exit with 2 and one line on stderr", "[cli]") {
  auto bad = [](std::vector<std::string> args, const std::string& message) {
    const auto r = command(std::move(args));
    CHECK(r.code == 2);
    CHECK(r.out.empty());
    CHECK(r.err.find(message) != std::string::npos);
    CHECK(std::count(r.err.begin(), r.err.end(), '\n') == 1);
  };
  bad({"run", "no_such_workflow"}, "unknown workflow or task 'no_such_workflow'");
  bad({"run", "count_characters", "--s1", "a"}, "missing input --s2 (string) for count_characters");
  bad({"run", "start_wf", "--s3", "x"}, "has no input --s3 (its inputs: --s1, --s2)");
  bad({"run", "update_list", "--freq_list", "[1, \"x\"]", "--list_index", "0"},
      "--freq_list: freq_list[1]: expected integer, got string");
  bad({"run", "update_list", "--freq_list", "[1,", "--list_index", "0"}, "is not valid JSON for list<integer>");
  bad({"run", "start_wf", "--threads", "many"}, "--threads: expected a non-negative integer");
  bad({"run", "start_wf", "--s1"}, "--s1 needs a value");
  // An execution id names one directory of the store: nothing that reaches elsewhere.
  bad({"run", "start_wf", "--execution-id", "../escape"}, "invalid execution id '../escape'");
  bad({"run", "start_wf", "--execution-id", ".."}, "invalid execution id '..': '.' and '..' segments would leave the root");
  bad({"run", "start_wf", "--execution-id", "a/b"}, "invalid execution id 'a/b': '/' is not allowed");
  bad({"run", "start_wf", "--execution-id", "/tmp/x"}, "invalid execution id '/tmp/x'");
  // ... nor a name the store keeps for itself.
  for (const char* own : {"cache", "loom.db", "loom.db-wal", "loom.db-changes"}) {
    bad({"run", "start_wf", "--execution-id", own},
        "invalid execution id '" + std::string(own) + "': the store keeps that name for itself");
  }
  bad({"resume", "loom.db-changes", "--store", "/nonexistent"}, "invalid execution id 'loom.db-changes'");
  // (A name that only starts like them is an id like any other: loom.db2, loom.db.old.)
  bad({"resume", "../../etc", "--store", "/nonexistent"}, "invalid execution id '../../etc'");
  bad({"fly"}, "unknown command 'fly'");
  bad({}, "no command");
}

TEST_CASE("a failing run exits with 1 and names the node", "[cli]") {
  const auto r = command({"run", "start_wf", "--s1", "P1", "--s2", "E"});
  CHECK(r.code == 1);
  CHECK(r.out.empty());
  CHECK(r.err.find("node n0/dn2 (task 'return_index') failed") != std::string::npos);
  const auto deep = command({"run", "start_wf", "--max-depth", "0"});
  CHECK(deep.code == 1);
  CHECK(deep.err.find("depth") != std::string::npos);
}

TEST_CASE("graph prints the executed DAG with dynamic sub-DAGs as clusters", "[cli]") {
  const auto r = command({"graph", "start_wf", "--s1", "ab", "--s2", "b"});
  CHECK(r.code == 0);
  CHECK(r.out.rfind("digraph \"start_wf\" {", 0) == 0);
  CHECK(r.out.find("subgraph \"cluster_n0\"") != std::string::npos);
  CHECK(r.out.find("\"n0/dn1\" [label=\"update_list\\ndn1\"]") != std::string::npos);
  CHECK(r.out.find("\"n0/dn0\" -> \"n0/dn1\"") != std::string::npos);
  CHECK(r.out.find("\"input:0\" [shape=ellipse, label=\"s1\"") != std::string::npos);
  const auto failed = command({"graph", "start_wf", "--s1", "a1", "--s2", "b"});
  CHECK(failed.code == 1);
  CHECK(failed.out.find("\"n0/dn2\" [label=\"return_index\\ndn2\", fillcolor=\"#f4b6b6\"]") != std::string::npos);
}

TEST_CASE("the store option keeps the run in an object store", "[cli]") {
  const auto dir = std::filesystem::temp_directory_path() / ("loom-cli-" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  const auto r = command({"run", "start_wf", "--store", dir.string(), "--execution-id", "first"});
  CHECK(r.code == 0);
  CHECK(r.out == "{\"o0\":3}\n");
  CHECK(r.err == "execution first\n");
  loom::object_store store(dir);
  CHECK(store.contains("first/n0/futures.json"));
  CHECK(loom::json::parse(*store.get("first/outputs.json")) == loom::json{{"o0", 3}});
  std::filesystem::remove_all(dir);
}

TEST_CASE("help and list", "[cli]") {
  const auto help = command({"--help"});
  CHECK(help.code == 0);
  CHECK(help.out.find("run NAME") != std::string::npos);
  const auto list = command({"list"});
  CHECK(list.code == 0);
  CHECK(list.out.find("dynamic count_characters {\"inputs\":[{\"name\":\"s1\"") != std::string::npos);
}
