// The `loom` command's reader of futures-format files (see graph_file.hpp): the
// structural reader the executor uses too (loom/detail/futures_document.hpp), read
// whole, with literals checked against the declared types, and the shape it drew.
#include "graph_file.hpp"

#include <loom/detail/futures_document.hpp>
#include <loom/literal.hpp>
#include <loom/type_descriptor.hpp>

#include <algorithm>
#include <cstdint>
#include <optional>
#include <unordered_set>
#include <utility>

namespace loom_tool {

namespace {

using loom::type_descriptor;
using loom::type_kind;

/// A JSON value's kind, as the literal decoder names it.
std::string kind_of(const json& j) { return std::string(loom::detail::json_kind_name(j)); }

std::string clip(const json& j, std::size_t max = 80) {
  auto text = j.dump();
  if (text.size() > max) text = text.substr(0, max - 3) + "...";
  return text;
}

/// The first place where `j` does not have the literal encoding of `t` (loom/literal.hpp),
/// as "<path>: expected T, got K"; nothing if it has. A record may leave out fields
/// (an optional one, or one with a default in C++, which a descriptor does not show).
std::optional<std::string> literal_mismatch(const json& j, const type_descriptor& t, const std::string& path,
                                            int depth = 0) {
  if (depth > 200) return path + ": nested too deeply";
  auto wrong = [&] { return path + ": expected " + t.to_string() + ", got " + kind_of(j); };
  switch (t.kind()) {
    case type_kind::boolean:
      if (!j.is_boolean()) return wrong();
      return std::nullopt;
    case type_kind::integer:
      if (!j.is_number_integer()) return wrong();
      return std::nullopt;
    case type_kind::floating:
      if (j.is_number()) return std::nullopt;
      if (j.is_string() && (j == "nan" || j == "inf" || j == "-inf")) return std::nullopt;
      return wrong();
    case type_kind::string:
      if (!j.is_string()) return wrong();
      return std::nullopt;
    case type_kind::list: {
      if (!j.is_array()) return wrong();
      std::size_t i = 0;
      for (const auto& item : j) {
        if (auto bad = literal_mismatch(item, t.elements().at(0), path + "[" + std::to_string(i++) + "]", depth + 1)) {
          return bad;
        }
      }
      return std::nullopt;
    }
    case type_kind::map:
      if (!j.is_object()) return wrong();
      for (const auto& [k, v] : j.items()) {
        if (auto bad = literal_mismatch(v, t.elements().at(0), path + "[\"" + k + "\"]", depth + 1)) return bad;
      }
      return std::nullopt;
    case type_kind::optional:
      if (j.is_null()) return std::nullopt;
      return literal_mismatch(j, t.elements().at(0), path, depth + 1);
    case type_kind::tuple: {
      if (!j.is_array()) return wrong();
      if (j.size() != t.elements().size()) {
        return path + ": expected " + t.to_string() + " (" + std::to_string(t.elements().size()) +
               " items), got a list of " + std::to_string(j.size());
      }
      for (std::size_t i = 0; i < j.size(); ++i) {
        if (auto bad = literal_mismatch(j[i], t.elements()[i], path + "[" + std::to_string(i) + "]", depth + 1)) {
          return bad;
        }
      }
      return std::nullopt;
    }
    case type_kind::record: {
      if (!j.is_object()) return wrong();
      const auto& names = t.field_names();
      for (const auto& [k, v] : j.items()) {
        const auto it = std::find(names.begin(), names.end(), k);
        if (it == names.end()) return path + ": unknown field '" + k + "' for " + t.to_string();
        const auto& field_type = t.elements()[static_cast<std::size_t>(it - names.begin())];
        if (auto bad = literal_mismatch(v, field_type, path + "." + k, depth + 1)) return bad;
      }
      return std::nullopt;
    }
    case type_kind::enumeration: {
      if (!j.is_string()) return wrong();
      const auto& names = t.field_names();
      if (std::find(names.begin(), names.end(), j.get<std::string>()) == names.end()) {
        return path + ": '" + j.get<std::string>() + "' is not a value of " + t.to_string();
      }
      return std::nullopt;
    }
  }
  return std::nullopt;
}


/// Literals against the types the file declares: the tool has descriptors, not the C++
/// types the executor decodes them into. Every other check is the structural reader's.
class descriptor_literals final : public loom::detail::futures_resolver {
 public:
  std::optional<std::string> literal(const json& value, const loom::detail::literal_place& place,
                                     std::uint32_t& index) override {
    index = 0;  // nothing is kept: the tool draws bindings from the document
    return literal_mismatch(value, place.type, std::string(place.port_name) + std::string(place.suffix));
  }
};

/// The nodes and producers a binding reads, and the graph inputs.
/// What the bindings of one node (or one output) read, each once, in the order first
/// read; sets beside the lists, so that a node reading 10,000 producers (a fan-in) is
/// not a quadratic search.
struct reading {
  std::vector<std::string>& producers;
  std::vector<std::string>& graph_inputs;
  std::unordered_set<std::uint32_t> nodes_seen;
  std::unordered_set<std::uint32_t> inputs_seen;
};

void reads(const loom::detail::futures_graph& fg, const loom::detail::binding& b, reading& r) {
  using loom::detail::source_kind;
  if (b.from == source_kind::node_output && r.nodes_seen.insert(b.node).second) r.producers.push_back(fg.id(b.node));
  if (b.from == source_kind::input && r.inputs_seen.insert(b.index).second) {
    r.graph_inputs.push_back(fg.input_names[b.index]);
  }
  if (b.from == source_kind::collection) {
    const auto& c = fg.g.collections[b.index];
    for (std::uint32_t j = 0; j < c.item_count; ++j) reads(fg, fg.g.items[c.first_item + j], r);
  }
}

/// What the drawing needs of a graph the structural reader read.
graph_decl shape_of(const loom::detail::futures_graph& fg) {
  const loom::detail::graph& g = fg.g;
  graph_decl out;
  out.inputs = fg.inputs;
  for (std::uint32_t i = 0; i < g.nodes.size(); ++i) {
    const loom::detail::graph_node& node = g.nodes[i];
    node_decl n;
    n.id = fg.id(i);
    n.entity = std::string(node.name);
    if (node.kind == loom::detail::node_kind::map) {
      n.kind = "map";
      n.mapped = fg.mapped[node.map];
      n.partial = g.maps[node.map].partial;
    } else if (fg.entities[i] != nullptr) {
      n.kind = fg.entities[i]->kind;
    }
    if (node.side != loom::detail::branch_side::none) {
      n.branch = fg.id(node.guard);
      n.side = node.side == loom::detail::branch_side::then_side ? "then" : "else";
    }
    reading r{n.producers, n.graph_inputs, {}, {}};
    for (std::uint32_t k = 0; k < node.input_count; ++k) reads(fg, g.input_of(node, k), r);
    out.index.emplace(n.id, i);
    out.nodes.push_back(std::move(n));
  }
  for (std::size_t o = 0; o < g.outputs.size(); ++o) {
    output_decl d;
    d.name = fg.output_names[o];
    reading r{d.producers, d.graph_inputs, {}, {}};
    reads(fg, g.outputs[o], r);
    out.outputs.push_back(std::move(d));
  }
  return out;
}

}  // namespace

std::string graph_file::report() const {
  std::string out = where + ": futures file rejected (" + std::to_string(problems.size()) +
                    (problems.size() == 1 ? " problem)" : " problems)");
  for (const auto& p : problems) out += "\n  - " + p;
  return out;
}

graph_file read_graph_file(std::string_view text, std::string where, const graph_check_options& options) {
  graph_file file;
  file.where = std::move(where);
  loom::detail::futures_document_options read;
  read.max_nodes = options.max_nodes;
  read.max_bytes = options.max_bytes;
  read.max_depth = max_json_depth;
  read.store = options.store;
  read.stored_needs_store = false;  // a file read on its own: its stored keys cannot be followed
  read.whole_file = true;
  loom::detail::futures_document doc(read);
  descriptor_literals literals;
  try {
    if (doc.read_frame(text) && doc.read_entities()) {
      const auto self = doc.entities.find(doc.workflow);
      doc.read_graphs(literals, self != doc.entities.end() && self->second.has_interface ? &self->second.interface
                                                                                          : nullptr);
    }
  } catch (const json::exception& e) {
    doc.problems.push_back(std::string("malformed: ") + e.what());
  }
  file.workflow = doc.workflow;
  file.static_ids = doc.static_ids;
  for (const auto& [name, e] : doc.entities) file.entities.emplace(name, entity_decl{e.kind, e.has_interface, e.interface});
  file.top = shape_of(doc.top);
  for (const auto& [name, fg] : doc.subworkflows) file.subworkflows.emplace(name, shape_of(fg));
  file.problems = std::move(doc.problems);
  file.document = std::move(doc.document);
  return file;
}

std::string binding_text(const json& b, std::size_t max_literal) {
  auto literal = [&](const json& value) {
    if (value.is_array() && value.size() > 8) {
      std::string head;
      for (std::size_t i = 0; i < 3; ++i) head += value[i].dump() + ", ";
      const std::string text = "[" + head + "... " + std::to_string(value.size()) + " items]";
      if (text.size() <= max_literal) return text;
    }
    return clip(value, max_literal);
  };
  if (!b.is_object() || b.size() != 1) return "?" + clip(b, max_literal);
  const std::string& kind = b.begin().key();
  const json& value = b.begin().value();
  if (kind == "ref" && value.is_string()) return value.get<std::string>();
  if (kind == "input" && value.is_string()) return "input:" + value.get<std::string>();
  if (kind == "stored" && value.is_string()) return "stored:" + value.get<std::string>();
  if (kind == "literal") return literal(value);
  if (kind == "list" && value.is_array()) {
    std::string out = "[";
    for (std::size_t i = 0; i < value.size(); ++i) {
      if (i == 8) {
        out += ", ... " + std::to_string(value.size()) + " items";
        break;
      }
      out += (i == 0 ? "" : ", ") + binding_text(value[i], max_literal);
    }
    return out + "]";
  }
  if (kind == "map" && value.is_object()) {
    std::string out = "{";
    std::size_t i = 0;
    for (const auto& [key, item] : value.items()) {
      if (i == 8) {
        out += ", ... " + std::to_string(value.size()) + " items";
        break;
      }
      out += (i++ == 0 ? "" : ", ") + json(key).dump() + ": " + binding_text(item, max_literal);
    }
    return out + "}";
  }
  return "?" + clip(b, max_literal);
}

}  // namespace loom_tool
