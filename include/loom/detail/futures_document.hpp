// loom/detail/futures_document.hpp — the one reader of the futures-file format's
// structure (docs/futures-file.md): the text and its limits, the frame (format, version,
// workflow), the entities table, node ids, maps, bindings and refs against the types
// the file declares, outputs, subworkflows, cycles — every check that needs no
// registry, with its message. Two readers stand on it, and add only what is theirs:
//   - loom::read_futures_file (src/futures_file.cpp): the entities table against the
//     registry, literals decoded into their C++ types, the executable graph;
//   - the `loom` tool (tools/graph_file.cpp): literals checked against the declared
//     types, the graph drawn and reported.
// The text is parsed with simdjson (its DOM: a few buffers, not a node per value) and
// read as nlohmann::json reads JSON (the format's reference: objects in key order, a
// repeated key's last value, integers unsigned unless negative); text simdjson refuses
// or reads otherwise is read from nlohmann's document instead, so every check and
// message is the same either way. Compiled once into loom::runtime
// (src/futures_document.cpp).
#pragma once

#include <loom/detail/config.hpp>
#include <loom/detail/graph.hpp>
#include <loom/registry.hpp>

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

namespace loom {
class object_store;
}

namespace loom::detail {

/// How deeply arrays and objects nest in JSON text (strings skipped), without parsing it.
std::size_t json_depth(std::string_view text);

struct futures_document_options {
  std::size_t max_nodes = 1'000'000;             // per graph
  std::size_t max_bytes = std::size_t{1} << 30;  // the file, and each stored literal
  std::size_t max_depth = 0;                     // JSON nesting of the text; 0: not checked
  const object_store* store = nullptr;           // to load {"stored": key} literals
  std::string stored_prefix;                     // when set, stored keys must be under it
  /// A {"stored": key} with no store at hand is a problem (the executor must load it);
  /// false: it is left unfollowed (a file looked at on its own).
  bool stored_needs_store = true;
  /// Read the whole file as version 1 defines it, not only what the executor runs: no
  /// unknown fields, node ids dn<i> (n<i> in a static workflow's graph, whose
  /// {"input"} bindings and "when" are read too), complete entity entries with
  /// well-formed interfaces, outputs o0, o1, ... without gaps, and the "subworkflows"
  /// table. The `loom` tool reads so; the executor ignores what it does not run.
  bool whole_file = false;
  /// Keep the text's nlohmann::json document (futures_document::document), for a
  /// reader that shows the file; the executor needs only what is read from it.
  bool keep_document = true;
};

/// One entry of the entities table, as the file declares it.
struct futures_entity {
  std::string kind;     // as written ("" when not a string)
  std::string version;  // as written ("" when not a string)
  bool is_object = false;
  bool has_interface = false;  // `interface` was read
  entity_interface interface;
  // Set by loom::read_futures_file: the registry's entity of this name, and whether its
  // interface is the file's (its codecs then fit the file's ports).
  const entity_info* info = nullptr;
  bool same_interface = false;
};

/// One graph of a file (the top one or a subworkflow), with no registry: `g` holds each
/// node's input and output counts, map spec (kind map for a map node, task otherwise),
/// branch guard, and every binding, collection, item, key and output; its literals are
/// whatever the resolver made of them. A ref to a node whose output is unknown (already
/// a problem) keeps the edge, with output index `unknown_output`.
struct futures_graph {
  static constexpr std::uint32_t unknown_output = 0xffffffffU;

  graph g;
  std::vector<const futures_entity*> entities;  // node i's entry in the table, or null
  std::vector<std::string> input_names;         // the names {"input"} bindings read (binding::index)
  std::vector<std::string> output_names;        // of g.outputs
  std::vector<std::vector<std::string>> mapped;  // per g.maps: the mapped inputs as written
  std::vector<std::string> inputs;               // a subworkflow's declared inputs

  /// The index of the node with this id.
  [[nodiscard]] std::optional<std::uint32_t> find(std::string_view id) const;
  /// Node i's id as written ("#i" when it has none).
  [[nodiscard]] std::string id(std::uint32_t i) const;
  [[nodiscard]] const map_spec* map_of(std::uint32_t i) const {
    return i < g.nodes.size() && g.nodes[i].kind == node_kind::map ? &g.maps[g.nodes[i].map] : nullptr;
  }

  // Ids: the writer's prefix<i> at position i resolves arithmetically; other ids are kept here.
  std::vector<bool> canonical;
  std::unordered_map<std::string, std::uint32_t> other_ids;  // id -> its first node
  std::unordered_map<std::uint32_t, std::string> other_id_of;
};

/// Where a literal is: an input of node `node` (index `port` in its entity's interface)
/// or, with node == no_node, output `port` of the graph.
struct literal_place {
  static constexpr std::uint32_t no_node = 0xffffffffU;
  futures_graph& graph;
  std::uint32_t node;
  std::uint32_t port;
  bool item;                    // an item of a list or map binding
  const type_descriptor& type;  // what the value must be (an item's element type)
  std::string_view port_name;
  std::string_view suffix;  // "[2]" or "[\"key\"]" for an item
};

/// What the structural reader leaves to its user.
class futures_resolver {
 public:
  /// A literal (a stored one, loaded): sets `index` (into graph.g.literals), or says
  /// why the value is not of the type ("<path>: expected T, got K").
  virtual std::optional<std::string> literal(const json& value, const literal_place& place, std::uint32_t& index) = 0;
  /// Whether a node may call `name` (`entry`: its entry in the table, or null); if not,
  /// what it is: "missing from the entities table", "not known to this process".
  virtual std::optional<std::string> node_entity(const std::string& /*name*/, const futures_entity* entry) {
    if (entry != nullptr) return std::nullopt;
    return std::string("missing from the entities table");
  }

 protected:
  ~futures_resolver() = default;
};

/// A futures file read in three steps, each collecting its problems; a step returns
/// false after a problem that stops the reading. Between them a reader adds its own
/// checks (the executor: the expected workflow after the frame, the registry after
/// the entities).
struct futures_document {
  explicit futures_document(futures_document_options options_);
  ~futures_document();
  futures_document(const futures_document&) = delete;
  futures_document& operator=(const futures_document&) = delete;

  /// Size, nesting, JSON, object, format, version, workflow (and, whole, no unknown field).
  bool read_frame(std::string_view text);
  /// The entities table.
  bool read_entities();
  /// The top graph's nodes and outputs (whole: and the subworkflows), then cycles.
  /// `self`: the interface whose outputs the top graph gives (null: as the file says).
  bool read_graphs(futures_resolver& resolver, const entity_interface* self);

  futures_document_options options;
  json document;  // null when the text is not JSON, or when options.keep_document is false
  std::string workflow;
  std::map<std::string, futures_entity> entities;
  futures_graph top;
  std::map<std::string, futures_graph> subworkflows;
  bool static_ids = false;  // whole: the top graph has n ids (workflow.json, specs/)
  std::vector<std::string> problems;

  /// The parsed text (src/futures_document.cpp); node names in `top` and
  /// `subworkflows` point into it.
  struct parsed_text;
  std::unique_ptr<parsed_text> parsed;
};

}  // namespace loom::detail
