// src/futures_file.cpp — writing and reading futures files (loom/futures_file.hpp):
// futures_writer turns a sub-DAG into text, futures_reader validates a file into an
// executable graph.
#include <loom/futures_file.hpp>

#include <loom/detail/strings.hpp>
#include <loom/object_store.hpp>
#include <loom/registry.hpp>

#include <algorithm>
#include <charconv>
#include <cstdint>
#include <cstdio>
#include <map>
#include <optional>
#include <unordered_map>
#include <utility>
#include <vector>

namespace loom {

namespace detail {

LOOM_FUNC std::string node_id(const graph& g, std::size_t i) { return std::string(g.node_prefix) + std::to_string(i); }

/// j[key] if it is a string, else "" (a futures file is untrusted input: no throwing
/// accessors on it).
LOOM_FUNC std::string string_field(const json& j, const char* key) {
  const auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
}

/// Writes a sub-DAG as futures-file text straight from the graph, with no JSON document
/// in between: a 200,000-node file is written in a tenth of the time a document takes to
/// build and dump, and it is on the critical path of every stored dynamic node. The text
/// is what nlohmann::json would dump for the same document (compact, keys sorted), so
/// writing what was read gives the same bytes. Only literal values, entity interfaces
/// and names (once per entity) go through nlohmann.
class futures_writer {
 public:
  explicit futures_writer(const futures_write_options& options) : options_(options) {}

  std::string write(const graph& g, std::string_view workflow) {
    const entity_info* info = registry::global().find(workflow);
    std::string nodes;
    nodes.reserve(g.nodes.size() * 96);
    nodes_of(nodes, g, "literals", nullptr);
    std::string outputs;
    outputs_of(outputs, g, "literals", nullptr, info);
    std::string out;
    out.reserve(nodes.size() + outputs.size() + 1024);
    out += "{\"entities\":";
    object_of(out, entities_);
    out += ",\"format\":\"loom-futures\",\"nodes\":";
    out += nodes;
    out += ",\"outputs\":";
    out += outputs;
    out += ",\"subworkflows\":";
    object_of(out, subworkflows_);
    out += ",\"version\":";
    out += std::to_string(futures_format_version);
    out += ",\"workflow\":";
    out += quoted(workflow);
    out += '}';
    return out;
  }

 private:
  /// What one entity's nodes need, escaped once: its name, its inputs in key order with
  /// their `"name":` prefixes, and its outputs' names for refs.
  struct entity_text {
    std::string name;                      // "name", quoted
    std::vector<std::uint32_t> input_order;  // input indices sorted by name
    std::vector<std::string> input_keys;   // "name": per input index
    std::vector<std::string> output_names;  // escaped, unquoted, per output index
  };

  static std::string quoted(std::string_view text) { return json(std::string(text)).dump(); }
  static std::string unquoted(std::string_view text) {
    std::string q = quoted(text);
    return q.substr(1, q.size() - 2);
  }

  /// Appends {"k":v,...} of pre-rendered values (a std::map: keys in nlohmann's order).
  static void object_of(std::string& out, const std::map<std::string, std::string>& members) {
    out += '{';
    bool first = true;
    for (const auto& [key, value] : members) {
      if (!first) out += ',';
      first = false;
      out += quoted(key);
      out += ':';
      out += value;
    }
    out += '}';
  }

  static void append_number(std::string& out, std::size_t n) {
    char digits[24];
    const auto [end, ec] = std::to_chars(digits, digits + sizeof digits, n);
    out.append(digits, end);
  }

  void append_id(std::string& out, const graph& g, std::size_t i) {
    out += g.node_prefix;  // "dn": a prefix of key-safe characters
    append_number(out, i);
  }

