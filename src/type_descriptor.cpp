// src/type_descriptor.cpp — printing, JSON and parsing of type descriptors
// (loom/type_descriptor.hpp), compiled once.
#include <loom/type_descriptor.hpp>

#include <nlohmann/json.hpp>

#include <ostream>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace loom {

LOOM_FUNC type_descriptor type_descriptor::enumeration(std::string enum_name, std::vector<std::string> enumerators) {
  type_descriptor d(type_kind::enumeration);
  d.record_name_ = std::move(enum_name);
  d.field_names_ = std::move(enumerators);
  return d;
}

LOOM_FUNC std::string type_descriptor::to_string() const {
  std::string out;
  append_to(out);
  return out;
}

LOOM_FUNC nlohmann::json type_descriptor::to_json() const {
  using nlohmann::json;
  switch (kind_) {
    case type_kind::boolean: return "boolean";
    case type_kind::integer: return "integer";
    case type_kind::floating: return "float";
    case type_kind::string: return "string";
    case type_kind::list: return json{{"list", elements_[0].to_json()}};
    case type_kind::map: return json{{"map", elements_[0].to_json()}};
    case type_kind::optional: return json{{"optional", elements_[0].to_json()}};
    case type_kind::tuple: {
      json items = json::array();
      for (const auto& e : elements_) items.push_back(e.to_json());
      return json{{"tuple", std::move(items)}};
    }
    case type_kind::record: {
      json fields = json::array();
      for (std::size_t i = 0; i < elements_.size(); ++i) {
        fields.push_back(json{{"name", field_names_[i]}, {"type", elements_[i].to_json()}});
      }
      return json{{"record", record_name_}, {"fields", std::move(fields)}};
    }
    case type_kind::enumeration: return json{{"enum", record_name_}, {"values", field_names_}};
  }
  return nullptr;
}

LOOM_FUNC type_descriptor type_descriptor::from_json(const nlohmann::json& j) {
  if (j.is_string()) {
    const auto& s = j.get_ref<const std::string&>();
    if (s == "boolean") return type_descriptor(type_kind::boolean);
    if (s == "integer") return type_descriptor(type_kind::integer);
    if (s == "float") return type_descriptor(type_kind::floating);
    if (s == "string") return type_descriptor(type_kind::string);
    throw error("unknown type '" + s + "'");
  }
  if (!j.is_object()) throw error("a type must be a name or an object, got " + j.dump());
  if (j.size() == 1) {
    const auto first = j.begin();
    const std::string& key = first.key();
    const nlohmann::json& value = first.value();
    if (key == "list") return type_descriptor(type_kind::list, {from_json(value)});
    if (key == "map") return type_descriptor(type_kind::map, {from_json(value)});
    if (key == "optional") return type_descriptor(type_kind::optional, {from_json(value)});
    if (key == "tuple" && value.is_array()) {
      std::vector<type_descriptor> items;
      for (const auto& item : value) items.push_back(from_json(item));
      return type_descriptor(type_kind::tuple, std::move(items));
    }
  }
  if (j.size() == 2 && j.contains("enum") && j["enum"].is_string() && j.contains("values") &&
      j["values"].is_array() && !j["values"].empty()) {
    std::vector<std::string> values;
    for (const auto& v : j["values"]) {
      if (!v.is_string()) throw error("an enum's values must be names, got " + v.dump());
      values.push_back(v.get<std::string>());
    }
    return enumeration(j["enum"].get<std::string>(), std::move(values));
  }
  if (j.size() == 2 && j.contains("record") && j["record"].is_string() && j.contains("fields") &&
      j["fields"].is_array()) {
    std::vector<std::string> names;
    std::vector<type_descriptor> types;
    for (const auto& field : j["fields"]) {
      if (!field.is_object() || !field.contains("name") || !field["name"].is_string() || !field.contains("type")) {
        throw error("a record field must be {\"name\": ..., \"type\": ...}, got " + field.dump());
      }
      names.push_back(field["name"].get<std::string>());
      types.push_back(from_json(field["type"]));
    }
    return type_descriptor(j["record"].get<std::string>(), std::move(names), std::move(types));
  }
  throw error("not a type: " + j.dump());
}

LOOM_FUNC std::ostream& operator<<(std::ostream& os, const type_descriptor& d) { return os << d.to_string(); }

LOOM_FUNC void type_descriptor::append_to(std::string& out) const {
  auto append_list = [&out](const std::vector<type_descriptor>& items) {
    for (std::size_t i = 0; i < items.size(); ++i) {
      if (i != 0) out += ", ";
      items[i].append_to(out);
    }
  };
  switch (kind_) {
    case type_kind::boolean: out += "boolean"; return;
    case type_kind::integer: out += "integer"; return;
    case type_kind::floating: out += "float"; return;
    case type_kind::string: out += "string"; return;
    case type_kind::list: out += "list<"; append_list(elements_); out += '>'; return;
    case type_kind::map: out += "map<string, "; append_list(elements_); out += '>'; return;
    case type_kind::optional: out += "optional<"; append_list(elements_); out += '>'; return;
    case type_kind::tuple: out += "tuple<"; append_list(elements_); out += '>'; return;
    case type_kind::record:
      out += record_name_;
      out += '{';
      for (std::size_t i = 0; i < elements_.size(); ++i) {
        if (i != 0) out += ", ";
        out += field_names_[i];
        out += ": ";
        elements_[i].append_to(out);
      }
      out += '}';
      return;
    case type_kind::enumeration:
      out += "enum ";
      out += record_name_;
      out += '{';
      for (std::size_t i = 0; i < field_names_.size(); ++i) {
        if (i != 0) out += ", ";
        out += field_names_[i];
      }
      out += '}';
      return;
  }
}

namespace detail {

LOOM_FUNC type_descriptor wrap_descriptor(type_kind kind, type_descriptor element) {
  return type_descriptor(kind, {std::move(element)});
}

LOOM_FUNC std::string unqualified(std::string_view name) {
  int depth = 0;
  std::size_t start = 0;
  for (std::size_t i = 0; i < name.size(); ++i) {
    if (name[i] == '<') ++depth;
    if (name[i] == '>') --depth;
    if (depth == 0 && name[i] == ':' && i + 1 < name.size() && name[i + 1] == ':') start = i + 2;
  }
  return std::string(name.substr(start));
}

}  // namespace detail

}  // namespace loom
