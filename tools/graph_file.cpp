// The `loom` command's reader of futures-format files: see graph_file.hpp.
#include "graph_file.hpp"

#include <loom/literal.hpp>
#include <loom/type_descriptor.hpp>
#include <loom/object_store.hpp>

#include <algorithm>
#include <exception>
#include <optional>
#include <set>
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

/// "dn<i>" / "n<i>", written as the writer writes them (no leading zeros).
bool is_node_id(std::string_view id, std::string_view prefix) {
  if (id.size() <= prefix.size() || id.substr(0, prefix.size()) != prefix || id.size() > prefix.size() + 10) return false;
  const auto digits = id.substr(prefix.size());
  if (digits.size() > 1 && digits[0] == '0') return false;
  return std::all_of(digits.begin(), digits.end(), [](char c) { return c >= '0' && c <= '9'; });
}

bool is_output_name(std::string_view name) { return is_node_id(name, "o"); }

void add_once(std::vector<std::string>& list, const std::string& value) {
  if (std::find(list.begin(), list.end(), value) == list.end()) list.push_back(value);
}

/// Where a binding is, for messages (the reader's wording: `node dn3 input 'x'[2]`).
struct site {
  std::string graph;  // "" at the top, "subworkflow 'NAME': " inside one
  std::string node;   // "" for an output
  std::string port;
  std::string suffix;
  [[nodiscard]] std::string str() const {
    return graph + (node.empty() ? "output '" + port + "'" : "node " + node + " input '" + port + "'") + suffix;
  }
};

class checker {
 public:
  checker(graph_file& file, const graph_check_options& options) : file_(file), options_(options) {}

  void run(std::string_view text) {
    if (text.size() > options_.max_bytes) {
      return problem("oversized: " + std::to_string(text.size()) + " bytes, over the limit of " +
                     std::to_string(options_.max_bytes));
    }
    if (const auto depth = json_depth(text); depth > max_json_depth) {
      return problem("nested " + std::to_string(depth) + " levels deep, over the limit of " +
                     std::to_string(max_json_depth));
    }
    try {
      file_.document = json::parse(text);
    } catch (const json::parse_error& e) {
      file_.document = nullptr;
      return problem(std::string("not valid JSON (truncated or corrupt?): ") + e.what());
    }
    const json& doc = file_.document;
    if (!doc.is_object()) return problem("the file must be a JSON object, not " + kind_of(doc));
    const auto format = doc.find("format");
    if (format == doc.end() || *format != "loom-futures") {
      return problem("not a futures file: \"format\" is not \"loom-futures\"");
    }
    const auto version = doc.find("version");
    if (version == doc.end() || !version->is_number_integer()) return problem("no integer \"version\"");
    if (*version != 1) return problem("unsupported version " + version->dump() + " (this reader knows version 1)");
    const auto workflow = doc.find("workflow");
    if (workflow == doc.end() || !workflow->is_string() || workflow->get_ref<const std::string&>().empty()) {
      problem("no \"workflow\" name");
    } else {
      file_.workflow = workflow->get<std::string>();
    }
    static const std::set<std::string> fields = {"format", "version", "workflow", "entities",
                                                  "nodes",  "outputs", "subworkflows"};
    for (const auto& [key, _] : doc.items()) {
      if (fields.count(key) == 0) problem("unknown field \"" + key + "\" (version 1 has no such field)");
    }
    read_entities(doc);
    const auto nodes = doc.find("nodes");
    if (nodes == doc.end() || !nodes->is_array()) return problem("no \"nodes\" list");
    if (nodes->size() > options_.max_nodes) {
      return problem("too many nodes: " + std::to_string(nodes->size()) + ", over the limit of " +
                     std::to_string(options_.max_nodes));
    }
    // The id scheme: `dn` in a dynamic sub-DAG, `n` in a static workflow's graph.
    if (!nodes->empty() && (*nodes)[0].is_object()) {
      const auto id = (*nodes)[0].find("id");
      file_.static_ids = id != (*nodes)[0].end() && id->is_string() && is_node_id(id->get<std::string>(), "n");
    }
    const auto subworkflows = doc.find("subworkflows");
    if (subworkflows == doc.end()) {
      problem("no \"subworkflows\" table");
    } else if (!subworkflows->is_object()) {
      problem("\"subworkflows\" must be an object");
    }
    // The top graph's own inputs, when its entity is declared (a root graph's is).
    std::optional<std::vector<std::string>> top_inputs;
    const entity_decl* self = find_entity(file_.workflow);
    if (file_.static_ids && self != nullptr && self->has_interface) {
      top_inputs.emplace();
      for (std::size_t i = 0; i < self->interface.inputs.size(); ++i) {
        top_inputs->push_back("i" + std::to_string(i));
        top_inputs->push_back(self->interface.inputs[i].name);
      }
    }
    read_graph(*nodes, doc.find("outputs") != doc.end() ? &doc["outputs"] : nullptr, file_.top, "",
               file_.static_ids ? "n" : "dn", file_.static_ids, top_inputs ? &*top_inputs : nullptr, self);
    if (subworkflows != doc.end() && subworkflows->is_object()) {
      for (const auto& [name, spec] : subworkflows->items()) read_subworkflow(name, spec);
    }
  }