  const entity_text& text_of(const entity_info& info, const std::string& literal_prefix) {
    auto [it, fresh] = texts_.try_emplace(&info);
    if (!fresh) return it->second;
    entity_text& t = it->second;
    t.name = quoted(info.name);
    const auto& inputs = info.interface.inputs;
    for (std::uint32_t k = 0; k < inputs.size(); ++k) {
      t.input_order.push_back(k);
      t.input_keys.push_back(quoted(inputs[k].name) + ":");
    }
    std::sort(t.input_order.begin(), t.input_order.end(),
              [&](std::uint32_t x, std::uint32_t y) { return inputs[x].name < inputs[y].name; });
    for (const auto& o : info.interface.outputs) t.output_names.push_back(unquoted(o.name));
    if (!entities_.count(info.name)) {
      entities_[info.name] = json{{"kind", std::string(kind_name(info.kind))},
                                  {"version", info.version},
                                  {"interface", info.interface.to_json()}}
                                 .dump();
      if (info.kind == node_kind::workflow && !subworkflows_.count(info.name)) {
        subworkflows_[info.name] = "null";  // placeholder: recursion guard
        const graph& sub = info.subgraph();
        std::string spec = "{\"inputs\":";
        json names = json::array();
        for (const auto& p : info.interface.inputs) names.push_back(p.name);
        spec += names.dump();
        spec += ",\"nodes\":";
        const std::string prefix = literal_prefix + "-" + key_safe(info.name);
        nodes_of(spec, sub, prefix, &info.interface.inputs);
        spec += ",\"outputs\":";
        outputs_of(spec, sub, prefix, &info.interface.inputs, &info);
        spec += '}';
        subworkflows_[info.name] = std::move(spec);
      }
    }
    return texts_.at(&info);  // (nodes_of above may have added entities: look it up again)
  }

  /// `inputs_of_graph`: the names of the graph's inputs (a subworkflow's), for {"input": name}.
  void nodes_of(std::string& out, const graph& g, const std::string& literal_prefix,
                const std::vector<port>* inputs_of_graph) {
    out += '[';
    for (std::size_t i = 0; i < g.nodes.size(); ++i) {
      const graph_node& n = g.nodes[i];
      const entity_text& t = text_of(*n.info, literal_prefix);
      if (i != 0) out += ',';
      out += "{\"entity\":";
      out += t.name;
      out += ",\"id\":\"";
      append_id(out, g, i);
      out += "\",\"inputs\":{";
      bool first = true;
      for (const std::uint32_t k : t.input_order) {
        if (k >= n.input_count) continue;
        if (!first) out += ',';
        first = false;
        out += t.input_keys[k];
        binding_of(out, g, g.input_of(n, k), literal_prefix, inputs_of_graph);
      }
      out += '}';
      if (n.kind == node_kind::map) {
        out += ",\"map\":";
        out += map_json(g.maps[n.map], *n.info).dump();
      }
      if (n.side != branch_side::none) {  // a static workflow's node inside a branch of a wf.when
        out += ",\"when\":{\"branch\":\"";
        append_id(out, g, n.guard);
        out += n.side == branch_side::then_side ? "\",\"side\":\"then\"}" : "\",\"side\":\"else\"}";
      }
      out += '}';
    }
    out += ']';
  }

  /// A map node's "map": which inputs are mapped, and its options.
  static json map_json(const map_spec& spec, const entity_info& info) {
    json mapped = json::array();
    for (std::size_t i = 0; i < info.interface.inputs.size(); ++i) {
      if ((spec.mapped >> i) & 1U) mapped.push_back(info.interface.inputs[i].name);
    }
    json out = json::object();
    out["mapped"] = std::move(mapped);
    out["concurrency"] = spec.concurrency;
    out["partial"] = spec.partial;
    if (spec.partial) {
      out["min_success_ratio"] = spec.min_success_ratio;
      out["min_successes"] = spec.min_successes >= 0 ? json(spec.min_successes) : json(nullptr);
    }
    return out;
  }

  void outputs_of(std::string& out, const graph& g, const std::string& literal_prefix,
                  const std::vector<port>* inputs_of_graph, const entity_info* owner) {
    std::vector<std::pair<std::string, std::size_t>> named;
    for (std::size_t o = 0; o < g.outputs.size(); ++o) {
      named.emplace_back(owner != nullptr && o < owner->interface.outputs.size() ? owner->interface.outputs[o].name
                                                                                 : positional_name('o', o),
                         o);
    }
    std::sort(named.begin(), named.end());
    out += '{';
    for (std::size_t i = 0; i < named.size(); ++i) {
      if (i != 0) out += ',';
      out += quoted(named[i].first);
      out += ':';
      binding_of(out, g, g.outputs[named[i].second], literal_prefix, inputs_of_graph);
    }
    out += '}';
  }

