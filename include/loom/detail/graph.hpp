// The executable form of a workflow: nodes with type-erased invokers, literal values,
// and bindings resolved to value slots. Built once per static workflow (at run time,
// by running its body against a recording builder) and, later, once per dynamic node.
#pragma once

#include <loom/detail/any_value.hpp>
#include <loom/promise.hpp>

#include <algorithm>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace loom::detail {

enum class node_kind : std::uint8_t { task, workflow, dynamic };

/// Where one input of a node (or one output of a graph) takes its value from.
struct binding {
  source_kind from = source_kind::none;
  std::uint32_t node = 0;   // producing node, for node_output
  std::uint32_t index = 0;  // output of that node, workflow input, or literal slot
  std::uint32_t slot = 0;   // value slot (input or node_output), set by graph::finalize
};

struct graph;
class node_io;

using run_fn = void (*)(const void* entity, node_io& io);
using subgraph_fn = const graph& (*)();

struct graph_node {
  node_kind kind = node_kind::task;
  std::string_view name;           // the entity's name
  const void* entity = nullptr;    // the entity object (tasks: where the function is)
  run_fn run = nullptr;            // task: compute the outputs from the inputs
  subgraph_fn subgraph = nullptr;  // workflow: the nested workflow's graph
  std::vector<binding> inputs;
  std::uint32_t output_count = 0;
  std::uint32_t first_slot = 0;  // the slot of output 0
  std::vector<std::uint32_t> successors;  // distinct consumer nodes
  std::uint32_t predecessor_count = 0;    // distinct producer nodes
};

struct graph {
  std::string name;
  std::uint32_t input_count = 0;
  std::vector<graph_node> nodes;  // in a topological order (a node follows its producers)
  std::vector<any_value> literals;
  std::vector<binding> outputs;
  std::uint32_t slot_count = 0;          // inputs, then every node's outputs
  std::vector<std::uint32_t> readers;    // per slot: how many bindings read it

  /// Resolves slots and computes successors, predecessor counts and reader counts.
  void finalize() {
    slot_count = input_count;
    for (auto& n : nodes) {
      n.first_slot = slot_count;
      slot_count += n.output_count;
    }
    readers.assign(slot_count, 0);
    auto resolve = [this](binding& b) {
      if (b.from == source_kind::input) b.slot = b.index;
      if (b.from == source_kind::node_output) b.slot = nodes[b.node].first_slot + b.index;
      if (b.from == source_kind::input || b.from == source_kind::node_output) ++readers[b.slot];
    };
    for (std::uint32_t i = 0; i < nodes.size(); ++i) {
      auto& n = nodes[i];
      std::vector<std::uint32_t> producers;
      for (auto& b : n.inputs) {
        resolve(b);
        if (b.from == source_kind::node_output) producers.push_back(b.node);
      }
      std::sort(producers.begin(), producers.end());
      producers.erase(std::unique(producers.begin(), producers.end()), producers.end());
      n.predecessor_count = static_cast<std::uint32_t>(producers.size());
      for (auto p : producers) nodes[p].successors.push_back(i);
    }
    for (auto& b : outputs) resolve(b);
  }
};

/// A node's view of its inputs and outputs while it runs.
class node_io {
 public:
  node_io(const graph& g, const graph_node& n, any_value* slots) : graph_(g), node_(n), slots_(slots) {}

  /// The value of input i. A slot read by exactly one binding is moved out (it has no
  /// other reader); otherwise it is copied.
  template <class T>
  T take(std::size_t i) const {
    const binding& b = node_.inputs[i];
    if (b.from == source_kind::literal) return graph_.literals[b.index].get<T>();
    any_value& v = slots_[b.slot];
    if (graph_.readers[b.slot] == 1) return std::move(v.get<T>());
    return v.get<T>();
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