 private:
  void problem(std::string text) { file_.problems.push_back(std::move(text)); }

  const entity_decl* find_entity(const std::string& name) const {
    const auto it = file_.entities.find(name);
    return it == file_.entities.end() ? nullptr : &it->second;
  }

  void read_entities(const json& doc) {
    const auto entities = doc.find("entities");
    if (entities == doc.end() || !entities->is_object()) return problem("no \"entities\" table");
    for (const auto& [name, spec] : entities->items()) {
      entity_decl decl;
      const std::string at = "entity '" + name + "'";
      if (name.empty()) problem("an entity with an empty name");
      if (!spec.is_object()) {
        problem(at + ": the entry must be an object");
        file_.entities.emplace(name, decl);
        continue;
      }
      for (const auto& [key, _] : spec.items()) {
        if (key != "kind" && key != "version" && key != "interface") problem(at + ": unknown field \"" + key + "\"");
      }
      const auto kind = spec.find("kind");
      if (kind == spec.end() || !kind->is_string() ||
          (*kind != "task" && *kind != "workflow" && *kind != "dynamic" && *kind != "branch" && *kind != "merge")) {
        problem(at + ": \"kind\" must be \"task\", \"workflow\", \"dynamic\", \"branch\" or \"merge\"");
      } else {
        decl.kind = kind->get<std::string>();
      }
      const auto version = spec.find("version");
      if (version == spec.end() || !version->is_string()) problem(at + ": no \"version\" string");
      const auto interface = spec.find("interface");
      if (interface == spec.end() || !interface->is_object()) {
        problem(at + ": no \"interface\" object");
      } else {
        try {
          decl.interface = loom::entity_interface::from_json(*interface);
          decl.has_interface = true;
          check_ports(at, decl.interface);
        } catch (const std::exception& e) {
          problem(at + ": bad interface: " + e.what());
        }
      }
      file_.entities.emplace(name, std::move(decl));
    }
  }

  void check_ports(const std::string& at, const loom::entity_interface& interface) {
    std::set<std::string> seen;
    for (const auto& p : interface.inputs) {
      if (p.name.empty()) problem(at + ": an input with an empty name");
      if (!seen.insert(p.name).second) problem(at + ": two inputs named '" + p.name + "'");
    }
    for (std::size_t o = 0; o < interface.outputs.size(); ++o) {
      if (interface.outputs[o].name != "o" + std::to_string(o)) {
        problem(at + ": output " + std::to_string(o) + " is named '" + interface.outputs[o].name + "', expected 'o" +
                std::to_string(o) + "'");
      }
    }
  }

