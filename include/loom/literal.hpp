// loom/literal.hpp — the literal encoding of task values (JSON), with round-trip.
//
//   bool → true/false        integers → JSON integers    double → number, or "nan",
//   std::string → string     vector → array              "inf", "-inf" (JSON has none)
//   map<string, T> → object  optional → null or value    tuple → array of its members
//   Hana record → object with exactly its fields
//
// Decoding checks the shape and reports the path inside the value that is wrong.
#pragma once

#include <loom/detail/type_check.hpp>
#include <loom/error.hpp>
#include <loom/type_descriptor.hpp>

#include <boost/hana/accessors.hpp>
#include <boost/hana/first.hpp>
#include <boost/hana/for_each.hpp>
#include <boost/hana/second.hpp>
#include <boost/hana/string.hpp>

#include <nlohmann/json.hpp>

#include <cmath>
#include <limits>
#include <string>
#include <string_view>

namespace loom {

using json = nlohmann::json;

namespace detail {

/// A position inside a value being decoded; a chain of frames on the stack, so that
/// the path string is only built when there is an error to report.
struct value_path {
  enum class step { root, field, index, key };
  const value_path* parent = nullptr;
  step how = step::root;
  std::string_view name;  // root name, field or key
  std::size_t index = 0;

  [[nodiscard]] value_path field(std::string_view f) const { return {this, step::field, f, 0}; }
  [[nodiscard]] value_path at(std::size_t i) const { return {this, step::index, {}, i}; }
  [[nodiscard]] value_path key(std::string_view k) const { return {this, step::key, k, 0}; }

