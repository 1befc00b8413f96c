#include "model.hpp"

#include <stdexcept>

namespace loom::codegen {

json descriptor_json(const type_ref& t, const tu_model& model) {
  switch (t.what) {
    case type_ref::kind::boolean: return "boolean";
    case type_ref::kind::integer: return "integer";
    case type_ref::kind::floating: return "float";
    case type_ref::kind::string: return "string";
    case type_ref::kind::list: return json{{"list", descriptor_json(t.args.at(0), model)}};
    case type_ref::kind::map: return json{{"map", descriptor_json(t.args.at(0), model)}};
    case type_ref::kind::optional: return json{{"optional", descriptor_json(t.args.at(0), model)}};
    case type_ref::kind::tuple: {
      json items = json::array();
      for (const auto& a : t.args) items.push_back(descriptor_json(a, model));
      return json{{"tuple", items}};
    }
    case type_ref::kind::record: {
      const record_type& r = model.records.at(t.key);
      json fields = json::array();
      for (const auto& f : r.fields) fields.push_back(json{{"name", f.name}, {"type", descriptor_json(f.type, model)}});
      return json{{"record", r.name}, {"fields", fields}};
    }
    case type_ref::kind::enumeration: {
      const enum_type& e = model.enums.at(t.key);
      return json{{"enum", e.name}, {"values", e.enumerators}};
    }
  }
  return nullptr;
}

json manifest_json(const tu_model& model) {
  json entities = json::array();
  for (const auto& e : model.entities) {
    json inputs = json::array();
    for (const auto& in : e.inputs) {
      json port{{"name", in.name}, {"type", descriptor_json(in.type, model)}};
      if (in.default_literal) {
        port["default"] = *in.default_literal;
      } else if (in.default_cpp) {
        port["default_expression"] = *in.default_cpp;  // not a constant: the C++ text
      }
      inputs.push_back(std::move(port));
    }
    json outputs = json::array();
    for (std::size_t i = 0; i < e.outputs.size(); ++i) {
      outputs.push_back(json{{"name", "o" + std::to_string(i)}, {"type", descriptor_json(e.outputs[i], model)}});
    }
    entities.push_back(json{{"name", e.name},
                            {"kind", e.kind},
                            {"version", e.version},
                            {"inputs", inputs},
                            {"outputs", outputs},
                            {"location", e.location}});
  }
  return json{{"loom_manifest", 1}, {"entities", entities}};
}

json merge_manifests(const std::vector<json>& manifests) {
  std::map<std::string, json> by_name;
  for (const auto& m : manifests) {
    for (const auto& e : m.at("entities")) {
      const auto name = e.at("name").get<std::string>();
      auto [it, inserted] = by_name.emplace(name, e);
      if (inserted) continue;
      json a = it->second;
      json b = e;
      a.erase("location");
      b.erase("location");
      if (a != b) {
        throw std::runtime_error("two different entities are named '" + name + "' (" +
                                 it->second.at("location").get<std::string>() + " and " +
                                 e.at("location").get<std::string>() + ")");
      }
    }
  }
  json entities = json::array();
  for (auto& [name, e] : by_name) entities.push_back(std::move(e));
  return json{{"loom_manifest", 1}, {"entities", entities}};
}

}  // namespace loom::codegen