  void read_subworkflow(const std::string& name, const json& spec) {
    const std::string at = "subworkflow '" + name + "'";
    graph_decl& g = file_.subworkflows[name];
    if (!spec.is_object()) return problem(at + ": must be an object");
    for (const auto& [key, _] : spec.items()) {
      if (key != "inputs" && key != "nodes" && key != "outputs") problem(at + ": unknown field \"" + key + "\"");
    }
    const entity_decl* self = find_entity(name);
    if (self == nullptr) {
      problem(at + ": no entity '" + name + "' in the entities table");
    } else if (!self->kind.empty() && self->kind != "workflow") {
      problem(at + ": entity '" + name + "' is a " + self->kind + ", not a workflow");
    }
    const auto inputs = spec.find("inputs");
    if (inputs == spec.end() || !inputs->is_array()) {
      problem(at + ": no \"inputs\" list");
    } else {
      for (const auto& input : *inputs) {
        if (!input.is_string() || input.get_ref<const std::string&>().empty()) {
          problem(at + ": an input name must be a non-empty string, got " + clip(input));
          continue;
        }
        g.inputs.push_back(input.get<std::string>());
      }
      if (self != nullptr && self->has_interface && g.inputs.size() != self->interface.inputs.size()) {
        problem(at + ": " + std::to_string(g.inputs.size()) + " inputs, its entity declares " +
                std::to_string(self->interface.inputs.size()));
      }
    }
    const auto nodes = spec.find("nodes");
    if (nodes == spec.end() || !nodes->is_array()) return problem(at + ": no \"nodes\" list");
    if (nodes->size() > options_.max_nodes) {
      return problem(at + ": too many nodes: " + std::to_string(nodes->size()) + ", over the limit of " +
                     std::to_string(options_.max_nodes));
    }
    read_graph(*nodes, spec.find("outputs") != spec.end() ? &spec["outputs"] : nullptr, g, at + ": ", "n", true,
               &g.inputs, self);
  }