  void binding_of(std::string& out, const graph& g, const binding& b, const std::string& literal_prefix,
                  const std::vector<port>* inputs_of_graph) {
    switch (b.from) {
      case source_kind::literal:
        literal_of(out, g.literals[b.index], literal_prefix, b.index);
        return;
      case source_kind::node_output: {
        const graph_node& producer = g.nodes[b.node];
        out += "{\"ref\":\"";
        append_id(out, g, b.node);
        out += '.';
        out += text_of(*producer.info, literal_prefix).output_names[b.index];
        out += "\"}";
        return;
      }
      case source_kind::input:
        out += "{\"input\":";
        out += quoted(inputs_of_graph != nullptr && b.index < inputs_of_graph->size() ? (*inputs_of_graph)[b.index].name
                                                                                      : positional_name('i', b.index));
        out += '}';
        return;
      case source_kind::collection: {
        const collection& c = g.collections[b.index];
        if (c.is_map) {
          std::vector<std::pair<std::string_view, std::uint32_t>> keyed;
          for (std::uint32_t j = 0; j < c.item_count; ++j) keyed.emplace_back(g.keys[c.first_key + j], j);
          std::stable_sort(keyed.begin(), keyed.end(),
                           [](const auto& x, const auto& y) { return x.first < y.first; });
          out += "{\"map\":{";
          for (std::size_t j = 0; j < keyed.size(); ++j) {
            if (j + 1 < keyed.size() && keyed[j + 1].first == keyed[j].first) continue;  // a key once: the last
            if (out.back() != '{') out += ',';
            out += quoted(keyed[j].first);
            out += ':';
            binding_of(out, g, g.items[c.first_item + keyed[j].second], literal_prefix, inputs_of_graph);
          }
          out += "}}";
          return;
        }
        out += "{\"list\":[";
        for (std::uint32_t j = 0; j < c.item_count; ++j) {
          if (j != 0) out += ',';
          binding_of(out, g, g.items[c.first_item + j], literal_prefix, inputs_of_graph);
        }
        out += "]}";
        return;
      }
      case source_kind::none: break;
    }
    out += "null";
  }

  void literal_of(std::string& out, const any_value& value, const std::string& literal_prefix, std::uint32_t index) {
    const json literal = value.to_json();
    std::string text = literal.dump();
    if (options_.store != nullptr && (literal.is_array() || literal.is_object() || literal.is_string()) &&
        text.size() > options_.inline_literal_bytes) {
      std::string key = options_.store_prefix.empty() ? std::string() : options_.store_prefix + "/";
      key += literal_prefix + "/" + std::to_string(index) + ".json";
      options_.store->put(key, text);
      out += "{\"stored\":";
      out += quoted(key);
      out += '}';
      return;
    }
    out += "{\"literal\":";
    out += text;
    out += '}';
  }

  /// A workflow name as one key segment: itself when it is one, else a stable hash
  /// (an entity name need not be a valid object store key).
  static std::string key_safe(const std::string& name) {
    const bool safe = !name.empty() && name != "." && name != ".." &&
                      std::all_of(name.begin(), name.end(), [](char c) {
                        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                               c == '.' || c == '_' || c == '-';
                      });
    if (safe) return name;
    std::uint64_t h = 1469598103934665603ULL;  // FNV-1a
    for (const unsigned char c : name) h = (h ^ c) * 1099511628211ULL;
    char hex[17];
    std::snprintf(hex, sizeof hex, "%016llx", static_cast<unsigned long long>(h));
    return std::string("h") + hex;
  }

  const futures_write_options& options_;
  std::unordered_map<const entity_info*, entity_text> texts_;
  std::map<std::string, std::string> entities_;      // name -> its entry, as text
  std::map<std::string, std::string> subworkflows_;  // name -> its spec, as text
};

/// Reads and validates a futures file into an executable graph, collecting every
/// problem before giving up.
class futures_reader {
 public:
  futures_reader(const futures_read_options& options, std::string where)
      : options_(options), where_(std::move(where)) {}

  /// `expected`: the dynamic workflow whose node this file belongs to (its outputs
  /// give the file's output types); null to take the file's own word for it.
  std::unique_ptr<graph> read(std::string_view text, const entity_info* expected) {
    try {
      return read_checked(text, expected);
    } catch (const json::exception& e) {
      // A shape the checks above did not foresee: still a rejection, never a crash.
      problems_.push_back(std::string("malformed: ") + e.what());
      throw futures_error(where_, problems_);
    }
  }

