// The executable form of a workflow: nodes with type-erased invokers, literal values,
// and bindings resolved to value slots, in flat arrays (a dynamic workflow may hold a
// million nodes: no per-node allocation). Built once per static workflow (at run time,
// by running its body against a recording builder), and once per dynamic node run.
// Its non-template code is compiled once into loom::runtime (src/graph.cpp).
#pragma once

#include <loom/detail/config.hpp>
#include <loom/detail/any_value.hpp>
#include <loom/error.hpp>
#include <loom/promise.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace loom::detail {

// map: a task over lists (loom/map.hpp); branch and merge: the two ends of a
// wf.when (loom/when.hpp).
enum class node_kind : std::uint8_t { task, workflow, dynamic, map, branch, merge };

/// Which branch of a wf.when a node belongs to (its innermost one), if any.
enum class branch_side : std::uint8_t { none, then_side, else_side };

/// node_kind_of<Kind>::value: the node kind of an entity kind (specialized with each kind).
template <class Kind>
struct node_kind_of;

/// Where one input of a node (or one output of a graph) takes its value from.
struct binding {
  source_kind from = source_kind::none;
  std::uint32_t node = 0;   // producing node, for node_output
  std::uint32_t index = 0;  // output of that node, workflow input, literal or collection
  std::uint32_t slot = 0;   // value slot (input or node_output), set by graph::finalize
};

struct graph;
struct collection;
struct entity_info;
class node_io;

using run_fn = void (*)(const void* entity, node_io& io);
using subgraph_fn = const graph& (*)();
using expand_fn = std::unique_ptr<graph> (*)(const void* entity, node_io& io);
using assemble_fn = any_value (*)(const graph& g, const collection& c, any_value* slots);

/// A list or map built from several promises and literals (a collection binding).
struct collection {
  std::uint32_t first_item = 0;  // into graph::items (and graph::keys for a map)
  std::uint32_t item_count = 0;
  std::uint32_t first_key = 0;  // into graph::keys, for a map
  bool is_map = false;
  assemble_fn assemble = nullptr;
};

/// What a map node needs at run time besides its task (kept in graph::maps).
struct map_spec {
  std::uint64_t mapped = 0;  // bit i: input i is mapped (a list, element k to item k)
  std::size_t concurrency = 0;
  bool partial = false;
  double min_success_ratio = 1.0;
  std::int64_t min_successes = -1;  // -1: not set

  /// How many of `n` items must succeed.
  [[nodiscard]] std::size_t required(std::size_t n) const;
};

struct graph_node {
  node_kind kind = node_kind::task;
  std::string_view name;           // the entity's name
  const void* entity = nullptr;    // the entity object
  const entity_info* info = nullptr;  // its registration (interface, codecs)
  run_fn run = nullptr;            // task: compute the outputs from the inputs
  subgraph_fn subgraph = nullptr;  // workflow: the nested workflow's graph
  expand_fn expand = nullptr;      // dynamic: run the body, giving the sub-DAG
  std::uint32_t first_input = 0;   // into graph::bindings
  std::uint32_t input_count = 0;
  std::uint32_t output_count = 0;
  std::uint32_t first_slot = 0;  // the slot of output 0
  std::uint32_t first_successor = 0;  // into graph::successors
  std::uint32_t successor_count = 0;  // distinct consumer nodes
  std::uint32_t predecessor_count = 0;  // distinct producer nodes
  std::uint32_t map = 0;  // a map node: its spec in graph::maps (its task is `entity`)
  // A node inside a branch of a wf.when: the branch node that decides whether it runs
  // (it waits for that node, and is skipped when the other side is taken).
  std::uint32_t guard = 0;
  branch_side side = branch_side::none;
};

struct graph {
  std::string name;
  std::string_view node_prefix = "n";  // node ids: n0, n1, … (dn0, dn1, … in a dynamic sub-DAG)
  std::uint32_t input_count = 0;
  std::vector<graph_node> nodes;  // in a topological order (a node follows its producers)
  std::vector<binding> bindings;  // every node's inputs, node by node
  std::vector<collection> collections;
  std::vector<binding> items;     // the items of every collection
  std::vector<std::string> keys;  // map collections: the key of each item
  std::vector<any_value> literals;
  std::vector<binding> outputs;
  std::vector<map_spec> maps;  // of the map nodes
  std::vector<std::uint32_t> successors;
  std::uint32_t slot_count = 0;        // inputs, then every node's outputs
  std::vector<std::uint32_t> readers;  // per slot: how many bindings read it
  std::vector<std::uint32_t> literal_readers;  // per literal: how many bindings read it

