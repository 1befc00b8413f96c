// src/literal.cpp — every step of the literal encoding that touches a JSON value
// (loom/detail/codec.hpp): scalars, lists, objects, and the errors naming a path
// inside a value. Compiled once; the codec's templates only walk the C++ type.
#include <loom/literal.hpp>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <string>
#include <string_view>

namespace loom::detail {

LOOM_FUNC std::string value_path::to_string() const {
  std::string out = parent != nullptr ? parent->to_string() : std::string();
  switch (how) {
    case step::root: out += name.empty() ? std::string_view("value") : name; break;
    case step::field: out += '.'; out += name; break;
    case step::index: out += '['; out += std::to_string(index); out += ']'; break;
    case step::key: out += "[\""; out += name; out += "\"]"; break;
  }
  return out;
}

LOOM_FUNC std::string_view json_kind_name(const json& j) {
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

LOOM_FUNC void throw_wrong_shape(const json& j, const value_path& path, const type_descriptor& expected) {
  throw literal_error(path.to_string(), "expected " + expected.to_string() + ", got " + std::string(json_kind_name(j)));
}

LOOM_FUNC void throw_missing_field(const value_path& path, const char* name, const type_descriptor& expected) {
  throw literal_error(path.field(name).to_string(), "missing field (expected " + expected.to_string() + ")");
}

namespace {

[[noreturn]] void out_of_range(const value_path& path, const std::string& value, std::string_view type) {
  throw literal_error(path.to_string(), "integer " + value + " is out of range for " + std::string(type));
}

}  // namespace

LOOM_FUNC bool decode_bool(const json& j, const value_path& path, describe_fn expected) {
  if (!j.is_boolean()) throw_wrong_shape(j, path, expected());
  return j.get<bool>();
}

LOOM_FUNC std::int64_t decode_signed(const json& j, const value_path& path, std::int64_t min, std::int64_t max,
                                     std::string_view type, describe_fn expected) {
  if (j.is_number_integer() && !j.is_number_unsigned()) {
    const auto v = j.get<std::int64_t>();
    if (v < min || v > max) out_of_range(path, std::to_string(v), type);
    return v;
  }
  if (j.is_number_unsigned()) {
    const auto v = j.get<std::uint64_t>();
    if (v > static_cast<std::uint64_t>(max)) out_of_range(path, std::to_string(v), type);
    return static_cast<std::int64_t>(v);
  }
  throw_wrong_shape(j, path, expected());
}

LOOM_FUNC std::uint64_t decode_unsigned(const json& j, const value_path& path, std::uint64_t max, std::string_view type,
                                        describe_fn expected) {
  if (j.is_number_integer() && !j.is_number_unsigned()) {
    const auto v = j.get<std::int64_t>();
    if (v < 0 || static_cast<std::uint64_t>(v) > max) out_of_range(path, std::to_string(v), type);
    return static_cast<std::uint64_t>(v);
  }
  if (j.is_number_unsigned()) {
    const auto v = j.get<std::uint64_t>();
    if (v > max) out_of_range(path, std::to_string(v), type);
    return v;
  }
  throw_wrong_shape(j, path, expected());
}

namespace {

template <class T>
T decode_floating(const json& j, const value_path& path, describe_fn expected) {
  if (j.is_number()) return j.get<T>();
  if (j.is_string()) {
    const auto& s = j.get_ref<const std::string&>();
    if (s == "nan") return std::numeric_limits<T>::quiet_NaN();
    if (s == "inf") return std::numeric_limits<T>::infinity();
    if (s == "-inf") return -std::numeric_limits<T>::infinity();
  }
  throw_wrong_shape(j, path, expected());
}

}  // namespace

LOOM_FUNC double decode_double(const json& j, const value_path& path, describe_fn expected) {
  return decode_floating<double>(j, path, expected);
}

LOOM_FUNC float decode_float(const json& j, const value_path& path, describe_fn expected) {
  return decode_floating<float>(j, path, expected);
}

LOOM_FUNC const std::string& decode_string(const json& j, const value_path& path, describe_fn expected) {
  if (!j.is_string()) throw_wrong_shape(j, path, expected());
  return j.get_ref<const std::string&>();
}

LOOM_FUNC std::size_t decode_list_size(const json& j, const value_path& path, describe_fn expected) {
  if (!j.is_array()) throw_wrong_shape(j, path, expected());
  return j.size();
}

LOOM_FUNC void decode_tuple_size(const json& j, const value_path& path, std::size_t n, describe_fn expected) {
  if (!j.is_array()) throw_wrong_shape(j, path, expected());
  if (j.size() != n) {
    throw literal_error(path.to_string(), "expected " + expected().to_string() + " (" + std::to_string(n) +
                                              " items), got a list of " + std::to_string(j.size()));
  }
}

LOOM_FUNC const json& list_item(const json& j, std::size_t i) { return j.get_ref<const json::array_t&>()[i]; }

LOOM_FUNC void decode_object(const json& j, const value_path& path, describe_fn expected,
                             void (*member)(void* context, const std::string& key, const json& value), void* context) {
  if (!j.is_object()) throw_wrong_shape(j, path, expected());
  for (const auto& [k, v] : j.get_ref<const json::object_t&>()) member(context, k, v);
}

LOOM_FUNC bool json_is_null(const json& j) { return j.is_null(); }

LOOM_FUNC void check_object(const json& j, const value_path& path, describe_fn expected) {
  if (!j.is_object()) throw_wrong_shape(j, path, expected());
}

LOOM_FUNC const json* json_find(const json& j, const char* name) {
  const auto it = j.find(name);
  return it == j.end() ? nullptr : &*it;
}

LOOM_FUNC std::size_t json_size(const json& j) { return j.size(); }

LOOM_FUNC void reject_unknown_fields(const json& j, const value_path& path, const std::string_view* names,
                                     std::size_t count, describe_fn record) {
  for (const auto& item : j.items()) {
    if (std::find(names, names + count, std::string_view(item.key())) == names + count) {
      throw literal_error(path.to_string(), "unknown field '" + item.key() + "' for " + record().to_string());
    }
  }
}

LOOM_FUNC void encode_null(json& out) { out = nullptr; }
LOOM_FUNC void encode_bool(json& out, bool value) { out = value; }
LOOM_FUNC void encode_signed(json& out, std::int64_t value) { out = value; }
LOOM_FUNC void encode_unsigned(json& out, std::uint64_t value) { out = value; }

LOOM_FUNC void encode_double(json& out, double value) {
  if (std::isnan(value)) {
    out = "nan";
  } else if (std::isinf(value)) {
    out = value > 0 ? "inf" : "-inf";
  } else {
    out = value;
  }
}

LOOM_FUNC void encode_string(json& out, const std::string& value) { out = value; }

LOOM_FUNC void make_list(json& out, std::size_t reserve) {
  out = json::array();
  out.get_ref<json::array_t&>().reserve(reserve);
}

LOOM_FUNC json& append_item(json& out) {
  auto& items = out.get_ref<json::array_t&>();
  items.emplace_back();
  return items.back();
}

LOOM_FUNC void make_object(json& out) { out = json::object(); }

LOOM_FUNC json& object_member(json& out, std::string_view key) { return out[std::string(key)]; }

}  // namespace loom::detail