 private:
  std::unique_ptr<graph> read_checked(std::string_view text, const entity_info* expected) {
    if (text.size() > options_.max_bytes) {
      fatal("oversized: " + std::to_string(text.size()) + " bytes, over the limit of " +
            std::to_string(options_.max_bytes));
    }
    json doc;
    try {
      doc = json::parse(text);
    } catch (const json::parse_error& e) {
      fatal(std::string("not valid JSON (truncated or corrupt?): ") + e.what());
    }
    if (!doc.is_object()) fatal("the file must be a JSON object");
    if (string_field(doc, "format") != "loom-futures") fatal("not a futures file: \"format\" is not \"loom-futures\"");
    if (!doc.contains("version") || !doc["version"].is_number_integer()) fatal("no integer \"version\"");
    if (doc["version"].get<std::int64_t>() != futures_format_version) {
      fatal("unsupported version " + doc["version"].dump() + " (this reader knows version " +
            std::to_string(futures_format_version) + ")");
    }
    if (!doc.contains("workflow") || !doc["workflow"].is_string()) fatal("no \"workflow\" name");
    const std::string workflow = doc["workflow"].get<std::string>();
    if (expected != nullptr && workflow != expected->name) {
      fatal("written by dynamic workflow '" + workflow + "', expected '" + expected->name + "'");
    }
    if (expected == nullptr) {
      expected = registry::global().find(workflow);
      if (expected == nullptr) fatal("dynamic workflow '" + workflow + "' is not known to this process");
      if (expected->kind != node_kind::dynamic) fatal("'" + workflow + "' is not a dynamic workflow");
    }
    check_entities(doc);
    if (!doc.contains("nodes") || !doc["nodes"].is_array()) fatal("no \"nodes\" list");
    const auto& nodes = doc["nodes"];
    if (nodes.size() > options_.max_nodes) {
      fatal("too many nodes: " + std::to_string(nodes.size()) + ", over the limit of " +
            std::to_string(options_.max_nodes));
    }
    auto g = std::make_unique<graph>();
    g->name = workflow;
    g->node_prefix = "dn";
    read_nodes(nodes, *g);
    if (!doc.contains("outputs") || !doc["outputs"].is_object()) {
      problems_.push_back("no \"outputs\" object");
    } else {
      read_outputs(doc["outputs"], *expected, *g);
    }
    if (problems_.empty()) check_acyclic(*g);
    if (!problems_.empty()) throw futures_error(where_, problems_);
    g->finalize();
    return g;
  }

  [[noreturn]] void fatal(std::string problem) {
    problems_.push_back(std::move(problem));
    throw futures_error(where_, problems_);
  }

  void check_entities(const json& doc) {
    if (!doc.contains("entities") || !doc["entities"].is_object()) fatal("no \"entities\" table");
    for (const auto& [name, spec] : doc["entities"].items()) {
      // The two ends of a wf.when (a static workflow's nodes, listed with it) are the
      // library's own, not looked up: no node of a dynamic sub-DAG is one.
      if (spec.is_object() && (string_field(spec, "kind") == "branch" || string_field(spec, "kind") == "merge")) continue;
      const entity_info* info = registry::global().find(name);
      if (info == nullptr) {
        problems_.push_back("entity '" + name + "' is not known to this process");
        continue;
      }
      if (!spec.is_object()) {
        problems_.push_back("entity '" + name + "': the entry must be an object");
        continue;
      }
      const auto kind = string_field(spec, "kind");
      if (kind != kind_name(info->kind)) {
        problems_.push_back("entity '" + name + "': kind '" + kind + "' in the file, '" +
                            std::string(kind_name(info->kind)) + "' in this process");
      }
      const auto version = string_field(spec, "version");
      if (version != info->version) {
        problems_.push_back("entity '" + name + "': version '" + version + "' in the file, '" + info->version +
                            "' in this process");
      }
      try {
        const auto iface = entity_interface::from_json(spec.contains("interface") ? spec["interface"] : json());
        compare_ports(name, "input", iface.inputs, info->interface.inputs);
        compare_ports(name, "output", iface.outputs, info->interface.outputs);
      } catch (const error& e) {
        problems_.push_back("entity '" + name + "': bad interface: " + e.what());
      }
      entities_.emplace(name, info);
    }
  }

