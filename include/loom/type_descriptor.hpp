// loom/type_descriptor.hpp — the schema of a task value: printable, comparable and
// serializable, so that a futures file written by one process can be type-checked by
// another without the C++ types at hand.
#pragma once

#include <loom/detail/type_check.hpp>
#include <loom/detail/type_name.hpp>
#include <loom/error.hpp>

#include <boost/hana/accessors.hpp>
#include <boost/hana/first.hpp>
#include <boost/hana/for_each.hpp>
#include <boost/hana/second.hpp>
#include <boost/hana/string.hpp>

#include <nlohmann/json.hpp>

#include <cstdint>
#include <ostream>
#include <string>
#include <string_view>
#include <vector>

namespace loom {

enum class type_kind : std::uint8_t { boolean, integer, floating, string, list, map, optional, tuple, record, enumeration };

/// The schema of a task value. Two values have compatible encodings exactly when their
/// descriptors compare equal.
class type_descriptor {
 public:
  type_descriptor() = default;
  explicit type_descriptor(type_kind kind) : kind_(kind) {}
  type_descriptor(type_kind kind, std::vector<type_descriptor> elements)
      : kind_(kind), elements_(std::move(elements)) {}
  type_descriptor(std::string record_name, std::vector<std::string> field_names,
                  std::vector<type_descriptor> field_types)
      : kind_(type_kind::record),
        record_name_(std::move(record_name)),
        field_names_(std::move(field_names)),
        elements_(std::move(field_types)) {}

  /// An enum, encoded as the names of its enumerators.
  static type_descriptor enumeration(std::string enum_name, std::vector<std::string> enumerators) {
    type_descriptor d(type_kind::enumeration);
    d.record_name_ = std::move(enum_name);
    d.field_names_ = std::move(enumerators);
    return d;
  }

  [[nodiscard]] type_kind kind() const { return kind_; }
  /// list, map, optional: one element (the item / mapped / contained type);
  /// tuple: one per member; record: one per field, in declaration order.
  [[nodiscard]] const std::vector<type_descriptor>& elements() const { return elements_; }
  /// record and enumeration: the type's name (without namespaces).
  [[nodiscard]] const std::string& record_name() const { return record_name_; }
  /// record: the field names; enumeration: the enumerators' names.
  [[nodiscard]] const std::vector<std::string>& field_names() const { return field_names_; }

  /// `integer`, `list<integer>`, `map<string, optional<float>>`,
  /// `tuple<integer, string>`, `Point{x: float, y: float}`, `enum Color{red, green}`.
  [[nodiscard]] std::string to_string() const {
    std::string out;
    append_to(out);
    return out;
  }

  friend bool operator==(const type_descriptor&, const type_descriptor&) = default;

  /// The descriptor as JSON (as futures files hold it): "integer", {"list": T},
  /// {"map": T}, {"optional": T}, {"tuple": [T, ...]},
  /// {"record": "point", "fields": [{"name": "x", "type": T}, ...]},
  /// {"enum": "color", "values": ["red", "green"]}.
  [[nodiscard]] nlohmann::json to_json() const {
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

  /// Reads a descriptor written by to_json(); throws loom::error saying what is wrong.
  static type_descriptor from_json(const nlohmann::json& j) {
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

  friend std::ostream& operator<<(std::ostream& os, const type_descriptor& d) { return os << d.to_string(); }

 private:
  void append_to(std::string& out) const {
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

  type_kind kind_ = type_kind::boolean;
  std::string record_name_;
  std::vector<std::string> field_names_;
  std::vector<type_descriptor> elements_;
};

namespace detail {

/// Record names drop namespaces: a futures file names a shape, not a C++ scope.
inline std::string unqualified(std::string_view name) {
  int depth = 0;
  std::size_t start = 0;
  for (std::size_t i = 0; i < name.size(); ++i) {
    if (name[i] == '<') ++depth;
    if (name[i] == '>') --depth;
    if (depth == 0 && name[i] == ':' && i + 1 < name.size() && name[i + 1] == ':') start = i + 2;
  }
  return std::string(name.substr(start));
}

template <class T>
type_descriptor make_descriptor();

/// The descriptor of a plain struct or an enum: defined for each such type by
/// loom-codegen's output (see loom/generated.hpp).
template <class T>
type_descriptor generated_descriptor();

template <class T>
type_descriptor make_record_descriptor() {
  std::vector<std::string> names;
  std::vector<type_descriptor> types;
  boost::hana::for_each(boost::hana::accessors<T>(), [&](auto pair) {
    names.emplace_back(boost::hana::to<const char*>(boost::hana::first(pair)));
    using member = std::remove_cvref_t<decltype(boost::hana::second(pair)(std::declval<T&>()))>;
    types.push_back(make_descriptor<member>());
  });
  return type_descriptor(unqualified(type_name<T>()), std::move(names), std::move(types));
}

template <class T>
type_descriptor make_descriptor() {
  static_assert(is_task_value_v<T>, "loom: describe<T>() requires a task value type");
  if constexpr (std::is_same_v<T, bool>) {
    return type_descriptor(type_kind::boolean);
  } else if constexpr (is_integer_v<T>) {
    return type_descriptor(type_kind::integer);
  } else if constexpr (std::is_floating_point_v<T>) {
    return type_descriptor(type_kind::floating);
  } else if constexpr (std::is_same_v<T, std::string>) {
    return type_descriptor(type_kind::string);
  } else if constexpr (is_std_vector<T>::value) {
    return type_descriptor(type_kind::list, {make_descriptor<typename T::value_type>()});
  } else if constexpr (is_std_map<T>::value) {
    return type_descriptor(type_kind::map, {make_descriptor<typename T::mapped_type>()});
  } else if constexpr (is_std_optional<T>::value) {
    return type_descriptor(type_kind::optional, {make_descriptor<typename T::value_type>()});
  } else if constexpr (is_std_tuple<T>::value) {
    return []<class... E>(std::tuple<E...>*) {
      return type_descriptor(type_kind::tuple, {make_descriptor<E>()...});
    }(static_cast<T*>(nullptr));
  } else if constexpr (is_record_v<T>) {
    return make_record_descriptor<T>();
  } else {
    return generated_descriptor<T>();
  }
}

}  // namespace detail

/// The descriptor of T, computed once.
template <task_value T>
const type_descriptor& describe() {
  static const type_descriptor descriptor = detail::make_descriptor<T>();
  return descriptor;
}

}  // namespace loom