  [[nodiscard]] std::string to_string() const {
    std::string out = parent != nullptr ? parent->to_string() : std::string();
    switch (how) {
      case step::root: out += name.empty() ? std::string_view("value") : name; break;
      case step::field: out += '.'; out += name; break;
      case step::index: out += '['; out += std::to_string(index); out += ']'; break;
      case step::key: out += "[\""; out += name; out += "\"]"; break;
    }
    return out;
  }
};

inline std::string_view json_kind_name(const json& j) {
  switch (j.type()) {
    case json::value_t::null: return "null";
    case json::value_t::boolean: return "boolean";
    case json::value_t::number_integer:
    case json::value_t::number_unsigned: return "integer";
    case json::value_t::number_float: return "float";
    case json::value_t::string: return "string";
    case json::value_t::array: return "list";
    case json::value_t::object: return "object";
    default: return "binary";
  }
}

template <class T>
[[noreturn]] void wrong_shape(const json& j, const value_path& path) {
  throw literal_error(path.to_string(),
                      "expected " + describe<T>().to_string() + ", got " + std::string(json_kind_name(j)));
}

template <class T>
json encode(const T& value) {
  if constexpr (std::is_same_v<T, bool> || is_integer_v<T> || std::is_same_v<T, std::string>) {
    return json(value);
  } else if constexpr (std::is_floating_point_v<T>) {
    if (std::isnan(value)) return json("nan");
    if (std::isinf(value)) return json(value > 0 ? "inf" : "-inf");
    return json(static_cast<double>(value));
  } else if constexpr (is_std_vector<T>::value) {
    json out = json::array();
    out.get_ref<json::array_t&>().reserve(value.size());
    for (const auto& item : value) out.push_back(encode<typename T::value_type>(item));
    return out;
  } else if constexpr (is_std_map<T>::value) {
    json out = json::object();
    for (const auto& [k, v] : value) out[k] = encode<typename T::mapped_type>(v);
    return out;
  } else if constexpr (is_std_optional<T>::value) {
    return value.has_value() ? encode<typename T::value_type>(*value) : json(nullptr);
  } else if constexpr (is_std_tuple<T>::value) {
    json out = json::array();
    std::apply([&out](const auto&... item) { (out.push_back(encode<std::remove_cvref_t<decltype(item)>>(item)), ...); },
               value);
    return out;
  } else {
    json out = json::object();
    boost::hana::for_each(boost::hana::accessors<T>(), [&](auto pair) {
      const auto& member = boost::hana::second(pair)(value);
      out[boost::hana::to<const char*>(boost::hana::first(pair))] =
          encode<std::remove_cvref_t<decltype(member)>>(member);
    });
    return out;
  }
}

template <class T>
T decode(const json& j, const value_path& path) {
  if constexpr (std::is_same_v<T, bool>) {
    if (!j.is_boolean()) wrong_shape<T>(j, path);
    return j.get<bool>();
  } else if constexpr (is_integer_v<T>) {
    if (j.is_number_integer() && !j.is_number_unsigned()) {
      const auto v = j.get<std::int64_t>();
      if constexpr (std::is_signed_v<T>) {
        if (v < std::numeric_limits<T>::min() || v > std::numeric_limits<T>::max()) {
          throw literal_error(path.to_string(), "integer " + std::to_string(v) + " is out of range for " +
                                                    std::string(type_name<T>()));
        }
      } else {
        if (v < 0 || static_cast<std::uint64_t>(v) > std::numeric_limits<T>::max()) {
          throw literal_error(path.to_string(), "integer " + std::to_string(v) + " is out of range for " +
                                                    std::string(type_name<T>()));
        }
      }
      return static_cast<T>(v);
    }
    if (j.is_number_unsigned()) {
      const auto v = j.get<std::uint64_t>();
      if (v > static_cast<std::uint64_t>(std::numeric_limits<T>::max())) {
        throw literal_error(path.to_string(), "integer " + std::to_string(v) + " is out of range for " +
                                                  std::string(type_name<T>()));
      }
      return static_cast<T>(v);
    }
    wrong_shape<T>(j, path);
  } else if constexpr (std::is_floating_point_v<T>) {
    if (j.is_number()) return j.get<T>();
    if (j.is_string()) {
      const auto& s = j.get_ref<const std::string&>();
      if (s == "nan") return std::numeric_limits<T>::quiet_NaN();
      if (s == "inf") return std::numeric_limits<T>::infinity();
      if (s == "-inf") return -std::numeric_limits<T>::infinity();
    }
    wrong_shape<T>(j, path);
  } else if constexpr (std::is_same_v<T, std::string>) {
    if (!j.is_string()) wrong_shape<T>(j, path);
    return j.get<std::string>();
  } else if constexpr (is_std_vector<T>::value) {
    if (!j.is_array()) wrong_shape<T>(j, path);
    T out;
    out.reserve(j.size());
    std::size_t i = 0;
    for (const auto& item : j) out.push_back(decode<typename T::value_type>(item, path.at(i++)));
    return out;
  } else if constexpr (is_std_map<T>::value) {
    if (!j.is_object()) wrong_shape<T>(j, path);
    T out;
    for (const auto& [k, v] : j.items()) out.emplace(k, decode<typename T::mapped_type>(v, path.key(k)));
    return out;
  } else if constexpr (is_std_optional<T>::value) {
    if (j.is_null()) return T{};
    return T(decode<typename T::value_type>(j, path));
  } else if constexpr (is_std_tuple<T>::value) {
    if (!j.is_array()) wrong_shape<T>(j, path);
    constexpr std::size_t n = std::tuple_size_v<T>;
    if (j.size() != n) {
      throw literal_error(path.to_string(), "expected " + describe<T>().to_string() + " (" + std::to_string(n) +
                                                " items), got a list of " + std::to_string(j.size()));
    }
    return [&]<std::size_t... I>(std::index_sequence<I...>) {
      return T(decode<std::tuple_element_t<I, T>>(j[I], path.at(I))...);
    }(std::make_index_sequence<n>{});
  } else {
    if (!j.is_object()) wrong_shape<T>(j, path);
    T out{};
    std::size_t known = 0;
    boost::hana::for_each(boost::hana::accessors<T>(), [&](auto pair) {
      const char* field = boost::hana::to<const char*>(boost::hana::first(pair));
      auto& member = boost::hana::second(pair)(out);
      using member_type = std::remove_cvref_t<decltype(member)>;
      const auto it = j.find(field);
      if (it == j.end()) {
        if constexpr (is_std_optional<member_type>::value) return;  // absent optional field: empty
        throw literal_error(path.field(field).to_string(),
                            "missing field (expected " + describe<member_type>().to_string() + ")");
      }
      ++known;
      member = decode<member_type>(*it, path.field(field));
    });
    if (known != j.size()) {
      for (const auto& item : j.items()) {
        const std::string& k = item.key();
        bool found = false;
        boost::hana::for_each(boost::hana::accessors<T>(), [&](auto pair) {
          found = found || k == boost::hana::to<const char*>(boost::hana::first(pair));
        });
        if (!found) {
          throw literal_error(path.to_string(),
                              "unknown field '" + k + "' for " + describe<T>().to_string());
        }
      }
    }
    return out;
  }
}

}  // namespace detail

/// The literal (JSON) encoding of a task value.
template <task_value T>
json to_literal(const T& value) {
  return detail::encode<T>(value);
}

/// Decodes a literal; `where` names the root of the value in error messages
/// (an input name such as `freq_list`). Throws loom::literal_error.
template <task_value T>
T from_literal(const json& literal, std::string_view where = "value") {
  return detail::decode<T>(literal, detail::value_path{nullptr, detail::value_path::step::root, where, 0});
}

}  // namespace loom
