// src/futures_document.cpp — the structural reader of futures files
// (loom/detail/futures_document.hpp): every check that needs no registry, and its message.
#include <loom/detail/futures_document.hpp>

#include <loom/futures_file.hpp>
#include <loom/literal.hpp>
#include <loom/object_store.hpp>

#include <algorithm>
#include <exception>
#include <set>
#include <utility>

namespace loom::detail {

LOOM_FUNC std::size_t json_depth(std::string_view text) {
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

LOOM_FUNC std::optional<std::uint32_t> futures_graph::find(std::string_view id) const {
  // prefix<i> written canonically (no leading zeros) at position i
  const std::string_view prefix = g.node_prefix;
  if (id.size() > prefix.size() && id.size() <= prefix.size() + 10 && id.substr(0, prefix.size()) == prefix &&
      (id[prefix.size()] != '0' || id.size() == prefix.size() + 1)) {
    std::size_t value = 0;
    bool digits = true;
    for (std::size_t k = prefix.size(); k < id.size() && digits; ++k) {
      digits = id[k] >= '0' && id[k] <= '9';
      value = value * 10 + static_cast<std::size_t>(id[k] - '0');
    }
    if (digits && value < canonical.size() && canonical[value]) return static_cast<std::uint32_t>(value);
  }
  const auto it = other_ids.find(std::string(id));
  if (it == other_ids.end()) return std::nullopt;
  return it->second;
}

LOOM_FUNC std::string futures_graph::id(std::uint32_t i) const {
  if (i < canonical.size() && canonical[i]) return std::string(g.node_prefix) + std::to_string(i);
  const auto it = other_id_of.find(i);
  return it != other_id_of.end() ? it->second : "#" + std::to_string(i);
}

namespace futures_structure {

/// j[key] if it is a string, else "" (a futures file is untrusted input: no throwing
/// accessors on it).
inline std::string text_field(const json& j, const char* key) {
  const auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
}

inline std::string clip(const json& j) {
  auto text = j.dump();
  if (text.size() > 80) text = text.substr(0, 77) + "...";
  return text;
}

/// "dn<i>" / "n<i>" as the writer writes them (no leading zeros), at any position.
inline bool is_node_id(std::string_view id, std::string_view prefix) {
  if (id.size() <= prefix.size() || id.substr(0, prefix.size()) != prefix || id.size() > prefix.size() + 10) return false;
  const auto digits = id.substr(prefix.size());
  if (digits.size() > 1 && digits[0] == '0') return false;
  return std::all_of(digits.begin(), digits.end(), [](char c) { return c >= '0' && c <= '9'; });
}

/// Where a binding is, for messages: built only when there is a problem to report.
struct binding_site {
  std::string_view node_id;  // empty for an output of the graph
  std::string_view port;
  std::string suffix;  // "[2]" or "[\"key\"]" for an item of a collection
  [[nodiscard]] std::string str() const {
    return (node_id.empty() ? "output '" + std::string(port) + "'"
                            : "node " + std::string(node_id) + " input '" + std::string(port) + "'") +
           suffix;
  }
};

/// Reads the nodes and outputs of one graph into a futures_graph.
class graph_reader {
 public:
  graph_reader(futures_document& doc, futures_resolver& resolver, futures_graph& fg, std::string at,
               bool allow_inputs, const std::vector<std::string>* allowed_inputs)
      : doc_(doc), options_(doc.options), resolver_(resolver), fg_(fg), at_(std::move(at)),
        allow_inputs_(allow_inputs), allowed_inputs_(allowed_inputs) {}

  /// `self`: the interface whose outputs the graph gives (null: untyped), named `self_name`.
  void read(const json& nodes, const json* outputs, const entity_interface* self, const std::string& self_name) {
    read_nodes(nodes);
    read_outputs(outputs, self, self_name);
    check_acyclic();
  }

 private:
  void problem(std::string text) { doc_.problems.push_back(at_ + std::move(text)); }

  static const std::string& entity_name(const json& node) {
    static const std::string none;
    const auto it = node.find("entity");
    return it != node.end() && it->is_string() ? it->get_ref<const std::string&>() : none;
  }

  void read_nodes(const json& nodes) {
    graph& g = fg_.g;
    const std::size_t count = nodes.size();
    g.nodes.resize(count);
    fg_.entities.assign(count, nullptr);
    fg_.canonical.assign(count, false);
    // First pass: ids, entities, maps (and branches), so that references may point anywhere.
    for (std::size_t i = 0; i < count; ++i) {
      const json& node = nodes[i];
      const auto index = static_cast<std::uint32_t>(i);
      if (!node.is_object()) {
        problem("node #" + std::to_string(i) + ": must be an object, got " + clip(node));
        continue;
      }
      const auto id_field = node.find("id");
      if (id_field == node.end() || !id_field->is_string()) {
        problem("node #" + std::to_string(i) + ": needs a string \"id\"");
      } else {
        const auto& id = id_field->get_ref<const std::string&>();
        // The writer's ids are prefix<i> for node i: those resolve arithmetically; only
        // other ids go into the table (a 200,000-entry hash table is a quarter of a read).
        if (id.size() > g.node_prefix.size() && id == std::string(g.node_prefix) + std::to_string(i)) {
          fg_.canonical[i] = true;
        } else {
          fg_.other_id_of.emplace(index, id);
          if (!fg_.other_ids.emplace(id, index).second) problem("node " + id + ": duplicate id");
          if (options_.whole_file && !is_node_id(id, g.node_prefix)) {
            const std::string p(g.node_prefix);
            problem("node " + id + ": id must be " + p + "<index> like the rest (" + p + "0, " + p + "1, ...)");
          }
        }
      }
      const std::string id = fg_.id(index);
      if (options_.whole_file) {
        for (const auto& [key, _] : node.items()) {
          if (key != "id" && key != "entity" && key != "inputs" && key != "map" && key != "when") {
            problem("node " + id + ": unknown field \"" + key + "\"");
          }
        }
      }
      const std::string& name = entity_name(node);
      g.nodes[i].name = name;
      const auto entry_it = doc_.entities.find(name);
      const futures_entity* entry = entry_it != doc_.entities.end() ? &entry_it->second : nullptr;
      if (auto why = resolver_.node_entity(name, entry)) {
        problem("node " + id + ": entity '" + name + "' is " + *why);
        entry = nullptr;
      }
      fg_.entities[i] = entry;
      if (entry != nullptr && entry->has_interface) {
        g.nodes[i].output_count = static_cast<std::uint32_t>(entry->interface.outputs.size());
      }
      if (const auto map = node.find("map"); map != node.end()) read_map(*map, entry, id, index);
      if (options_.whole_file) {
        if (const auto when = node.find("when"); when != node.end()) read_when(*when, id, index);
      }
    }
    // A non-canonical id that spells a canonical one ("dn3" at position 5) is a duplicate.
    for (const auto& [id, i] : fg_.other_ids) {
      const auto at = fg_.find(id);
      if (at && *at != i) problem("node " + id + ": duplicate id");
    }
    // Second pass: the bindings.
    for (std::size_t i = 0; i < count; ++i) {
      const json& node = nodes[i];
      if (!node.is_object()) continue;
      const auto index = static_cast<std::uint32_t>(i);
      graph_node& n = g.nodes[i];
      n.first_input = static_cast<std::uint32_t>(g.bindings.size());
      const std::string id = fg_.id(index);
      const auto inputs_it = node.find("inputs");
      static const json empty = json::object();
      if (inputs_it == node.end() && options_.whole_file) {
        problem("node " + id + ": no \"inputs\" object");
        continue;
      }
      const json& inputs = inputs_it != node.end() ? *inputs_it : empty;
      if (!inputs.is_object()) {
        problem("node " + id + ": \"inputs\" must be an object");
        continue;
      }
      const futures_entity* entry = fg_.entities[i];
      if (entry == nullptr || !entry->has_interface) {
        // Undeclared (already a problem): still follow the references, for the graph's shape.
        n.input_count = static_cast<std::uint32_t>(inputs.size());
        std::uint32_t k = 0;
        for (const auto& [port, b] : inputs.items()) {
          g.bindings.push_back(read_binding(b, nullptr, binding_site{id, port, {}}, index, k++));
        }
        continue;
      }
      const auto& ports = entry->interface.inputs;
      n.input_count = static_cast<std::uint32_t>(ports.size());
      const map_spec* spec = fg_.map_of(index);
      for (std::size_t k = 0; k < ports.size(); ++k) {
        const port& p = ports[k];
        const auto it = inputs.find(p.name);
        if (it == inputs.end()) {
          problem("node " + id + " input '" + p.name + "': no binding (expected " + p.type.to_string() + ")");
          g.bindings.push_back({});
          continue;
        }
        if (spec != nullptr && ((spec->mapped >> k) & 1U)) {
          const type_descriptor list(type_kind::list, {p.type});
          g.bindings.push_back(read_binding(*it, &list, binding_site{id, p.name, {}}, index, static_cast<std::uint32_t>(k)));
        } else {
          g.bindings.push_back(read_binding(*it, &p.type, binding_site{id, p.name, {}}, index, static_cast<std::uint32_t>(k)));
        }
      }
      for (auto entry_it = inputs.begin(); entry_it != inputs.end(); ++entry_it) {
        const std::string& name = entry_it.key();
        const bool known = std::any_of(ports.begin(), ports.end(), [&](const port& p) { return p.name == name; });
        if (!known) problem("node " + id + ": unknown input '" + name + "' for " + std::string(n.name));
      }
    }
  }

  /// A node's "map": {"mapped": [input names], "concurrency": n, "partial": bool,
  /// "min_success_ratio": r, "min_successes": k or null}.
  void read_map(const json& m, const futures_entity* entry, const std::string& id, std::uint32_t i) {
    const std::string entity(fg_.g.nodes[i].name);
    const auto bad = [&](const std::string& what) { problem("node " + id + ": \"map\": " + what); };
    if (entry != nullptr && !entry->kind.empty() && entry->kind != "task") {
      return bad(entity + " is a " + entry->kind + ", not a task");
    }
    if (!m.is_object()) return bad("must be an object");
    if (options_.whole_file) {
      for (const auto& [key, _] : m.items()) {
        if (key != "mapped" && key != "concurrency" && key != "partial" && key != "min_success_ratio" &&
            key != "min_successes") {
          bad("unknown field \"" + key + "\"");
        }
      }
    }
    map_spec spec;
    std::vector<std::string> names;
    const auto mapped = m.find("mapped");
    if (mapped == m.end() || !mapped->is_array() || mapped->empty()) {
      return bad("needs \"mapped\": a non-empty list of input names");
    }
    const bool typed = entry != nullptr && entry->has_interface;
    for (const auto& input : *mapped) {
      if (typed) {
        const auto& inputs = entry->interface.inputs;
        const auto at = std::find_if(inputs.begin(), inputs.end(), [&](const port& p) {
          return input.is_string() && p.name == input.get_ref<const std::string&>();
        });
        if (at == inputs.end()) return bad("mapped input " + input.dump() + " is not an input of " + entity);
        spec.mapped |= std::uint64_t{1} << static_cast<std::size_t>(at - inputs.begin());
      } else if (!input.is_string()) {
        return bad("\"mapped\" must hold input names");
      }
      names.push_back(input.get<std::string>());
    }
    const auto concurrency = m.find("concurrency");
    if (concurrency != m.end()) {
      if (!concurrency->is_number_unsigned()) return bad("\"concurrency\" must be a non-negative integer");
      spec.concurrency = concurrency->get<std::size_t>();
    }
    const auto partial = m.find("partial");
    if (partial != m.end()) {
      if (!partial->is_boolean()) return bad("\"partial\" must be true or false");
      spec.partial = partial->get<bool>();
    }
    const auto ratio = m.find("min_success_ratio");
    if (ratio != m.end()) {
      if (!ratio->is_number() || ratio->get<double>() < 0.0 || ratio->get<double>() > 1.0) {
        return bad("\"min_success_ratio\" must be a number from 0 to 1");
      }
      spec.min_success_ratio = ratio->get<double>();
    }
    const auto at_least = m.find("min_successes");
    if (at_least != m.end() && !at_least->is_null()) {
      if (!at_least->is_number_unsigned()) return bad("\"min_successes\" must be a non-negative integer or null");
      spec.min_successes = at_least->get<std::int64_t>();
    }
    graph_node& n = fg_.g.nodes[i];
    n.kind = node_kind::map;
    n.map = static_cast<std::uint32_t>(fg_.g.maps.size());
    fg_.g.maps.push_back(spec);
    fg_.mapped.push_back(std::move(names));
  }

  /// A node's "when" (inside a branch of a wf.when): its branch node, an earlier node of
  /// the same graph, and its side.
  void read_when(const json& when, const std::string& id, std::uint32_t i) {
    const std::string where = "node " + id + ": \"when\"";
    if (!when.is_object()) return problem(where + " must be an object {\"branch\": id, \"side\": \"then\"|\"else\"}");
    for (const auto& [key, _] : when.items()) {
      if (key != "branch" && key != "side") problem(where + ": unknown field \"" + key + "\"");
    }
    graph_node& n = fg_.g.nodes[i];
    const auto branch = when.find("branch");
    const auto at = branch != when.end() && branch->is_string() ? fg_.find(branch->get_ref<const std::string&>())
                                                                : std::nullopt;
    bool ok = true;
    if (!at || *at >= i) {
      problem(where + ": \"branch\" must name an earlier node");
      ok = false;
    } else if (const std::string kind = kind_of(*at); !kind.empty() && kind != "branch") {
      problem(where + ": \"branch\" names " + branch->get<std::string>() + ", a " + kind + " node, not a branch node");
      ok = false;
    }
    const auto side = when.find("side");
    if (side == when.end() || !side->is_string() || (*side != "then" && *side != "else")) {
      return problem(where + ": \"side\" must be \"then\" or \"else\"");
    }
    if (!ok) return;
    n.guard = *at;
    n.side = *side == "then" ? branch_side::then_side : branch_side::else_side;
  }

  /// A node's kind as written: "map" for a map node, else its entity's ("" if undeclared).
  [[nodiscard]] std::string kind_of(std::uint32_t i) const {
    if (fg_.g.nodes[i].kind == node_kind::map) return "map";
    return fg_.entities[i] != nullptr ? fg_.entities[i]->kind : std::string();
  }

  void read_outputs(const json* outputs, const entity_interface* self, const std::string& self_name) {
    graph& g = fg_.g;
    if (outputs == nullptr || !outputs->is_object()) return problem("no \"outputs\" object");
    constexpr auto none = literal_place::no_node;
    if (self != nullptr) {
      for (std::size_t o = 0; o < self->outputs.size(); ++o) {
        const port& p = self->outputs[o];
        fg_.output_names.push_back(p.name);
        const auto it = outputs->find(p.name);
        if (it == outputs->end()) {
          problem("output '" + p.name + "': no binding (expected " + p.type.to_string() + ")");
          g.outputs.push_back({});
          continue;
        }
        g.outputs.push_back(read_binding(*it, &p.type, binding_site{{}, p.name, {}}, none, static_cast<std::uint32_t>(o)));
      }
      for (auto entry = outputs->begin(); entry != outputs->end(); ++entry) {
        const std::string& name = entry.key();
        const bool known =
            std::any_of(self->outputs.begin(), self->outputs.end(), [&](const port& p) { return p.name == name; });
        if (!known) problem("unknown output '" + name + "' for " + self_name);
      }
      return;
    }
    std::uint32_t o = 0;
    for (const auto& [name, b] : outputs->items()) {
      if (options_.whole_file && !is_node_id(name, "o")) problem("output '" + name + "': outputs are named o0, o1, ...");
      fg_.output_names.push_back(name);
      g.outputs.push_back(read_binding(b, nullptr, binding_site{{}, name, {}}, none, o++));
    }
    if (options_.whole_file) {
      for (std::size_t k = 0; k < outputs->size(); ++k) {
        if (!outputs->contains("o" + std::to_string(k))) {
          problem("outputs: o" + std::to_string(k) + " is missing (outputs are o0, o1, ... without gaps)");
        }
      }
    }
  }

  /// One binding, of `type` (null: undeclared, only its shape is read); `item` reads an
  /// element of a collection. `node`/`port`: where it is, for the resolver.
  binding read_binding(const json& b, const type_descriptor* type, const binding_site& site, std::uint32_t node,
                       std::uint32_t port, bool item = false) {
    if (!b.is_object() || b.size() != 1) {
      problem(site.str() + ": not a binding (expected one of literal, ref, " + (allow_inputs_ ? "input, " : "") +
              "list, map, stored): " + clip(b));
      return {};
    }
    const auto first = b.begin();
    const std::string& kind = first.key();
    const json& value = first.value();
    // The type of one item where a collection item is read.
    const type_descriptor* wanted = type;
    if (item && type != nullptr) {
      wanted = type->kind() == type_kind::list || type->kind() == type_kind::map ? &type->elements().at(0) : nullptr;
    }
    if (kind == "literal") return literal(value, wanted, site, node, port, item, nullptr);
    if (kind == "stored") return stored(value, wanted, site, node, port, item);
    if (kind == "ref") return ref(value, wanted, site);
    if (kind == "input") return input(value, site);
    if ((kind == "list" || kind == "map") && !item) {
      const bool is_map = kind == "map";
      if (type != nullptr && type->kind() != (is_map ? type_kind::map : type_kind::list)) {
        problem(site.str() + ": a " + kind + " of bindings cannot feed " + type->to_string());
        return {};
      }
      if (is_map ? !value.is_object() : !value.is_array()) {
        problem(site.str() + ": \"" + kind + "\" must hold " + (is_map ? "an object" : "a list") + " of bindings");
        return {};
      }
      graph& g = fg_.g;
      collection c;
      c.is_map = is_map;
      std::vector<binding> items;
      std::vector<std::string> keys;
      std::size_t k = 0;
      for (const auto& [key, entry] : value.items()) {
        const binding_site item_site{site.node_id, site.port,
                                     site.suffix + (is_map ? "[\"" + key + "\"]" : "[" + std::to_string(k) + "]")};
        items.push_back(read_binding(entry, type, item_site, node, port, true));
        if (is_map) keys.push_back(key);
        ++k;
      }
      c.first_item = static_cast<std::uint32_t>(g.items.size());
      c.item_count = static_cast<std::uint32_t>(items.size());
      c.first_key = static_cast<std::uint32_t>(g.keys.size());
      g.items.insert(g.items.end(), items.begin(), items.end());
      g.keys.insert(g.keys.end(), keys.begin(), keys.end());
      const auto index = static_cast<std::uint32_t>(g.collections.size());
      g.collections.push_back(c);
      return {source_kind::collection, 0, index, 0};
    }
    problem(site.str() + ": not a binding here: \"" + kind + "\"");
    return {};
  }

  binding literal(const json& value, const type_descriptor* wanted, const binding_site& site, std::uint32_t node,
                  std::uint32_t port, bool item, const std::string* stored_key) {
    if (wanted == nullptr) return {source_kind::literal, 0, 0, 0};  // undeclared: nothing to check it against
    std::uint32_t index = 0;
    const literal_place place{fg_, node, port, item, *wanted, site.port, site.suffix};
    if (auto why = resolver_.literal(value, place, index)) {
      problem(site.str() + (stored_key != nullptr ? ": stored object '" + *stored_key + "' does not match "
                                                  : std::string(": literal does not match ")) +
              wanted->to_string() + ": " + *why);
      return {};
    }
    return {source_kind::literal, 0, index, 0};
  }

  binding stored(const json& value, const type_descriptor* wanted, const binding_site& site, std::uint32_t node,
                 std::uint32_t port, bool item) {
    if (!value.is_string()) {
      problem(site.str() + ": \"stored\" needs an object store key");
      return {};
    }
    const auto& key = value.get_ref<const std::string&>();
    try {
      object_store::check_key(key);
    } catch (const std::exception& e) {
      problem(site.str() + ": stored object '" + key + "': " + e.what());
      return {};
    }
    if (!options_.stored_prefix.empty() && key.rfind(options_.stored_prefix + "/", 0) != 0) {
      problem(site.str() + ": stored object '" + key + "' is outside this node's keys (" + options_.stored_prefix +
              "/...)");
      return {};
    }
    if (options_.store == nullptr) {
      if (options_.stored_needs_store) {
        problem(site.str() + ": refers to stored object '" + key + "' but no object store is given");
      }
      return {};
    }
    json loaded;
    try {
      const auto bytes = options_.store->get(key);
      if (!bytes) {
        problem(site.str() + ": stored object '" + key + "' does not exist");
        return {};
      }
      if (bytes->size() > options_.max_bytes) {
        problem(site.str() + ": stored object '" + key + "' is oversized: " + std::to_string(bytes->size()) +
                " bytes, over the limit of " + std::to_string(options_.max_bytes));
        return {};
      }
      loaded = json::parse(*bytes);
    } catch (const std::exception& e) {
      problem(site.str() + ": stored object '" + key + "': " + e.what());
      return {};
    }
    return literal(loaded, wanted, site, node, port, item, &key);
  }

  binding ref(const json& value, const type_descriptor* wanted, const binding_site& site) {
    if (!value.is_string()) {
      problem(site.str() + ": \"ref\" must be \"<node id>.<output>\"");
      return {};
    }
    const auto& text = value.get_ref<const std::string&>();
    const auto dot = text.rfind('.');
    if (dot == std::string::npos) {
      problem(site.str() + ": \"ref\" must be \"<node id>.<output>\", got \"" + text + "\"");
      return {};
    }
    const std::string_view node = std::string_view(text).substr(0, dot);
    const std::string_view output = std::string_view(text).substr(dot + 1);
    const auto producer = fg_.find(node);
    if (!producer) {
      problem(site.str() + ": dangling reference to node " + std::string(node) + " (no such node)");
      return {};
    }
    const binding edge{source_kind::node_output, *producer, futures_graph::unknown_output, 0};
    const futures_entity* entry = fg_.entities[*producer];
    if (entry == nullptr || !entry->has_interface) return edge;  // already reported
    const auto& outs = entry->interface.outputs;
    const auto o = std::find_if(outs.begin(), outs.end(), [&](const port& p) { return p.name == output; });
    if (o == outs.end()) {
      problem(site.str() + ": dangling reference: node " + std::string(node) + " (" +
              std::string(fg_.g.nodes[*producer].name) + ") has no output '" + std::string(output) + "'");
      return edge;
    }
    const auto index = static_cast<std::uint32_t>(o - outs.begin());
    if (wanted != nullptr) {
      // A map node's outputs are lists (of optionals when partial).
      const map_spec* spec = fg_.map_of(*producer);
      type_descriptor found = o->type;
      if (spec != nullptr) {
        if (spec->partial) found = type_descriptor(type_kind::optional, {found});
        found = type_descriptor(type_kind::list, {found});
      }
      if (found != *wanted) {
        problem(site.str() + ": type mismatch: expected " + wanted->to_string() + ", found " + found.to_string() +
                " (output " + std::string(output) + " of node " + std::string(node) + ", " +
                std::string(fg_.g.nodes[*producer].name) + (spec != nullptr ? " mapped" : "") + ")");
      }
    }
    return {source_kind::node_output, *producer, index, 0};
  }

  binding input(const json& value, const binding_site& site) {
    if (!allow_inputs_) {
      problem(site.str() + ": not a binding here: \"input\" (only in a static workflow's graph)");
      return {};
    }
    if (!value.is_string() || value.get_ref<const std::string&>().empty()) {
      problem(site.str() + ": \"input\" must name an input of the workflow");
      return {};
    }
    const auto& name = value.get_ref<const std::string&>();
    if (allowed_inputs_ != nullptr &&
        std::find(allowed_inputs_->begin(), allowed_inputs_->end(), name) == allowed_inputs_->end()) {
      std::string known;
      for (const auto& n : *allowed_inputs_) known += (known.empty() ? "" : ", ") + n;
      problem(site.str() + ": no input '" + name + "' in this workflow (its inputs: " + (known.empty() ? "none" : known) +
              ")");
      return {};
    }
    auto& names = fg_.input_names;
    auto at = std::find(names.begin(), names.end(), name);
    if (at == names.end()) at = names.insert(names.end(), name);
    return {source_kind::input, 0, static_cast<std::uint32_t>(at - names.begin()), 0};
  }

  /// Kahn's order over the refs: the nodes it cannot place wait on each other.
  void check_acyclic() {
    const graph& g = fg_.g;
    std::vector<std::vector<std::uint32_t>> consumers(g.nodes.size());
    std::vector<std::uint32_t> waiting(g.nodes.size(), 0);
    auto depend = [&](std::uint32_t consumer, const binding& b) {
      if (b.from == source_kind::node_output) {
        consumers[b.node].push_back(consumer);
        ++waiting[consumer];
      }
    };
    for (std::uint32_t i = 0; i < g.nodes.size(); ++i) {
      const graph_node& n = g.nodes[i];
      for (std::uint32_t k = 0; k < n.input_count; ++k) {
        const binding& b = g.input_of(n, k);
        if (b.from == source_kind::collection) {
          const collection& c = g.collections[b.index];
          for (std::uint32_t j = 0; j < c.item_count; ++j) depend(i, g.items[c.first_item + j]);
        } else {
          depend(i, b);
        }
      }
    }
    std::vector<std::uint32_t> ready;
    for (std::uint32_t i = 0; i < g.nodes.size(); ++i) {
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
    for (std::uint32_t i = 0; i < g.nodes.size() && listed < 10; ++i) {
      if (waiting[i] == 0) continue;
      members += (listed++ == 0 ? "" : ", ") + fg_.id(i);
    }
    problem("cycle: " + std::to_string(g.nodes.size() - placed) + " nodes wait on each other, among them " + members);
  }

  futures_document& doc_;
  const futures_document_options& options_;
  futures_resolver& resolver_;
  futures_graph& fg_;
  std::string at_;  // "" at the top, "subworkflow 'NAME': " in one
  bool allow_inputs_;
  const std::vector<std::string>* allowed_inputs_;  // null: any name (when allowed)
};

}  // namespace futures_structure

LOOM_FUNC bool futures_document::read_frame(std::string_view text) {
  const auto fatal = [this](std::string problem) {
    problems.push_back(std::move(problem));
    return false;
  };
  if (text.size() > options.max_bytes) {
    return fatal("oversized: " + std::to_string(text.size()) + " bytes, over the limit of " +
                 std::to_string(options.max_bytes));
  }
  if (options.max_depth != 0) {
    if (const auto depth = json_depth(text); depth > options.max_depth) {
      return fatal("nested " + std::to_string(depth) + " levels deep, over the limit of " +
                   std::to_string(options.max_depth));
    }
  }
  try {
    document = json::parse(text);
  } catch (const json::parse_error& e) {
    document = nullptr;
    return fatal(std::string("not valid JSON (truncated or corrupt?): ") + e.what());
  }
  const json& doc = document;
  if (!doc.is_object()) return fatal("the file must be a JSON object, not " + std::string(json_kind_name(doc)));
  if (futures_structure::text_field(doc, "format") != "loom-futures") {
    return fatal("not a futures file: \"format\" is not \"loom-futures\"");
  }
  const auto version = doc.find("version");
  if (version == doc.end() || !version->is_number_integer()) return fatal("no integer \"version\"");
  if (version->get<std::int64_t>() != futures_format_version) {
    return fatal("unsupported version " + version->dump() + " (this reader knows version " +
                 std::to_string(futures_format_version) + ")");
  }
  workflow = futures_structure::text_field(doc, "workflow");
  if (workflow.empty()) return fatal("no \"workflow\" name");
  if (options.whole_file) {
    static const std::set<std::string> fields = {"format", "version", "workflow", "entities",
                                                  "nodes",  "outputs", "subworkflows"};
    for (const auto& [key, _] : doc.items()) {
      if (fields.count(key) == 0) problems.push_back("unknown field \"" + key + "\" (version 1 has no such field)");
    }
  }
  return true;
}

LOOM_FUNC bool futures_document::read_entities() {
  const auto table = document.find("entities");
  if (table == document.end() || !table->is_object()) {
    problems.push_back("no \"entities\" table");
    return false;
  }
  const bool whole = options.whole_file;
  for (const auto& [name, spec] : table->items()) {
    futures_entity e;
    const std::string at = "entity '" + name + "'";
    if (whole && name.empty()) problems.push_back("an entity with an empty name");
    if (!spec.is_object()) {
      problems.push_back(at + ": the entry must be an object");
      entities.emplace(name, std::move(e));
      continue;
    }
    e.is_object = true;
    e.kind = futures_structure::text_field(spec, "kind");
    e.version = futures_structure::text_field(spec, "version");
    const auto interface = spec.find("interface");
    if (whole) {
      for (const auto& [key, _] : spec.items()) {
        if (key != "kind" && key != "version" && key != "interface") problems.push_back(at + ": unknown field \"" + key + "\"");
      }
      static const std::set<std::string> kinds = {"task", "workflow", "dynamic", "branch", "merge"};
      if (kinds.count(e.kind) == 0) {
        problems.push_back(at + ": \"kind\" must be \"task\", \"workflow\", \"dynamic\", \"branch\" or \"merge\"");
        e.kind.clear();
      }
      const auto version = spec.find("version");
      if (version == spec.end() || !version->is_string()) problems.push_back(at + ": no \"version\" string");
      if (interface == spec.end() || !interface->is_object()) {
        problems.push_back(at + ": no \"interface\" object");
        entities.emplace(name, std::move(e));
        continue;
      }
    }
    try {
      e.interface = entity_interface::from_json(interface != spec.end() ? *interface : json());
      e.has_interface = true;
    } catch (const std::exception& ex) {
      problems.push_back(at + ": bad interface: " + ex.what());
    }
    if (whole && e.has_interface) {
      std::set<std::string> seen;
      for (const auto& p : e.interface.inputs) {
        if (p.name.empty()) problems.push_back(at + ": an input with an empty name");
        if (!seen.insert(p.name).second) problems.push_back(at + ": two inputs named '" + p.name + "'");
      }
      for (std::size_t o = 0; o < e.interface.outputs.size(); ++o) {
        if (e.interface.outputs[o].name != positional_name('o', o)) {
          problems.push_back(at + ": output " + std::to_string(o) + " is named '" + e.interface.outputs[o].name +
                             "', expected 'o" + std::to_string(o) + "'");
        }
      }
    }
    entities.emplace(name, std::move(e));
  }
  return true;
}

LOOM_FUNC bool futures_document::read_graphs(futures_resolver& resolver, const entity_interface* self) {
  using futures_structure::graph_reader;
  const json& doc = document;
  const auto nodes = doc.find("nodes");
  if (nodes == doc.end() || !nodes->is_array()) {
    problems.push_back("no \"nodes\" list");
    return false;
  }
  if (nodes->size() > options.max_nodes) {
    problems.push_back("too many nodes: " + std::to_string(nodes->size()) + ", over the limit of " +
                       std::to_string(options.max_nodes));
    return false;
  }
  const bool whole = options.whole_file;
  // The id scheme: `dn` in a dynamic sub-DAG, `n` in a static workflow's graph (read whole).
  if (whole && !nodes->empty() && (*nodes)[0].is_object()) {
    const auto id = (*nodes)[0].find("id");
    static_ids = id != (*nodes)[0].end() && id->is_string() &&
                 futures_structure::is_node_id(id->get_ref<const std::string&>(), "n");
  }
  top.g.name = workflow;
  top.g.node_prefix = static_ids ? "n" : "dn";
  // A static graph's own inputs, when its entity is declared (a root graph's is).
  std::optional<std::vector<std::string>> top_inputs;
  if (static_ids && self != nullptr) {
    top_inputs.emplace();
    for (std::size_t i = 0; i < self->inputs.size(); ++i) {
      top_inputs->push_back(positional_name('i', i));
      top_inputs->push_back(self->inputs[i].name);
    }
  }
  const auto outputs = doc.find("outputs");
  graph_reader(*this, resolver, top, "", static_ids, top_inputs ? &*top_inputs : nullptr)
      .read(*nodes, outputs != doc.end() ? &*outputs : nullptr, self, workflow);
  if (!whole) return true;
  const auto subs = doc.find("subworkflows");
  if (subs == doc.end()) {
    problems.push_back("no \"subworkflows\" table");
    return true;
  }
  if (!subs->is_object()) {
    problems.push_back("\"subworkflows\" must be an object");
    return true;
  }
  for (const auto& [name, spec] : subs->items()) {
    const std::string at = "subworkflow '" + name + "'";
    futures_graph& fg = subworkflows[name];
    fg.g.name = name;
    fg.g.node_prefix = "n";
    if (!spec.is_object()) {
      problems.push_back(at + ": must be an object");
      continue;
    }
    for (const auto& [key, _] : spec.items()) {
      if (key != "inputs" && key != "nodes" && key != "outputs") problems.push_back(at + ": unknown field \"" + key + "\"");
    }
    const auto entry = entities.find(name);
    const futures_entity* own = entry != entities.end() ? &entry->second : nullptr;
    if (own == nullptr) {
      problems.push_back(at + ": no entity '" + name + "' in the entities table");
    } else if (!own->kind.empty() && own->kind != "workflow") {
      problems.push_back(at + ": entity '" + name + "' is a " + own->kind + ", not a workflow");
    }
    const entity_interface* interface = own != nullptr && own->has_interface ? &own->interface : nullptr;
    const auto inputs = spec.find("inputs");
    if (inputs == spec.end() || !inputs->is_array()) {
      problems.push_back(at + ": no \"inputs\" list");
    } else {
      for (const auto& input : *inputs) {
        if (!input.is_string() || input.get_ref<const std::string&>().empty()) {
          problems.push_back(at + ": an input name must be a non-empty string, got " + futures_structure::clip(input));
          continue;
        }
        fg.inputs.push_back(input.get<std::string>());
      }
      if (interface != nullptr && fg.inputs.size() != interface->inputs.size()) {
        problems.push_back(at + ": " + std::to_string(fg.inputs.size()) + " inputs, its entity declares " +
                           std::to_string(interface->inputs.size()));
      }
    }
    const auto sub_nodes = spec.find("nodes");
    if (sub_nodes == spec.end() || !sub_nodes->is_array()) {
      problems.push_back(at + ": no \"nodes\" list");
      continue;
    }
    if (sub_nodes->size() > options.max_nodes) {
      problems.push_back(at + ": too many nodes: " + std::to_string(sub_nodes->size()) + ", over the limit of " +
                         std::to_string(options.max_nodes));
      continue;
    }
    const auto sub_outputs = spec.find("outputs");
    graph_reader(*this, resolver, fg, at + ": ", true, &fg.inputs)
        .read(*sub_nodes, sub_outputs != spec.end() ? &*sub_outputs : nullptr, interface, name);
  }
  return true;
}

}  // namespace loom::detail
