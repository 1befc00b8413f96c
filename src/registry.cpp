// src/registry.cpp — the registry of tasks and workflows (loom/registry.hpp): its
// non-template part, compiled once.
#include <loom/registry.hpp>

#include <nlohmann/json.hpp>

#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace loom {

LOOM_FUNC json entity_interface::to_json() const {
  auto ports = [](const std::vector<port>& list) {
    json out = json::array();
    for (const auto& p : list) out.push_back(json{{"name", p.name}, {"type", p.type.to_json()}});
    return out;
  };
  return json{{"inputs", ports(inputs)}, {"outputs", ports(outputs)}};
}

LOOM_FUNC entity_interface entity_interface::from_json(const json& j) {
  auto ports = [](const json& list, const char* what) {
    if (!list.is_array()) throw error(std::string("interface ") + what + " must be a list");
    std::vector<port> out;
    for (const auto& p : list) {
      if (!p.is_object() || !p.contains("name") || !p["name"].is_string() || !p.contains("type")) {
        throw error(std::string("an interface ") + what + " entry must be {\"name\": ..., \"type\": ...}");
      }
      out.push_back({p["name"].get<std::string>(), type_descriptor::from_json(p["type"])});
    }
    return out;
  };
  if (!j.is_object() || !j.contains("inputs") || !j.contains("outputs")) {
    throw error("an interface must be {\"inputs\": [...], \"outputs\": [...]}");
  }
  return {ports(j["inputs"], "inputs"), ports(j["outputs"], "outputs")};
}

LOOM_FUNC std::string_view kind_name(detail::node_kind k) {
  switch (k) {
    case detail::node_kind::task: return "task";
    case detail::node_kind::workflow: return "workflow";
    case detail::node_kind::dynamic: return "dynamic";
    case detail::node_kind::map: return "map";
    case detail::node_kind::branch: return "branch";
    case detail::node_kind::merge: return "merge";
  }
  return "task";
}

namespace detail {

LOOM_FUNC type_descriptor entity_info::input_type(std::size_t i, const map_spec* map_node) const {
  if (map_node != nullptr && ((map_node->mapped >> i) & 1U)) {
    return type_descriptor(type_kind::list, {interface.inputs[i].type});
  }
  return interface.inputs[i].type;
}

LOOM_FUNC type_descriptor entity_info::output_type(std::size_t o, const map_spec* map_node) const {
  if (map_node == nullptr) return interface.outputs[o].type;
  type_descriptor item = interface.outputs[o].type;
  if (map_node->partial) item = type_descriptor(type_kind::optional, {item});
  return type_descriptor(type_kind::list, {item});
}

LOOM_FUNC entity_info registry::make_info(const entity_facts& f) {
  entity_info info;
  info.name = std::string(f.name);
  info.version = std::string(f.version);
  info.kind = f.kind;
  info.entity = f.entity;
  info.type_tag = f.type_tag;
  info.policy = f.policy;
  info.run = f.run;
  info.map = f.map;
  info.subgraph = f.subgraph;
  info.expand = f.expand;
  info.interface.inputs.reserve(f.input_count);
  info.input_codecs.reserve(f.input_count);
  info.defaults.reserve(f.input_count);
  for (std::size_t i = 0; i < f.input_count; ++i) {
    info.interface.inputs.push_back({f.input_name(f.entity, i), f.inputs[i].describe()});
    info.input_codecs.push_back(f.inputs[i].codec);
    if (f.with_lists) info.input_list_codecs.push_back(f.inputs[i].list_codec);
    info.defaults.push_back(f.inputs[i].default_value);
  }
  info.interface.outputs.reserve(f.output_count);
  info.output_codecs.reserve(f.output_count);
  for (std::size_t o = 0; o < f.output_count; ++o) {
    info.interface.outputs.push_back({f.output_name(o), f.outputs[o].describe()});
    info.output_codecs.push_back(f.outputs[o].codec);
    if (f.with_lists) {
      info.output_list_codecs.push_back(f.outputs[o].list_codec);
      info.output_partial_codecs.push_back(f.outputs[o].partial_codec);
    }
  }
  return info;
}

LOOM_FUNC const entity_info& registry::add(const entity_facts& facts) {
  return insert(std::make_unique<entity_info>(make_info(facts)));
}

LOOM_FUNC registry& registry::global() {
  static registry instance;
  return instance;
}

LOOM_FUNC const entity_info& registry::insert(std::unique_ptr<entity_info> info) {
  std::lock_guard lock(mutex_);
  if (const auto g = generated_.find(info->type_tag); g != generated_.end()) apply(*info, g->second);
  auto [it, inserted] = entities_.try_emplace(info->name, nullptr);
  if (inserted) {
    it->second = std::move(info);
  } else if (it->second->type_tag != info->type_tag) {
    // One name, one meaning: a futures file names its tasks, so a name must not be
    // ambiguous in a process (a copy of the same entity is fine).
    throw error("two different entities are named '" + info->name + "' (" +
                std::string(kind_name(it->second->kind)) + " " + it->second->interface.to_json().dump() +
                " and " + std::string(kind_name(info->kind)) + " " + info->interface.to_json().dump() + ")");
  }
  return *it->second;
}

LOOM_FUNC void registry::set_generated(const void* type_tag, generated_interface facts) {
  std::lock_guard lock(mutex_);
  for (auto& [name, info] : entities_) {
    if (info->type_tag == type_tag) apply(*info, facts);
  }
  generated_[type_tag] = std::move(facts);
}

LOOM_FUNC const entity_info* registry::find(std::string_view name) const {
  std::lock_guard lock(mutex_);
  const auto it = entities_.find(std::string(name));
  return it == entities_.end() ? nullptr : it->second.get();
}

LOOM_FUNC std::vector<const entity_info*> registry::all() const {
  std::lock_guard lock(mutex_);
  std::vector<const entity_info*> out;
  for (const auto& [name, info] : entities_) out.push_back(info.get());
  return out;
}

LOOM_FUNC void registry::apply(entity_info& info, const generated_interface& facts) {
  for (std::size_t i = 0; i < info.interface.inputs.size(); ++i) {
    if (i < facts.input_names.size() && !facts.input_names[i].empty() &&
        info.interface.inputs[i].name == positional_name('i', i)) {
      info.interface.inputs[i].name = facts.input_names[i];
    }
    if (i < facts.defaults.size() && facts.defaults[i] != nullptr && info.defaults[i] == nullptr) {
      info.defaults[i] = facts.defaults[i];
    }
  }
}

LOOM_FUNC graph single_node_graph(const entity_info& info) {
  graph g;
  g.name = info.name;
  g.input_count = static_cast<std::uint32_t>(info.interface.inputs.size());
  graph_node n;
  n.kind = info.kind;
  n.name = info.name;
  n.entity = info.entity;
  n.info = &info;
  n.run = info.run;
  n.subgraph = info.subgraph;
  n.expand = info.expand;
  n.input_count = g.input_count;
  n.output_count = static_cast<std::uint32_t>(info.interface.outputs.size());
  for (std::uint32_t i = 0; i < n.input_count; ++i) g.bindings.push_back({source_kind::input, 0, i, 0});
  for (std::uint32_t o = 0; o < n.output_count; ++o) g.outputs.push_back({source_kind::node_output, 0, o, 0});
  g.nodes.push_back(n);
  g.finalize();
  return g;
}

}  // namespace detail

}  // namespace loom
