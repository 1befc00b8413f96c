// src/dot.cpp — the DAG a run executed, in Graphviz DOT (loom/dot.hpp).
#include <loom/dot.hpp>

#include <loom/registry.hpp>

#include <algorithm>
#include <cstdint>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

namespace loom {

namespace detail {

LOOM_FUNC std::string dot_shape(std::string_view kind) {
  if (kind == "map") return ", shape=box, peripheries=2";
  if (kind == "workflow" || kind == "dynamic") return ", shape=box3d";
  if (kind == "branch") return ", shape=diamond";
  if (kind == "merge") return ", shape=invtrapezium";
  return "";
}

LOOM_FUNC std::string dot_branch_edge(std::string_view side) {
  return " [style=dotted, label=" + std::string(side == "then" ? "\"then\"" : "\"else\"") + "]";
}

LOOM_FUNC std::string dot_quote(std::string_view text) {
  std::string out = "\"";
  for (const char c : text) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out + "\"";
}

class dot_writer {
 public:
  explicit dot_writer(const run_trace& trace) {
    for (auto& f : trace.frames()) frames_.emplace(f.path, f.graph);
    for (auto& p : trace.failed()) failed_.insert(p);
  }

  std::string write() {
    const auto root = frames_.find("");
    if (root == frames_.end()) return "digraph loom {}\n";
    out_ = "digraph " + dot_quote(root->second->name) + " {\n";
    out_ += "  compound=true;\n  node [shape=box, style=\"rounded,filled\", fillcolor=\"#ffffff\", fontname=\"Helvetica\"];\n";
    const graph& g = *root->second;
    const entity_info* info = registry::global().find(g.name);
    for (std::uint32_t i = 0; i < g.input_count; ++i) {
      const std::string name = info != nullptr && i < info->interface.inputs.size() ? info->interface.inputs[i].name
                                                                                      : positional_name('i', i);
      out_ += "  " + dot_quote("input:" + std::to_string(i)) + " [shape=ellipse, label=" + dot_quote(name) +
              ", fillcolor=\"#eeeeee\"];\n";
    }
    frame("", g, "  ");
    out_ += "}\n";
    return out_;
  }

 private:
  void frame(const std::string& prefix, const graph& g, const std::string& indent) {
    const auto id = [&](std::uint32_t n) { return prefix + std::string(g.node_prefix) + std::to_string(n); };
    for (std::uint32_t i = 0; i < g.nodes.size(); ++i) {
      const graph_node& n = g.nodes[i];
      const std::string path = id(i);
      std::string label = dot_quote(n.name);
      label.insert(label.size() - 1, "\\n" + path.substr(prefix.size()));  // a line break in DOT
      std::string attributes = "label=" + label;
      attributes += dot_shape(kind_name(n.kind));
      if (failed_.count(path) != 0) attributes += ", fillcolor=\"#f4b6b6\"";
      out_ += indent + dot_quote(path) + " [" + attributes + "];\n";
      const auto child = frames_.find(path);
      if (child != frames_.end()) {
        out_ += indent + "subgraph " + dot_quote("cluster_" + path) + " {\n";
        out_ += indent + "  label=" +
                dot_quote(path + ": " + std::string(n.name) + " (" + std::string(kind_name(n.kind)) + ")") +
                "; style=dashed;\n";
        frame(path + "/", *child->second, indent + "  ");
        out_ += indent + "}\n";
        // The sub-DAG's outputs become the node's outputs.
        const graph& sub = *child->second;
        for (const auto& b : sub.outputs) {
          each_producer(sub, b, [&](std::uint32_t producer) {
            out_ += indent + dot_quote(path + "/" + std::string(sub.node_prefix) + std::to_string(producer)) + " -> " +
                    dot_quote(path) + " [style=dashed];\n";
          });
        }
      }
    }
    for (std::uint32_t i = 0; i < g.nodes.size(); ++i) {
      const graph_node& n = g.nodes[i];
      for (std::uint32_t k = 0; k < n.input_count; ++k) {
        const binding& b = g.input_of(n, k);
        if (b.from == source_kind::input && prefix.empty()) {
          out_ += indent + dot_quote("input:" + std::to_string(b.index)) + " -> " + dot_quote(id(i)) + ";\n";
        }
        each_producer(g, b, [&](std::uint32_t producer) {
          out_ += indent + dot_quote(id(producer)) + " -> " + dot_quote(id(i)) + ";\n";
        });
      }
      if (n.side != branch_side::none) {
        out_ += indent + dot_quote(id(n.guard)) + " -> " + dot_quote(id(i)) +
                dot_branch_edge(n.side == branch_side::then_side ? "then" : "else") + ";\n";
      }
    }
  }

  template <class F>
  static void each_producer(const graph& g, const binding& b, F&& f) {
    if (b.from == source_kind::node_output) f(b.node);
    if (b.from == source_kind::collection) {
      const collection& c = g.collections[b.index];
      for (std::uint32_t j = 0; j < c.item_count; ++j) {
        const binding& item = g.items[c.first_item + j];
        if (item.from == source_kind::node_output) f(item.node);
      }
    }
  }

  std::map<std::string, std::shared_ptr<const graph>> frames_;
  std::set<std::string> failed_;
  std::string out_;
};

}  // namespace detail

LOOM_FUNC std::string to_dot(const run_trace& trace) { return detail::dot_writer(trace).write(); }

}  // namespace loom