  void compare_ports(const std::string& entity, const char* what, const std::vector<port>& file,
                     const std::vector<port>& mine) {
    if (file.size() != mine.size()) {
      problems_.push_back("entity '" + entity + "': " + std::to_string(file.size()) + " " + what +
                          "s in the file, " + std::to_string(mine.size()) + " in this process");
      return;
    }
    for (std::size_t i = 0; i < file.size(); ++i) {
      if (file[i].name != mine[i].name || file[i].type != mine[i].type) {
        problems_.push_back("entity '" + entity + "' " + what + " " + std::to_string(i) + ": '" + file[i].name +
                            "' of type " + file[i].type.to_string() + " in the file, '" + mine[i].name +
                            "' of type " + mine[i].type.to_string() + " in this process");
      }
    }
  }

  void read_nodes(const json& nodes, graph& g) {
    // First pass: ids and entities, so that references may point anywhere.
    std::vector<const entity_info*> infos(nodes.size(), nullptr);
    canonical_.assign(nodes.size(), false);
    for (std::size_t i = 0; i < nodes.size(); ++i) {
      const json& node = nodes[i];
      if (!node.is_object() || !node.contains("id") || !node["id"].is_string()) {
        problems_.push_back("node #" + std::to_string(i) + ": needs a string \"id\"");
        continue;
      }
      const auto& id = node["id"].get_ref<const std::string&>();
      // The writer's ids are dn<i> for node i: those resolve arithmetically; only other
      // ids go into the table (a 200,000-entry hash table is a quarter of a read).
      const auto canonical = canonical_index(id);
      if (canonical && *canonical == i) {
        canonical_[i] = true;
      } else if (!ids_.emplace(id, static_cast<std::uint32_t>(i)).second) {
        problems_.push_back("node " + id + ": duplicate id");
      }
      const auto entity = string_field(node, "entity");
      const auto it = entities_.find(entity);
      if (it == entities_.end()) {
        problems_.push_back("node " + id + ": entity '" + entity + "' is " +
                            (registry::global().find(entity) != nullptr ? "missing from the entities table"
                                                                         : "not known to this process"));
        continue;
      }
      infos[i] = it->second;
      if (node.contains("map")) read_map(node["map"], *it->second, id, i);
    }
    // A non-canonical id that spells a canonical one ("dn3" at position 5) is a duplicate.
    for (const auto& [id, i] : ids_) {
      const auto canonical = canonical_index(id);
      if (canonical && *canonical < canonical_.size() && canonical_[*canonical]) {
        problems_.push_back("node " + id + ": duplicate id");
      }
    }
    g.nodes.resize(nodes.size());
    for (std::size_t i = 0; i < nodes.size(); ++i) {
      graph_node& n = g.nodes[i];
      const entity_info* info = infos[i];
      if (info == nullptr) continue;
      n.kind = info->kind;
      n.name = info->name;
      n.entity = info->entity;
      n.info = info;
      n.run = info->run;
      n.subgraph = info->subgraph;
      n.expand = info->expand;
      n.output_count = static_cast<std::uint32_t>(info->interface.outputs.size());
      n.input_count = static_cast<std::uint32_t>(info->interface.inputs.size());
      if (const map_spec* spec = map_of(i)) {
        n.kind = node_kind::map;
        n.map = static_cast<std::uint32_t>(g.maps.size());
        g.maps.push_back(*spec);
      }
    }
    node_infos_ = infos;
    for (std::size_t i = 0; i < nodes.size(); ++i) {
      const entity_info* info = infos[i];
      if (info == nullptr) continue;
      const json& node = nodes[i];
      const std::string& id = node["id"].get_ref<const std::string&>();
      graph_node& n = g.nodes[i];
      n.first_input = static_cast<std::uint32_t>(g.bindings.size());
      const json empty = json::object();
      const json& inputs = node.contains("inputs") ? node["inputs"] : empty;
      if (!inputs.is_object()) {
        problems_.push_back("node " + id + ": \"inputs\" must be an object");
        g.bindings.resize(g.bindings.size() + n.input_count);
        continue;
      }
      for (std::size_t k = 0; k < info->interface.inputs.size(); ++k) {
        const port& p = info->interface.inputs[k];
        const auto it = inputs.find(p.name);
        if (it == inputs.end()) {
          problems_.push_back("node " + id + " input '" + p.name + "': no binding (expected " + p.type.to_string() + ")");
          g.bindings.push_back({});
          continue;
        }
        const map_spec* spec = map_of(i);
        g.bindings.push_back(read_binding(*it, info->input_type(k, spec), info->input_codec(k, spec), g,
                                          binding_site{id, p.name, {}}, p.name));
      }
      for (auto entry = inputs.begin(); entry != inputs.end(); ++entry) {
        const std::string& name = entry.key();
        const bool known = std::any_of(info->interface.inputs.begin(), info->interface.inputs.end(),
                                       [&](const port& p) { return p.name == name; });
        if (!known) problems_.push_back("node " + id + ": unknown input '" + name + "' for " + info->name);
      }
    }
  }