  /// The nodes and outputs of one graph. `inputs`: the names {"input": …} may use (null:
  /// any, when `allow_inputs`); `self`: the graph's own entity if declared (its outputs).
  void read_graph(const json& nodes, const json* outputs, graph_decl& g, const std::string& at,
                  std::string_view id_prefix, bool allow_inputs, const std::vector<std::string>* inputs,
                  const entity_decl* self) {
    allow_inputs_ = allow_inputs;
    allowed_inputs_ = inputs;
    // First pass: ids and entities, so that references may point anywhere.
    g.nodes.resize(nodes.size());
    std::vector<const entity_decl*> entities(nodes.size(), nullptr);
    for (std::size_t i = 0; i < nodes.size(); ++i) {
      const json& node = nodes[i];
      node_decl& n = g.nodes[i];
      if (!node.is_object()) {
        problem(at + "node #" + std::to_string(i) + ": must be an object, got " + clip(node));
        n.id = "#" + std::to_string(i);
        continue;
      }
      const auto id = node.find("id");
      if (id == node.end() || !id->is_string()) {
        problem(at + "node #" + std::to_string(i) + ": no string \"id\"");
        n.id = "#" + std::to_string(i);
      } else {
        n.id = id->get<std::string>();
        if (!is_node_id(n.id, id_prefix)) {
          problem(at + "node " + n.id + ": id must be " + std::string(id_prefix) + "<index> like the rest (" +
                  std::string(id_prefix) + "0, " + std::string(id_prefix) + "1, ...)");
        }
        if (!g.index.emplace(n.id, i).second) problem(at + "node " + n.id + ": duplicate id");
      }
      for (const auto& [key, _] : node.items()) {
        if (key != "id" && key != "entity" && key != "inputs" && key != "map" && key != "when") {
          problem(at + "node " + n.id + ": unknown field \"" + key + "\"");
        }
      }
      if (const auto map = node.find("map"); map != node.end()) read_map(*map, n, at);
      if (const auto when = node.find("when"); when != node.end()) read_when(*when, n, g, at);
      const auto entity = node.find("entity");
      if (entity == node.end() || !entity->is_string()) {
        problem(at + "node " + n.id + ": no string \"entity\"");
        continue;
      }
      n.entity = entity->get<std::string>();
      entities[i] = find_entity(n.entity);
      if (entities[i] == nullptr) {
        problem(at + "node " + n.id + ": entity '" + n.entity + "' is missing from the entities table");
      } else {
        if (n.mapped.empty()) {
          n.kind = entities[i]->kind;
        } else if (entities[i]->kind != "task") {
          problem(at + "node " + n.id + ": \"map\": " + n.entity + " is a " + entities[i]->kind + ", not a task");
        } else {
          n.kind = "map";
        }
      }
    }
    graph_ = &g;
    node_entities_ = &entities;
    // Second pass: the bindings.
    for (std::size_t i = 0; i < nodes.size(); ++i) {
      const json& node = nodes[i];
      node_decl& n = g.nodes[i];
      if (!node.is_object()) continue;
      const auto inputs_it = node.find("inputs");
      if (inputs_it == node.end() || !inputs_it->is_object()) {
        problem(at + "node " + n.id + ": no \"inputs\" object");
        continue;
      }
      const json& bindings = *inputs_it;
      const entity_decl* e = entities[i];
      if (e == nullptr || !e->has_interface) {
        // Undeclared: still follow the references, for the graph's shape.
        for (const auto& [port, b] : bindings.items()) {
          check_binding(b, nullptr, false, site{at, n.id, port, {}}, n.producers, n.graph_inputs);
        }
        continue;
      }
      for (const auto& p : e->interface.inputs) {
        const auto b = bindings.find(p.name);
        if (b == bindings.end()) {
          problem(at + "node " + n.id + " input '" + p.name + "': no binding (expected " + p.type.to_string() + ")");
          continue;
        }
        // A map node's mapped input is a list of the parameter's type.
        const bool mapped = std::find(n.mapped.begin(), n.mapped.end(), p.name) != n.mapped.end();
        const type_descriptor list(type_kind::list, {p.type});
        check_binding(*b, mapped ? &list : &p.type, false, site{at, n.id, p.name, {}}, n.producers, n.graph_inputs);
      }
      for (const auto& name : n.mapped) {
        const bool known = std::any_of(e->interface.inputs.begin(), e->interface.inputs.end(),
                                       [&](const loom::port& p) { return p.name == name; });
        if (!known) problem(at + "node " + n.id + ": \"map\": mapped input '" + name + "' is not an input of " + n.entity);
      }
      for (auto entry = bindings.begin(); entry != bindings.end(); ++entry) {
        const std::string& port = entry.key();
        const bool known = std::any_of(e->interface.inputs.begin(), e->interface.inputs.end(),
                                       [&](const loom::port& p) { return p.name == port; });
        if (!known) problem(at + "node " + n.id + ": unknown input '" + port + "' for " + n.entity);
      }
    }
    if (outputs == nullptr || !outputs->is_object()) {
      problem(at + "no \"outputs\" object");
    } else {
      const bool typed = self != nullptr && self->has_interface;
      for (const auto& [name, b] : outputs->items()) {
        output_decl out;
        out.name = name;
        const type_descriptor* type = nullptr;
        if (!is_output_name(name)) {
          problem(at + "output '" + name + "': outputs are named o0, o1, ...");
        } else if (typed) {
          const std::size_t o = std::stoul(name.substr(1));
          if (o >= self->interface.outputs.size()) {
            problem(at + "unknown output '" + name + "' for " + self_name(self));
          } else {
            type = &self->interface.outputs[o].type;
          }
        }
        check_binding(b, type, false, site{at, {}, name, {}}, out.producers, out.graph_inputs);
        g.outputs.push_back(std::move(out));
      }
      if (typed) {
        for (std::size_t o = 0; o < self->interface.outputs.size(); ++o) {
          if (!outputs->contains("o" + std::to_string(o))) {
            problem(at + "output 'o" + std::to_string(o) + "': no binding (expected " +
                    self->interface.outputs[o].type.to_string() + ")");
          }
        }
      } else {
        for (std::size_t o = 0; o < outputs->size(); ++o) {
          if (!outputs->contains("o" + std::to_string(o))) {
            problem(at + "outputs: o" + std::to_string(o) + " is missing (outputs are o0, o1, ... without gaps)");
          }
        }
      }
    }
    check_acyclic(g, at);
  }

