// src/futures_file.cpp — writing and reading futures files (loom/futures_file.hpp):
// futures_writer turns a sub-DAG into text; futures_reader validates a file into an
// executable graph, on the structural reader of loom/detail/futures_document.hpp.
#include <loom/futures_file.hpp>

#include <loom/detail/futures_document.hpp>
#include <loom/detail/huge_pages.hpp>
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
    reserve_in_huge_pages(nodes, g.nodes.size() * 96);  // (fresh and large: loom/detail/huge_pages.hpp)
    nodes_of(nodes, g, "literals", nullptr);
    std::string outputs;
    outputs_of(outputs, g, "literals", nullptr, info);
    std::string out;
    reserve_in_huge_pages(out, nodes.size() + outputs.size() + 1024);
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
    std::string text;
    value.append_json_text(text);
    // (An array, an object or a string: what may be stored apart. A JSON text's first
    // character says which it is.)
    if (options_.store != nullptr && !text.empty() && (text[0] == '[' || text[0] == '{' || text[0] == '"') &&
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

/// Reads and validates a futures file into an executable graph. The file's structure
/// (every check that needs no registry, and its message) is futures_document's, the
/// `loom` tool's reader too; what is the executor's own: the expected workflow, the
/// entities table against the registry, literals decoded into their C++ types, and the
/// graph built from what was read.
class futures_reader final : public futures_resolver {
 public:
  futures_reader(const futures_read_options& options, std::string where)
      : document_(document_options(options)), where_(std::move(where)) {}

  /// `expected`: the dynamic workflow whose node this file belongs to (its outputs
  /// give the file's output types); null to take the file's own word for it.
  std::unique_ptr<graph> read(std::string_view text, const entity_info* expected) {
    try {
      return read_checked(text, expected);
    } catch (const json::exception& e) {
      // A shape the checks did not foresee: still a rejection, never a crash.
      document_.problems.push_back(std::string("malformed: ") + e.what());
      throw futures_error(where_, document_.problems);
    }
  }

  std::optional<std::string> literal(const json& value, const literal_place& place, std::uint32_t& index) override {
    const port_codec* codec = nullptr;
    if (place.node == literal_place::no_node) {
      codec = &expected_->output_codecs.at(place.port);
    } else {
      const futures_entity* entry = place.graph.entities[place.node];
      // An entity that differs from this process's: already a problem, its codecs do not fit.
      if (entry == nullptr || entry->info == nullptr || !entry->same_interface) return std::nullopt;
      codec = &entry->info->input_codec(place.port, place.graph.map_of(place.node));
    }
    const decode_fn decode = place.item ? codec->decode_item : codec->decode;
    if (decode == nullptr) return std::nullopt;  // (the type said a collection: cannot happen)
    try {
      auto& literals = place.graph.g.literals;
      literals.push_back(decode(value, place.port_name));
      index = static_cast<std::uint32_t>(literals.size() - 1);
      return std::nullopt;
    } catch (const literal_error& e) {
      return std::string(e.what());
    }
  }

  std::optional<std::string> node_entity(const std::string& name, const futures_entity* entry) override {
    if (entry != nullptr && entry->info != nullptr) return std::nullopt;
    return std::string(registry::global().find(name) != nullptr ? "missing from the entities table"
                                                                 : "not known to this process");
  }

 private:
  static futures_document_options document_options(const futures_read_options& options) {
    futures_document_options out;
    out.max_nodes = options.max_nodes;
    out.max_bytes = options.max_bytes;
    out.store = options.store;
    out.stored_prefix = options.stored_prefix;
    out.keep_document = false;  // the graph is built from what is read: no nlohmann document
    return out;
  }

  std::unique_ptr<graph> read_checked(std::string_view text, const entity_info* expected) {
    auto& problems = document_.problems;
    if (!document_.read_frame(text)) throw futures_error(where_, problems);
    const std::string& workflow = document_.workflow;
    if (expected != nullptr && workflow != expected->name) {
      fatal("written by dynamic workflow '" + workflow + "', expected '" + expected->name + "'");
    }
    if (expected == nullptr) {
      expected = registry::global().find(workflow);
      if (expected == nullptr) fatal("dynamic workflow '" + workflow + "' is not known to this process");
      if (expected->kind != node_kind::dynamic) fatal("'" + workflow + "' is not a dynamic workflow");
    }
    expected_ = expected;
    if (!document_.read_entities()) throw futures_error(where_, problems);
    check_entities();
    if (!document_.read_graphs(*this, &expected->interface) || !problems.empty()) throw futures_error(where_, problems);
    return build(*expected);
  }

  [[noreturn]] void fatal(std::string problem) {
    document_.problems.push_back(std::move(problem));
    throw futures_error(where_, document_.problems);
  }

  /// Each entity of the table is this process's, with the same kind, version and interface.
  void check_entities() {
    auto& problems = document_.problems;
    for (auto& [name, e] : document_.entities) {
      // The two ends of a wf.when (a static workflow's nodes, listed with it) are the
      // library's own, not looked up: no node of a dynamic sub-DAG is one.
      if (e.is_object && (e.kind == "branch" || e.kind == "merge")) continue;
      const entity_info* info = registry::global().find(name);
      if (info == nullptr) {
        problems.push_back("entity '" + name + "' is not known to this process");
        continue;
      }
      if (!e.is_object) continue;  // reported
      if (e.kind != kind_name(info->kind)) {
        problems.push_back("entity '" + name + "': kind '" + e.kind + "' in the file, '" +
                           std::string(kind_name(info->kind)) + "' in this process");
      }
      if (e.version != info->version) {
        problems.push_back("entity '" + name + "': version '" + e.version + "' in the file, '" + info->version +
                           "' in this process");
      }
      e.info = info;
      if (!e.has_interface) continue;  // a bad interface: reported
      const bool inputs = compare_ports(name, "input", e.interface.inputs, info->interface.inputs);
      const bool outputs = compare_ports(name, "output", e.interface.outputs, info->interface.outputs);
      e.same_interface = inputs && outputs;
    }
  }

  bool compare_ports(const std::string& entity, const char* what, const std::vector<port>& file,
                     const std::vector<port>& mine) {
    auto& problems = document_.problems;
    if (file.size() != mine.size()) {
      problems.push_back("entity '" + entity + "': " + std::to_string(file.size()) + " " + what + "s in the file, " +
                         std::to_string(mine.size()) + " in this process");
      return false;
    }
    bool same = true;
    for (std::size_t i = 0; i < file.size(); ++i) {
      if (file[i].name != mine[i].name || file[i].type != mine[i].type) {
        problems.push_back("entity '" + entity + "' " + what + " " + std::to_string(i) + ": '" + file[i].name +
                           "' of type " + file[i].type.to_string() + " in the file, '" + mine[i].name + "' of type " +
                           mine[i].type.to_string() + " in this process");
        same = false;
      }
    }
    return same;
  }

  /// The executable graph of a file without problems: every node's entity is this
  /// process's, with the file's interface.
  std::unique_ptr<graph> build(const entity_info& expected) {
    auto g = std::make_unique<graph>(std::move(document_.top.g));
    g->name = document_.workflow;
    g->node_prefix = "dn";
    for (std::size_t i = 0; i < g->nodes.size(); ++i) {
      graph_node& n = g->nodes[i];
      const entity_info* info = document_.top.entities[i]->info;
      const map_spec* spec = n.kind == node_kind::map ? &g->maps[n.map] : nullptr;
      n.kind = spec != nullptr ? node_kind::map : info->kind;
      n.name = info->name;
      n.entity = info->entity;
      n.info = info;
      n.run = info->run;
      n.subgraph = info->subgraph;
      n.expand = info->expand;
      n.output_count = static_cast<std::uint32_t>(info->interface.outputs.size());
      for (std::uint32_t k = 0; k < n.input_count; ++k) {
        const binding& b = g->input_of(n, k);
        if (b.from == source_kind::collection) g->collections[b.index].assemble = info->input_codec(k, spec).assemble;
      }
    }
    for (std::size_t o = 0; o < g->outputs.size(); ++o) {
      const binding& b = g->outputs[o];
      if (b.from == source_kind::collection) g->collections[b.index].assemble = expected.output_codecs[o].assemble;
    }
    g->finalize();
    return g;
  }

  futures_document document_;
  std::string where_;
  const entity_info* expected_ = nullptr;
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