  // Large joins (a node with at least join_grouped_from producers, as the sum of a
  // dynamic node's 100,000 tasks): its producers are counted down in groups of
  // join_group_span, each group's count in a cache line of its own (frame::join_groups),
  // and the node's own count goes down once per group. Threads finishing producers of
  // one join far apart in the graph then write different lines instead of all writing
  // one; nothing waits longer for it (every completion is counted at once).
  static constexpr std::uint32_t join_grouped_from = 128;
  static constexpr std::uint32_t join_group_span = 64;
  static constexpr std::uint32_t no_join_group = 0xffffffffu;
  std::vector<std::uint32_t> successor_groups;  // per successors entry: its join group (empty: no large join)
  std::vector<std::uint32_t> join_group_sizes;  // per join group: the producers counted in it
  std::vector<std::pair<std::uint32_t, std::uint32_t>> grouped_joins;  // (node, its number of groups)

  [[nodiscard]] const binding& input_of(const graph_node& n, std::size_t i) const {
    return bindings[n.first_input + i];
  }

  /// Resolves slots and computes successors, predecessor counts and reader counts.
  void finalize();

  /// Whether an output of `producer` may be read in the scope (branch node, side): a
  /// value made inside a branch of a wf.when exists only when that branch runs.
  [[nodiscard]] bool visible_in(const graph_node& producer, std::uint32_t scope, branch_side side) const;

  /// A value leaves a branch of a wf.when only as the branch's result (an input of the
  /// wf.when's merge node): a promise made in a branch and used elsewhere is an error
  /// here, not a missing value at run time.
  void check_branch_scopes() const;
};

/// Reads the value a binding refers to, as T: literals are copied; a slot read by
/// exactly one binding is moved out (it has no other reader), otherwise copied.
template <class T>
T read_binding(const graph& g, const binding& b, any_value* slots);

template <class T>
T read_item(const graph& g, const binding& b, any_value* slots) {
  if (b.from == source_kind::literal) return g.literals[b.index].get<T>();
  any_value& v = slots[b.slot];
  if (g.readers[b.slot] == 1) return std::move(v.get<T>());
  return v.get<T>();
}

/// Builds the list or map of a collection binding.
template <class T>
T assemble_collection(const graph& g, const collection& c, any_value* slots) {
  T out;
  if constexpr (is_std_vector<T>::value) {
    out.reserve(c.item_count);
    for (std::uint32_t j = 0; j < c.item_count; ++j) {
      out.push_back(read_item<typename T::value_type>(g, g.items[c.first_item + j], slots));
    }
  } else {
    for (std::uint32_t j = 0; j < c.item_count; ++j) {
      out.insert_or_assign(g.keys[c.first_key + j],
                           read_item<typename T::mapped_type>(g, g.items[c.first_item + j], slots));
    }
  }
  return out;
}

template <class T>
any_value assemble_erased(const graph& g, const collection& c, any_value* slots) {
  return any_value::of<T>(assemble_collection<T>(g, c, slots));
}

template <class T>
T read_binding(const graph& g, const binding& b, any_value* slots) {
  if constexpr (is_std_vector<T>::value || is_std_map<T>::value) {
    if (b.from == source_kind::collection) return assemble_collection<T>(g, g.collections[b.index], slots);
  }
  return read_item<T>(g, b, slots);
}

/// The value of a binding, type-erased (a copy; for handing values between frames).
any_value copy_binding(const graph& g, const binding& b, any_value* slots);

/// The value of a binding, type-erased, moved out of its slot when the binding is the
/// slot's only reader (a map node's lists: no copy of a million items).
/// `graph_is_private`: the caller alone holds `g` (see executor::graph_is_private), so a
/// literal read by this binding only is moved out of the graph too.
any_value take_binding(const graph& g, const binding& b, any_value* slots, bool graph_is_private = false);

/// A node's view of its inputs and outputs while it runs.
class node_io {
 public:
  node_io(const graph& g, const graph_node& n, any_value* slots) : graph_(g), node_(n), slots_(slots) {}

  template <class T>
  T take(std::size_t i) const {
    return read_binding<T>(graph_, graph_.bindings[node_.first_input + i], slots_);
  }

  template <class T>
  void put(std::size_t output, T&& value) const {
    slots_[node_.first_slot + output].emplace<std::remove_cvref_t<T>>(std::forward<T>(value));
  }

  [[nodiscard]] const graph_node& node() const { return node_; }

 private:
  const graph& graph_;
  const graph_node& node_;
  any_value* slots_;
};

}  // namespace loom::detail
