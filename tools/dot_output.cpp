// `loom graph`'s DOT: see dot_output.hpp. The escaping and the look (node attributes,
// clusters, the failed colour) are loom/dot.hpp's; that writer draws an in-memory run
// trace with the registry's entities, this one a stored execution with every node's
// phase, from the graphs in the store.
#include "dot_output.hpp"

#include <loom/dot.hpp>

#include <algorithm>
#include <optional>
#include <vector>

namespace loom_tool {

/// loom::to_dot's quoting, with line breaks as DOT's "\n" (errors span lines).
std::string dot_quote(std::string_view text) {
  std::string quoted = loom::detail::dot_quote(text);
  std::string out;
  out.reserve(quoted.size());
  for (const char c : quoted) {
    if (c == '\n') out += "\\n";
    else if (c != '\r') out += c;
  }
  return out;
}

std::string_view phase_colour(std::string_view phase) {
  if (phase == "succeeded") return "#c6e9c0";
  if (phase == "failed") return "#f4b6b6";  // loom::to_dot's colour of a failed node
  if (phase == "running") return "#fff2a8";
  if (phase == "cached") return "#c4dcf5";
  if (phase == "aborted") return "#f7d3a6";
  if (phase == "skipped") return "#e4e4e4";  // in the branch of a wf.when not taken
  return "#ffffff";  // not started: loom::to_dot's plain node
}

namespace {

/// The first input port bound straight to {"input": name} in a graph's nodes: the name a
/// root static workflow gave that input (its own interface is not in its graph file).
std::optional<std::string> port_reading(const nlohmann::json& doc, const std::string& name) {
  const auto nodes = doc.find("nodes");
  if (nodes == doc.end() || !nodes->is_array()) return std::nullopt;
  for (const auto& n : *nodes) {
    const auto inputs = n.find("inputs");
    if (inputs == n.end() || !inputs->is_object()) continue;
    for (const auto& [port, b] : inputs->items()) {
      if (b.is_object() && b.size() == 1 && b.contains("input") && b["input"] == name) return port;
    }
  }
  return std::nullopt;
}

class dot_writer {
 public:
  explicit dot_writer(std::string& out) : out_(out) {}

  void header(const std::string& name) {
    out_ += "digraph " + dot_quote(name) + " {\n";
    out_ += "  compound=true;\n  node [shape=box, style=\"rounded,filled\", fillcolor=\"#ffffff\", fontname=\"Helvetica\"];\n";
  }

  /// The root graph's inputs, as ellipses, like loom::to_dot.
  void inputs(const tree_node& root) {
    if (root.graph == nullptr) return;
    std::vector<std::string> names;
    for (const auto& n : root.graph->nodes) {
      for (const auto& input : n.graph_inputs) {
        if (std::find(names.begin(), names.end(), input) == names.end()) names.push_back(input);
      }
    }
    for (const auto& o : root.graph->outputs) {
      for (const auto& input : o.graph_inputs) {
        if (std::find(names.begin(), names.end(), input) == names.end()) names.push_back(input);
      }
    }
    // "i0" is the writer's name for input 0; the root entity's interface (when the file
    // declares it) has the real one.
    const loom_tool::entity_decl* self = nullptr;
    if (root.file != nullptr) {
      const auto it = root.file->entities.find(root.file->workflow);
      if (it != root.file->entities.end() && it->second.has_interface) self = &it->second;
    }
    for (const auto& name : names) {
      std::string label = name;
      if (self != nullptr && name.size() > 1 && name.size() < 10 && name[0] == 'i' &&
          name.find_first_not_of("0123456789", 1) == std::string::npos) {
        const auto k = std::stoul(name.substr(1));
        if (k < self->interface.inputs.size()) label = self->interface.inputs[k].name;
      } else if (self == nullptr && root.file != nullptr) {
        label = port_reading(root.file->document, name).value_or(name);
      }
      out_ += "  " + dot_quote("input:" + name) + " [shape=ellipse, label=" + dot_quote(label) +
              ", fillcolor=\"#eeeeee\"];\n";
    }
  }

  /// One node, and its cluster if it has a graph.
  void node(const tree_node& n, const std::string& prefix, const std::string& indent) {
    std::string label = dot_quote(n.task.empty() ? "?" : n.task);
    label.insert(label.size() - 1, "\\n" + n.path.substr(prefix.size()));  // a line break in DOT
    std::string attributes = "label=" + label;
    attributes += loom::detail::dot_shape(n.kind);
    attributes += ", fillcolor=\"" + std::string(phase_colour(n.phase)) + "\"";
    if (n.phase == "not started" || n.phase == "skipped") attributes += ", style=\"rounded,filled,dashed\"";
    std::string tooltip = n.phase;
    if (n.row && n.row->attempts > 1) tooltip += ", " + std::to_string(n.row->attempts) + " attempts";
    if (n.row && !n.row->error.empty()) tooltip += ": " + n.row->error;
    attributes += ", tooltip=" + dot_quote(tooltip);
    out_ += indent + dot_quote(n.path) + " [" + attributes + "];\n";
    if (n.children.empty() && n.graph == nullptr) return;
    out_ += indent + "subgraph " + dot_quote("cluster_" + n.path) + " {\n";
    out_ += indent + "  label=" + dot_quote(n.path + ": " + n.task + " (" + (n.kind.empty() ? "?" : n.kind) + ")") +
            "; style=dashed;\n";
    frame(n, n.path + "/", indent + "  ", false);
    out_ += indent + "}\n";
    // The sub-DAG's outputs become the node's outputs.
    if (n.graph != nullptr) {
      for (const auto& o : n.graph->outputs) {
        for (const auto& producer : o.producers) {
          out_ += indent + dot_quote(n.path + "/" + producer) + " -> " + dot_quote(n.path) + " [style=dashed];\n";
        }
      }
    }
  }

  /// The children of `parent` and the edges between them.
  void frame(const tree_node& parent, const std::string& prefix, const std::string& indent, bool root) {
    for (const auto& c : parent.children) node(*c, prefix, indent);
    if (parent.graph == nullptr) return;
    for (const auto& n : parent.graph->nodes) {
      const std::string consumer = dot_quote(prefix + n.id);
      if (root) {
        for (const auto& input : n.graph_inputs) out_ += indent + dot_quote("input:" + input) + " -> " + consumer + ";\n";
      }
      for (const auto& producer : n.producers) out_ += indent + dot_quote(prefix + producer) + " -> " + consumer + ";\n";
      if (!n.branch.empty()) {
        out_ += indent + dot_quote(prefix + n.branch) + " -> " + consumer + loom::detail::dot_branch_edge(n.side) + ";\n";
      }
    }
  }

  void footer() { out_ += "}\n"; }

 private:
  std::string& out_;
};

}  // namespace

std::string execution_dot(const execution_tree& tree, const std::string& workflow, const tree_node* top) {
  std::string out;
  dot_writer w(out);
  if (top == nullptr || top == &tree.root) {
    w.header(workflow);
    w.inputs(tree.root);
    w.frame(tree.root, "", "  ", true);
  } else {
    w.header(top->path + ": " + top->task);
    const auto slash = top->path.rfind('/');
    w.node(*top, slash == std::string::npos ? std::string() : top->path.substr(0, slash + 1), "  ");
  }
  w.footer();
  return out;
}

}  // namespace loom_tool
