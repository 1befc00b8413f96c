// loom/detail/type_descriptor.hpp — loom::type_descriptor and loom::describe<T>() for
// Loom's own headers: JSON appears only in declarations (<nlohmann/json_fwd.hpp>), so
// a workflow's translation unit does not parse <nlohmann/json.hpp>. Include the public
// <loom/type_descriptor.hpp>, which adds it for to_json() and from_json().
#pragma once

#include <loom/detail/config.hpp>
#include <loom/detail/type_check.hpp>
#include <loom/detail/type_name.hpp>
#include <loom/error.hpp>

#include <boost/hana/accessors.hpp>
#include <boost/hana/first.hpp>
#include <boost/hana/for_each.hpp>
#include <boost/hana/second.hpp>
#include <boost/hana/string.hpp>

#include <nlohmann/json_fwd.hpp>

#include <cstdint>
#include <iosfwd>
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
  static type_descriptor enumeration(std::string enum_name, std::vector<std::string> enumerators);

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
  [[nodiscard]] std::string to_string() const;

  friend bool operator==(const type_descriptor&, const type_descriptor&) = default;

  /// The descriptor as JSON (as futures files hold it): "integer", {"list": T},
  /// {"map": T}, {"optional": T}, {"tuple": [T, ...]},
  /// {"record": "point", "fields": [{"name": "x", "type": T}, ...]},
  /// {"enum": "color", "values": ["red", "green"]}.
  [[nodiscard]] nlohmann::json to_json() const;

  /// Reads a descriptor written by to_json(); throws loom::error saying what is wrong.
  static type_descriptor from_json(const nlohmann::json& j);

  friend std::ostream& operator<<(std::ostream& os, const type_descriptor& d);

 private:
  void append_to(std::string& out) const;

  type_kind kind_ = type_kind::boolean;
  std::string record_name_;
  std::vector<std::string> field_names_;
  std::vector<type_descriptor> elements_;
};

namespace detail {

/// Record names drop namespaces: a futures file names a shape, not a C++ scope.
std::string unqualified(std::string_view name);

/// A list, map or optional of `element` (compiled once, src/type_descriptor.cpp).
type_descriptor wrap_descriptor(type_kind kind, type_descriptor element);

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
    return wrap_descriptor(type_kind::list, make_descriptor<typename T::value_type>());
  } else if constexpr (is_std_map<T>::value) {
    return wrap_descriptor(type_kind::map, make_descriptor<typename T::mapped_type>());
  } else if constexpr (is_std_optional<T>::value) {
    return wrap_descriptor(type_kind::optional, make_descriptor<typename T::value_type>());
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