  std::string self_name(const entity_decl* self) const {
    for (const auto& [name, decl] : file_.entities) {
      if (&decl == self) return name;
    }
    return {};
  }

  /// A node's "when" (inside a branch of a wf.when): its branch node, an earlier node of
  /// the same graph, and its side.
  void read_when(const json& when, node_decl& n, const graph_decl& g, const std::string& at) {
    const std::string where = at + "node " + n.id + ": \"when\"";
    if (!when.is_object()) return problem(where + " must be an object {\"branch\": id, \"side\": \"then\"|\"else\"}");
    for (const auto& [key, _] : when.items()) {
      if (key != "branch" && key != "side") problem(where + ": unknown field \"" + key + "\"");
    }
    const auto branch = when.find("branch");
    const auto at_index = branch != when.end() && branch->is_string() ? g.index.find(branch->get<std::string>())
                                                                      : g.index.end();
    const auto self = g.index.find(n.id);
    if (at_index == g.index.end() || (self != g.index.end() && at_index->second >= self->second)) {
      problem(where + ": \"branch\" must name an earlier node");
    } else if (const auto& kind = g.nodes[at_index->second].kind; !kind.empty() && kind != "branch") {
      problem(where + ": \"branch\" names " + branch->get<std::string>() + ", a " + kind + " node, not a branch node");
    } else {
      n.branch = branch->get<std::string>();
    }
    const auto side = when.find("side");
    if (side == when.end() || !side->is_string() || (*side != "then" && *side != "else")) {
      problem(where + ": \"side\" must be \"then\" or \"else\"");
    } else {
      n.side = side->get<std::string>();
    }
  }

  /// A node's "map" (wf.map): its mapped inputs and whether it is partial.
  void read_map(const json& map, node_decl& n, const std::string& at) {
    const auto bad = [&](const std::string& what) { problem(at + "node " + n.id + ": \"map\": " + what); };
    if (!map.is_object()) return bad("must be an object");
    for (const auto& [key, _] : map.items()) {
      if (key != "mapped" && key != "concurrency" && key != "partial" && key != "min_success_ratio" &&
          key != "min_successes") {
        bad("unknown field \"" + key + "\"");
      }
    }
    const auto mapped = map.find("mapped");
    if (mapped == map.end() || !mapped->is_array() || mapped->empty()) return bad("needs \"mapped\": a non-empty list of input names");
    for (const auto& name : *mapped) {
      if (!name.is_string()) return bad("\"mapped\" must hold input names");
      n.mapped.push_back(name.get<std::string>());
    }
    const auto partial = map.find("partial");
    if (partial != map.end() && !partial->is_boolean()) return bad("\"partial\" must be true or false");
    n.partial = partial != map.end() && partial->get<bool>();
  }

