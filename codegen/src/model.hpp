// The model between the visitor and the generator: what a translation unit declares
// that Loom needs to know (entities, and the user types reachable from their
// signatures), with no Clang type in it, so that the generator is plain text work and
// the manifest is written from it.
#pragma once

#include <nlohmann/json.hpp>

#include <map>
#include <optional>
#include <string>
#include <vector>

namespace loom::codegen {

using json = nlohmann::json;

/// A task value type as the generator spells and describes it.
struct type_ref {
  enum class kind { boolean, integer, floating, string, list, map, optional, tuple, record, enumeration };
  kind what = kind::boolean;
  std::string cpp;             // the fully qualified C++ spelling, e.g. `::geo::point`
  std::vector<type_ref> args;  // list/map/optional: one; tuple: its members
  std::string key;             // record/enumeration: the key into the model's types
};

struct field {
  std::string name;
  type_ref type;
  bool has_default = false;  // an initializer or a class type: the field may be absent
};

/// A plain aggregate struct (generated) or a Boost.Hana record (described by the
/// header; listed so that the manifest can describe it).
struct record_type {
  std::string cpp;   // qualified spelling
  std::string name;  // unqualified: the record name in type descriptors
  std::vector<field> fields;
  bool hana = false;
  std::string location;  // file:line:col
};

struct enum_type {
  std::string cpp;
  std::string name;
  std::vector<std::string> enumerators;
  std::string location;
};

struct input_port {
  std::string name;
  type_ref type;
  std::optional<std::string> default_cpp;  // a C++ expression of the default value
  std::optional<json> default_literal;     // the default as a literal, when constant
};

struct entity_model {
  std::string variable;  // qualified C++ name of the entity object
  std::string name;      // the task/workflow name
  std::string kind;      // task, workflow, dynamic
  std::string version;
  std::vector<input_port> inputs;
  std::vector<type_ref> outputs;
  std::string location;
};

struct tu_model {
  std::string source;
  std::vector<entity_model> entities;
  std::map<std::string, record_type> records;  // by key (qualified spelling)
  std::map<std::string, enum_type> enums;
};

/// The type descriptor of a type, as loom::type_descriptor::to_json() writes it.
json descriptor_json(const type_ref& t, const tu_model& model);

/// The manifest of a translation unit: {"loom_manifest": 1, "entities": [{"name", "kind",
/// "version", "inputs": [{"name", "type", "default"?}], "outputs": [...], "location"}]}.
json manifest_json(const tu_model& model);

/// Merges the manifests of a target's translation units (an entity declared in a header
/// appears in each); two different entities under one name are an error.
json merge_manifests(const std::vector<json>& manifests);

}  // namespace loom::codegen