  /// The map spec of node i, when it is a map node.
  [[nodiscard]] const map_spec* map_of(std::size_t i) const {
    return i < map_specs_.size() && map_specs_[i] ? &*map_specs_[i] : nullptr;
  }

  /// A node's "map": {"mapped": [input names], "concurrency": n, "partial": bool,
  /// "min_success_ratio": r, "min_successes": k or null}.
  void read_map(const json& m, const entity_info& info, const std::string& id, std::size_t i) {
    const auto problem = [&](const std::string& what) { problems_.push_back("node " + id + ": \"map\": " + what); };
    if (info.map == nullptr) return problem(info.name + " is a " + std::string(kind_name(info.kind)) + ", not a task");
    if (!m.is_object()) return problem("must be an object");
    map_spec spec;
    const auto mapped = m.find("mapped");
    if (mapped == m.end() || !mapped->is_array() || mapped->empty()) {
      return problem("needs \"mapped\": a non-empty list of input names");
    }
    for (const auto& name : *mapped) {
      const auto& inputs = info.interface.inputs;
      const auto at = std::find_if(inputs.begin(), inputs.end(),
                                   [&](const port& p) { return name.is_string() && p.name == name.get<std::string>(); });
      if (at == inputs.end()) return problem("mapped input " + name.dump() + " is not an input of " + info.name);
      spec.mapped |= std::uint64_t{1} << static_cast<std::size_t>(at - inputs.begin());
    }
    const auto concurrency = m.find("concurrency");
    if (concurrency != m.end()) {
      if (!concurrency->is_number_unsigned()) return problem("\"concurrency\" must be a non-negative integer");
      spec.concurrency = concurrency->get<std::size_t>();
    }
    const auto partial = m.find("partial");
    if (partial != m.end()) {
      if (!partial->is_boolean()) return problem("\"partial\" must be true or false");
      spec.partial = partial->get<bool>();
    }
    const auto ratio = m.find("min_success_ratio");
    if (ratio != m.end()) {
      if (!ratio->is_number() || ratio->get<double>() < 0.0 || ratio->get<double>() > 1.0) {
        return problem("\"min_success_ratio\" must be a number from 0 to 1");
      }
      spec.min_success_ratio = ratio->get<double>();
    }
    const auto at_least = m.find("min_successes");
    if (at_least != m.end() && !at_least->is_null()) {
      if (!at_least->is_number_unsigned()) return problem("\"min_successes\" must be a non-negative integer or null");
      spec.min_successes = at_least->get<std::int64_t>();
    }
    if (map_specs_.size() <= i) map_specs_.resize(i + 1);
    map_specs_[i] = spec;
  }

  void read_outputs(const json& outputs, const entity_info& expected, graph& g) {
    for (std::size_t o = 0; o < expected.interface.outputs.size(); ++o) {
      const port& p = expected.interface.outputs[o];
      const auto it = outputs.find(p.name);
      if (it == outputs.end()) {
        problems_.push_back("output '" + p.name + "': no binding (expected " + p.type.to_string() + ")");
        g.outputs.push_back({});
        continue;
      }
      g.outputs.push_back(read_binding(*it, p.type, expected.output_codecs[o], g, binding_site{{}, p.name, {}}, p.name));
    }
    for (auto entry = outputs.begin(); entry != outputs.end(); ++entry) {
      const std::string& name = entry.key();
      const bool known = std::any_of(expected.interface.outputs.begin(), expected.interface.outputs.end(),
                                     [&](const port& p) { return p.name == name; });
      if (!known) problems_.push_back("unknown output '" + name + "' for " + expected.name);
    }
  }