  void check_binding(const json& b, const type_descriptor* type, bool item, const site& where,
                     std::vector<std::string>& producers, std::vector<std::string>& graph_inputs) {
    if (!b.is_object() || b.size() != 1) {
      return problem(where.str() + ": not a binding (expected one of literal, ref, " +
                     std::string(allow_inputs_ ? "input, " : "") + "list, map, stored): " + clip(b));
    }
    const std::string& kind = b.begin().key();
    const json& value = b.begin().value();
    // The type of one item where a collection item is read.
    const type_descriptor* wanted = type;
    if (item && type != nullptr) {
      wanted = (type->kind() == type_kind::list || type->kind() == type_kind::map) ? &type->elements().at(0) : nullptr;
    }
    if (kind == "literal") {
      if (wanted != nullptr) {
        if (auto bad = literal_mismatch(value, *wanted, where.port + where.suffix)) {
          problem(where.str() + ": literal does not match " + wanted->to_string() + ": " + *bad);
        }
      }
      return;
    }
    if (kind == "stored") return check_stored(value, wanted, where);
    if (kind == "ref") {
      if (!value.is_string()) return problem(where.str() + ": \"ref\" must be \"<node id>.<output>\"");
      const auto& text = value.get_ref<const std::string&>();
      const auto dot = text.rfind('.');
      if (dot == std::string::npos) {
        return problem(where.str() + ": \"ref\" must be \"<node id>.<output>\", got \"" + text + "\"");
      }
      const std::string node = text.substr(0, dot);
      const std::string output = text.substr(dot + 1);
      const auto it = graph_->index.find(node);
      if (it == graph_->index.end()) return problem(where.str() + ": dangling reference to node " + node + " (no such node)");
      add_once(producers, node);
      const entity_decl* producer = (*node_entities_)[it->second];
      if (producer == nullptr || !producer->has_interface) return;  // already reported
      const auto& outs = producer->interface.outputs;
      const auto o = std::find_if(outs.begin(), outs.end(), [&](const loom::port& p) { return p.name == output; });
      if (o == outs.end()) {
        return problem(where.str() + ": dangling reference: node " + node + " (" + graph_->nodes[it->second].entity +
                       ") has no output '" + output + "'");
      }
      // A map node's outputs are lists (of optionals when partial).
      const node_decl& from = graph_->nodes[it->second];
      type_descriptor found = o->type;
      if (!from.mapped.empty()) {
        if (from.partial) found = type_descriptor(type_kind::optional, {found});
        found = type_descriptor(type_kind::list, {found});
      }
      if (wanted != nullptr && found != *wanted) {
        problem(where.str() + ": type mismatch: expected " + wanted->to_string() + ", found " + found.to_string() +
                " (output " + output + " of node " + node + ", " + from.entity + ")");
      }
      return;
    }
    if (kind == "input") {
      if (!allow_inputs_) return problem(where.str() + ": not a binding here: \"input\" (only in a static workflow's graph)");
      if (!value.is_string() || value.get_ref<const std::string&>().empty()) {
        return problem(where.str() + ": \"input\" must name an input of the workflow");
      }
      const auto& name = value.get_ref<const std::string&>();
      if (allowed_inputs_ != nullptr &&
          std::find(allowed_inputs_->begin(), allowed_inputs_->end(), name) == allowed_inputs_->end()) {
        std::string known;
        for (const auto& n : *allowed_inputs_) known += (known.empty() ? "" : ", ") + n;
        return problem(where.str() + ": no input '" + name + "' in this workflow (its inputs: " +
                       (known.empty() ? "none" : known) + ")");
      }
      add_once(graph_inputs, name);
      return;
    }
    if ((kind == "list" || kind == "map") && !item) {
      const bool is_map = kind == "map";
      if (type != nullptr && type->kind() != (is_map ? type_kind::map : type_kind::list)) {
        return problem(where.str() + ": a " + kind + " of bindings cannot feed " + type->to_string());
      }
      if (is_map ? !value.is_object() : !value.is_array()) {
        return problem(where.str() + ": \"" + kind + "\" must hold " + (is_map ? "an object" : "a list") + " of bindings");
      }
      std::size_t k = 0;
      for (const auto& [key, entry] : value.items()) {
        site at = where;
        at.suffix += is_map ? "[\"" + key + "\"]" : "[" + std::to_string(k) + "]";
        check_binding(entry, type, true, at, producers, graph_inputs);
        ++k;
      }
      return;
    }
    problem(where.str() + ": not a binding here: \"" + kind + "\"");
  }

