// tools/graph_file.hpp — a graph in the futures-file format (docs/futures-file.md), read
// and checked by the `loom` command from the file alone.
//
// loom::read_futures_file checks a file against the entities registered in the running
// binary; the `loom` command has none, so it checks what the file itself declares. Both
// stand on one structural reader (loom/detail/futures_document.hpp, in loom::runtime),
// which holds every check that needs no registry and its message: the format and
// version, the entities table, node ids, one binding per declared input and no other,
// references to existing nodes and outputs with the declared types, collections only
// where a list or map is expected, {"input": name} only in static graphs, stored
// literals (when a store is at hand), acyclicity, and the limits. The command reads the
// file whole (unknown fields, the writer's id pattern, subworkflows, static graphs) and
// adds what is its own: literals checked against the declared types, and the shape
// below for drawing. The same reader serves every file of the format: futures files
// (`dn` ids), the root graph `<execution>/workflow.json` and static workflow graphs
// `<execution>/specs/NAME.json` (`n` ids, inputs as {"input": "i0"}).
#pragma once

#include <loom/detail/futures_document.hpp>
#include <loom/object_store.hpp>
#include <loom/registry.hpp>
#include <loom/futures_file.hpp>

#include <nlohmann/json.hpp>

#include <cstddef>
#include <map>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace loom_tool {

using json = nlohmann::json;

struct entity_decl {
  std::string kind;  // "task", "workflow", "dynamic", "branch", "merge" (as written; checked)
  bool has_interface = false;
  loom::entity_interface interface;
};

/// One node of a graph: what it calls and where its inputs come from (for drawing).
struct node_decl {
  std::string id;
  std::string entity;
  std::string kind;                       // of its entity ("" when not declared); "map" for a map node
  std::vector<std::string> mapped;        // a map node: its mapped inputs
  bool partial = false;                   // a map node: partial_map_options (outputs of optionals)
  std::string branch;                     // inside a branch of a wf.when: its branch node's id
  std::string side;                       // and "then" or "else"
  std::vector<std::string> producers;     // ids of the nodes it reads, each once
  std::vector<std::string> graph_inputs;  // {"input": name} it reads, each once
};

struct output_decl {
  std::string name;
  std::vector<std::string> producers;
  std::vector<std::string> graph_inputs;
};

struct graph_decl {
  std::vector<std::string> inputs;  // a subworkflow's input names (empty at the top)
  std::vector<node_decl> nodes;
  std::vector<output_decl> outputs;
  std::unordered_map<std::string, std::size_t> index;  // id -> position in nodes
};

struct graph_file {
  std::string where;     // the key or path, for messages
  json document;         // the parsed file (null if it is not JSON)
  std::string workflow;  // the "workflow" field
  bool static_ids = false;  // `n` ids (workflow.json, specs/): {"input"} bindings allowed at the top
  std::map<std::string, entity_decl> entities;
  graph_decl top;
  std::map<std::string, graph_decl> subworkflows;
  std::vector<std::string> problems;  // empty: valid

  [[nodiscard]] bool valid() const { return problems.empty(); }
  /// "<where>: futures file rejected (N problems)\n  - ...": every problem, for stderr.
  [[nodiscard]] std::string report() const;
};

struct graph_check_options {
  std::size_t max_nodes = 1'000'000;            // per graph, as the executor's default limit
  std::size_t max_bytes = std::size_t{1} << 30;  // the file, and each stored literal
  const loom::object_store* store = nullptr;    // to check {"stored": key} literals
};

/// Reads and checks a file of the futures-file format; never throws on bad content (the
/// problems are in the result).
graph_file read_graph_file(std::string_view text, std::string where, const graph_check_options& options = {});

/// How deeply arrays and objects nest in JSON text (strings skipped), without parsing it:
/// deeper than max_json_depth is refused before anything recursive (printing, checking,
/// destroying) walks it.
using loom::detail::json_depth;
inline constexpr std::size_t max_json_depth = 1000;

/// A binding in one line, for people: `dn3.o0`, `input:i0`, `"a"`, `[0, 0, ... 26 items]`,
/// `stored:KEY`, `[dn0.o0, 7]`, `{"one": dn1.o0}`.
std::string binding_text(const json& binding, std::size_t max_literal = 60);

}  // namespace loom_tool