  /// One binding of the given type; `item` reads an element of a collection.
  /// Where a binding is, for messages: built only when there is a problem to report.
  struct binding_site {
    std::string_view node_id;  // empty for an output of the file
    std::string_view port;
    std::string suffix;  // "[2]" or "[\"key\"]" for an item of a collection
    [[nodiscard]] std::string str() const {
      return (node_id.empty() ? "output '" + std::string(port) + "'"
                              : "node " + std::string(node_id) + " input '" + std::string(port) + "'") +
             suffix;
    }
  };

  binding read_binding(const json& b, const type_descriptor& type, const port_codec& codec, graph& g,
                       const binding_site& site, std::string_view port_name, bool item = false) {
    if (!b.is_object() || b.size() != 1) {
      problems_.push_back(site.str() + ": not a binding (expected one of literal, ref, list, map, stored): " + clip(b));
      return {};
    }
    const auto first = b.begin();
    const std::string& kind = first.key();
    const json& value = first.value();
    const decode_fn decode = item ? codec.decode_item : codec.decode;
    if (kind == "literal" || kind == "stored") {
      const json* literal = &value;
      json loaded;
      if (kind == "stored") {
        if (!value.is_string()) {
          problems_.push_back(site.str() + ": \"stored\" needs an object store key");
          return {};
        }
        if (options_.store == nullptr) {
          problems_.push_back(site.str() + ": refers to stored object '" + value.get<std::string>() + "' but no object store is given");
          return {};
        }
        const auto& key = value.get_ref<const std::string&>();
        if (!options_.stored_prefix.empty() && key.rfind(options_.stored_prefix + "/", 0) != 0) {
          problems_.push_back(site.str() + ": stored object '" + key + "' is outside this node's keys (" +
                              options_.stored_prefix + "/...)");
          return {};
        }
        try {
          const auto bytes = options_.store->get(key);
          if (!bytes) {
            problems_.push_back(site.str() + ": stored object '" + value.get<std::string>() + "' does not exist");
            return {};
          }
          if (bytes->size() > options_.max_bytes) {
            problems_.push_back(site.str() + ": stored object '" + key + "' is oversized: " + std::to_string(bytes->size()) +
                                " bytes, over the limit of " + std::to_string(options_.max_bytes));
            return {};
          }
          loaded = json::parse(*bytes);
        } catch (const std::exception& e) {
          problems_.push_back(site.str() + ": stored object '" + value.get<std::string>() + "': " + e.what());
          return {};
        }
        literal = &loaded;
      }
      try {
        const auto index = static_cast<std::uint32_t>(g.literals.size());
        g.literals.push_back(decode(*literal, port_name));
        return {source_kind::literal, 0, index, 0};
      } catch (const literal_error& e) {
        problems_.push_back(site.str() + ": literal does not match " + type.to_string() + ": " + e.what());
        return {};
      }
    }
    if (kind == "ref") {
      if (!value.is_string()) {
        problems_.push_back(site.str() + ": \"ref\" must be \"<node id>.<output>\"");
        return {};
      }
      const auto& text = value.get_ref<const std::string&>();
      const auto dot = text.rfind('.');
      if (dot == std::string::npos) {
        problems_.push_back(site.str() + ": \"ref\" must be \"<node id>.<output>\", got \"" + text + "\"");
        return {};
      }
      const auto node = text.substr(0, dot);
      const auto output = text.substr(dot + 1);
      const auto producer_index = find_node(node);
      if (!producer_index) {
        problems_.push_back(site.str() + ": dangling reference to node " + node + " (no such node)");
        return {};
      }
      const entity_info* producer = node_infos_[*producer_index];
      if (producer == nullptr) return {};  // already reported
      const auto& outs = producer->interface.outputs;
      const auto o = std::find_if(outs.begin(), outs.end(), [&](const port& p) { return p.name == output; });
      if (o == outs.end()) {
        problems_.push_back(site.str() + ": dangling reference: node " + node + " (" + producer->name + ") has no output '" + output + "'");
        return {};
      }
      const type_descriptor& wanted = item ? type.elements().at(0) : type;
      const type_descriptor found = producer->output_type(static_cast<std::size_t>(o - outs.begin()), map_of(*producer_index));
      if (found != wanted) {
        problems_.push_back(site.str() + ": type mismatch: expected " + wanted.to_string() + ", found " +
                            found.to_string() + " (output " + output + " of node " + node + ", " +
                            producer->name + (map_of(*producer_index) != nullptr ? " mapped" : "") + ")");
        return {};
      }
      return {source_kind::node_output, *producer_index, static_cast<std::uint32_t>(o - outs.begin()), 0};
    }
    if ((kind == "list" || kind == "map") && !item) {
      const bool is_map = kind == "map";
      if (codec.decode_item == nullptr || codec.is_map != is_map) {
        problems_.push_back(site.str() + ": a " + kind + " of bindings cannot feed " + type.to_string());
        return {};
      }
      if (is_map ? !value.is_object() : !value.is_array()) {
        problems_.push_back(site.str() + ": \"" + kind + "\" must hold " + (is_map ? "an object" : "a list") + " of bindings");
        return {};
      }
      collection c;
      c.is_map = is_map;
      c.assemble = codec.assemble;
      std::vector<binding> items;
      std::vector<std::string> keys;
      std::size_t k = 0;
      for (const auto& [key, entry] : value.items()) {
        const binding_site item_site{site.node_id, site.port,
                                     site.suffix + (is_map ? "[\"" + key + "\"]" : "[" + std::to_string(k) + "]")};
        items.push_back(read_binding(entry, type, codec, g, item_site, port_name, true));
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
    problems_.push_back(site.str() + ": not a binding here: \"" + kind + "\"");
    return {};
  }

  void check_acyclic(const graph& g) {
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
      members += (listed++ == 0 ? "" : ", ") + id_of(i);
    }
    problems_.push_back("cycle: " + std::to_string(g.nodes.size() - placed) +
                        " nodes wait on each other, among them " + members);
  }

  /// i for "dn<i>" written canonically (no leading zeros), else nothing.
  static std::optional<std::size_t> canonical_index(std::string_view id) {
    if (id.size() < 3 || id.size() > 12 || id[0] != 'd' || id[1] != 'n') return std::nullopt;
    if (id[2] == '0' && id.size() > 3) return std::nullopt;
    std::size_t value = 0;
    for (std::size_t k = 2; k < id.size(); ++k) {
      if (id[k] < '0' || id[k] > '9') return std::nullopt;
      value = value * 10 + static_cast<std::size_t>(id[k] - '0');
    }
    return value;
  }

  [[nodiscard]] std::optional<std::uint32_t> find_node(std::string_view id) const {
    if (const auto canonical = canonical_index(id); canonical && *canonical < canonical_.size() && canonical_[*canonical]) {
      return static_cast<std::uint32_t>(*canonical);
    }
    const auto it = ids_.find(std::string(id));
    if (it == ids_.end()) return std::nullopt;
    return it->second;
  }

  std::string id_of(std::uint32_t index) const {
    if (index < canonical_.size() && canonical_[index]) return "dn" + std::to_string(index);
    for (const auto& [id, i] : ids_) {
      if (i == index) return id;
    }
    return "#" + std::to_string(index);
  }

  static std::string clip(const json& j) {
    auto text = j.dump();
    if (text.size() > 80) text = text.substr(0, 77) + "...";
    return text;
  }

  const futures_read_options& options_;
  std::string where_;
  std::vector<std::string> problems_;
  std::unordered_map<std::string, const entity_info*> entities_;
  std::unordered_map<std::string, std::uint32_t> ids_;  // ids other than dn<i> at position i
  std::vector<bool> canonical_;                          // node i's id is dn<i>
  std::vector<std::optional<map_spec>> map_specs_;       // node i's, when it is a map node
  std::vector<const entity_info*> node_infos_;
};

}  // namespace detail

LOOM_FUNC std::string write_futures_text(const detail::graph& sub_dag, std::string_view workflow,
                                         const futures_write_options& options) {
  return detail::futures_writer(options).write(sub_dag, workflow);
}

LOOM_FUNC json write_futures_file(const detail::graph& sub_dag, std::string_view workflow,
                                  const futures_write_options& options) {
  return json::parse(write_futures_text(sub_dag, workflow, options));
}

LOOM_FUNC std::unique_ptr<detail::graph> read_futures_file(std::string_view text, std::string where,
                                                           const futures_read_options& options,
                                                           const detail::entity_info* expected) {
  return detail::futures_reader(options, std::move(where)).read(text, expected);
}

}  // namespace loom