  void check_stored(const json& value, const type_descriptor* wanted, const site& where) {
    if (!value.is_string()) return problem(where.str() + ": \"stored\" needs an object store key");
    const auto& key = value.get_ref<const std::string&>();
    try {
      loom::object_store::check_key(key);
    } catch (const std::exception& e) {
      return problem(where.str() + ": " + e.what());
    }
    if (options_.store == nullptr) return;  // a file read on its own: the key cannot be followed
    try {
      const auto bytes = options_.store->get(key);
      if (!bytes) return problem(where.str() + ": stored object '" + key + "' does not exist");
      if (bytes->size() > options_.max_bytes) {
        return problem(where.str() + ": stored object '" + key + "' is oversized: " + std::to_string(bytes->size()) +
                       " bytes, over the limit of " + std::to_string(options_.max_bytes));
      }
      const json literal = json::parse(*bytes);
      if (wanted != nullptr) {
        if (auto bad = literal_mismatch(literal, *wanted, where.port + where.suffix)) {
          problem(where.str() + ": stored object '" + key + "' does not match " + wanted->to_string() + ": " + *bad);
        }
      }
    } catch (const std::exception& e) {
      problem(where.str() + ": stored object '" + key + "': " + e.what());
    }
  }

  void check_acyclic(const graph_decl& g, const std::string& at) {
    std::vector<std::vector<std::size_t>> consumers(g.nodes.size());
    std::vector<std::size_t> waiting(g.nodes.size(), 0);
    for (std::size_t i = 0; i < g.nodes.size(); ++i) {
      for (const auto& p : g.nodes[i].producers) {
        const auto it = g.index.find(p);
        if (it == g.index.end()) continue;
        consumers[it->second].push_back(i);
        ++waiting[i];
      }
    }
    std::vector<std::size_t> ready;
    for (std::size_t i = 0; i < g.nodes.size(); ++i) {
      if (waiting[i] == 0) ready.push_back(i);
    }
    std::size_t placed = 0;
    while (!ready.empty()) {
      const auto n = ready.back();
      ready.pop_back();
      ++placed;
      for (const auto c : consumers[n]) {
        if (--waiting[c] == 0) ready.push_back(c);
      }
    }
    if (placed == g.nodes.size()) return;
    std::string members;
    std::size_t listed = 0;
    for (std::size_t i = 0; i < g.nodes.size() && listed < 10; ++i) {
      if (waiting[i] == 0) continue;
      members += (listed++ == 0 ? "" : ", ") + g.nodes[i].id;
    }
    problem(at + "cycle: " + std::to_string(g.nodes.size() - placed) + " nodes wait on each other, among them " +
            members);
  }

  graph_file& file_;
  const graph_check_options& options_;
  // The graph being read.
  bool allow_inputs_ = false;
  const std::vector<std::string>* allowed_inputs_ = nullptr;
  const graph_decl* graph_ = nullptr;
  const std::vector<const entity_decl*>* node_entities_ = nullptr;
};

}  // namespace

std::string graph_file::report() const {
  std::string out = where + ": futures file rejected (" + std::to_string(problems.size()) +
                    (problems.size() == 1 ? " problem)" : " problems)");
  for (const auto& p : problems) out += "\n  - " + p;
  return out;
}

std::size_t json_depth(std::string_view text) {
  std::size_t depth = 0;
  std::size_t deepest = 0;
  bool in_string = false;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (in_string) {
      if (c == '\\') ++i;
      else if (c == '"') in_string = false;
    } else if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      deepest = std::max(deepest, ++depth);
    } else if ((c == ']' || c == '}') && depth > 0) {
      --depth;
    }
  }
  return deepest;
}

graph_file read_graph_file(std::string_view text, std::string where, const graph_check_options& options) {
  graph_file file;
  file.where = std::move(where);
  checker(file, options).run(text);
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
