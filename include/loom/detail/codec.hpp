// loom/detail/codec.hpp — the literal encoding of task values (loom/literal.hpp), as the
// executor, the registry and a map's items use it: through references to JSON values
// only (<nlohmann/json_fwd.hpp>). Every step that touches a JSON value — a scalar, a
// list's items, an object's members, the errors naming a path — is compiled once into
// loom::runtime (src/literal.cpp); the templates here only walk the C++ type. So a
// workflow's translation unit neither parses <nlohmann/json.hpp> nor instantiates its
// templates for each value type.
#pragma once

#include <loom/detail/config.hpp>
#include <loom/detail/type_check.hpp>
#include <loom/detail/type_descriptor.hpp>
#include <loom/detail/type_name.hpp>
#include <loom/error.hpp>

#include <boost/hana/accessors.hpp>
#include <boost/hana/first.hpp>
#include <boost/hana/for_each.hpp>
#include <boost/hana/second.hpp>
#include <boost/hana/string.hpp>

#include <nlohmann/json_fwd.hpp>

#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <iterator>
#include <limits>
#include <string>
#include <charconv>
#include <string_view>
#include <system_error>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

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

  [[nodiscard]] std::string to_string() const;
};

/// The descriptor of the type being decoded, computed only for an error message.
using describe_fn = const type_descriptor& (*)();

// The compiled steps (src/literal.cpp). Decoding ones check the JSON value's shape and
// throw literal_error naming `path` and the expected type.
std::string_view json_kind_name(const json& j);
/// Throws the literal_error of a value that is not a `expected`.
[[noreturn]] void throw_wrong_shape(const json& j, const value_path& path, const type_descriptor& expected);
[[noreturn]] void throw_missing_field(const value_path& path, const char* name, const type_descriptor& expected);
bool decode_bool(const json& j, const value_path& path, describe_fn expected);
/// An integer in [min, max]; `type` names the C++ type in a range error.
std::int64_t decode_signed(const json& j, const value_path& path, std::int64_t min, std::int64_t max,
                           std::string_view type, describe_fn expected);
std::uint64_t decode_unsigned(const json& j, const value_path& path, std::uint64_t max, std::string_view type,
                              describe_fn expected);
/// A number, or "nan", "inf", "-inf".
double decode_double(const json& j, const value_path& path, describe_fn expected);
float decode_float(const json& j, const value_path& path, describe_fn expected);
const std::string& decode_string(const json& j, const value_path& path, describe_fn expected);
/// The number of items of a list (throws when `j` is not one).
std::size_t decode_list_size(const json& j, const value_path& path, describe_fn expected);
/// A list of exactly `n` items (a tuple).
void decode_tuple_size(const json& j, const value_path& path, std::size_t n, describe_fn expected);
const json& list_item(const json& j, std::size_t i);
/// Calls member(context, key, value) for each member of an object (throws when `j` is
/// not one).
void decode_object(const json& j, const value_path& path, describe_fn expected,
                   void (*member)(void* context, const std::string& key, const json& value), void* context);
bool json_is_null(const json& j);
void check_object(const json& j, const value_path& path, describe_fn expected);
/// The member `name` of an object, or null.
const json* json_find(const json& j, const char* name);
std::size_t json_size(const json& j);
/// Throws for the first member of `j` not in names (a record's fields).
void reject_unknown_fields(const json& j, const value_path& path, const std::string_view* names, std::size_t count,
                           describe_fn record);

void encode_null(json& out);
void encode_bool(json& out, bool value);
void encode_signed(json& out, std::int64_t value);
void encode_unsigned(json& out, std::uint64_t value);
void encode_double(json& out, double value);  // nan, inf and -inf as strings
void encode_string(json& out, const std::string& value);
/// Makes `out` an empty list with room for `reserve` items.
void make_list(json& out, std::size_t reserve);
/// Appends a null item to the list `out`; the item, to be written.
json& append_item(json& out);
void make_object(json& out);
/// The member `key` of the object `out` (null when new), to be written.
json& object_member(json& out, std::string_view key);

// The encoding of a plain struct or an enum: defined for each such type by
// loom-codegen's output (loom/generated.hpp), appended to the translation unit.
template <class T>
void generated_encode_to(json& out, const T& value);
template <class T>
T generated_decode(const json& j, const value_path& path);

template <class T>
[[noreturn]] void wrong_shape(const json& j, const value_path& path) {
  throw_wrong_shape(j, path, describe<T>());
}

template <class T>
T decode(const json& j, const value_path& path);

/// Reads a record's fields one by one (a missing optional field is empty), then
/// rejects fields the record does not have. Hana records and generated ones share it.
template <class Record>
class record_reader {
 public:
  record_reader(const json& j, const value_path& path) : j_(j), path_(path) {
    check_object(j, path, &describe<Record>);
  }

  template <class M>
  void field(const char* name, M& member) {
    const json* value = json_find(j_, name);
    if (value == nullptr) {
      if constexpr (is_std_optional<M>::value) {
        return;
      } else {
        throw_missing_field(path_, name, describe<M>());
      }
    }
    ++known_;
    member = decode<M>(*value, path_.field(name));
  }

  /// A field with a default value in C++: when absent, `member` keeps it.
  template <class M>
  void field_or_default(const char* name, M& member) {
    const json* value = json_find(j_, name);
    if (value == nullptr) return;
    ++known_;
    member = decode<M>(*value, path_.field(name));
  }

  template <class Names>
  void finish(const Names& names) const {
    if (known_ == json_size(j_)) return;
    reject_unknown_fields(j_, path_, std::data(names), std::size(names), &describe<Record>);
  }
  void finish(std::initializer_list<std::string_view> names) const { finish<std::initializer_list<std::string_view>>(names); }

 private:
  const json& j_;
  const value_path& path_;
  std::size_t known_ = 0;
};

/// Writes the literal encoding of `value` to `out`.
template <class T>
void encode_to(json& out, const T& value) {
  if constexpr (std::is_same_v<T, bool>) {
    encode_bool(out, value);
  } else if constexpr (is_integer_v<T>) {
    if constexpr (std::is_signed_v<T>) {
      encode_signed(out, static_cast<std::int64_t>(value));
    } else {
      encode_unsigned(out, static_cast<std::uint64_t>(value));
    }
  } else if constexpr (std::is_same_v<T, std::string>) {
    encode_string(out, value);
  } else if constexpr (std::is_floating_point_v<T>) {
    encode_double(out, static_cast<double>(value));
  } else if constexpr (is_std_vector<T>::value) {
    make_list(out, value.size());
    for (const auto& item : value) encode_to<typename T::value_type>(append_item(out), item);
  } else if constexpr (is_std_map<T>::value) {
    make_object(out);
    for (const auto& [k, v] : value) encode_to<typename T::mapped_type>(object_member(out, k), v);
  } else if constexpr (is_std_optional<T>::value) {
    if (value.has_value()) {
      encode_to<typename T::value_type>(out, *value);
    } else {
      encode_null(out);
    }
  } else if constexpr (is_std_tuple<T>::value) {
    make_list(out, std::tuple_size_v<T>);
    std::apply([&out](const auto&... item) { (encode_to<std::remove_cvref_t<decltype(item)>>(append_item(out), item), ...); },
               value);
  } else if constexpr (is_record_v<T>) {
    make_object(out);
    boost::hana::for_each(boost::hana::accessors<T>(), [&](auto pair) {
      const auto& member = boost::hana::second(pair)(value);
      encode_to<std::remove_cvref_t<decltype(member)>>(
          object_member(out, boost::hana::to<const char*>(boost::hana::first(pair))), member);
    });
  } else {
    generated_encode_to<T>(out, value);
  }
}

/// The longest text of an integer (-9223372036854775808; 18446744073709551615).
inline constexpr std::size_t integer_text_bytes = 20;

/// Writes `value` in decimal at `at` (room for integer_text_bytes); returns its end.
template <class T>
char* integer_text(char* at, T value) {
  return std::is_signed_v<T> ? std::to_chars(at, at + integer_text_bytes, static_cast<std::int64_t>(value)).ptr
                             : std::to_chars(at, at + integer_text_bytes, static_cast<std::uint64_t>(value)).ptr;
}

/// Whether json_text_of writes this string between quotes as it is: printable ASCII
/// without '"' or '\\' (anything else is dumped by nlohmann, which escapes it).
inline bool is_plain_text(std::string_view text) {
  for (const char c : text) {
    if (c < 0x20 || c > 0x7e || c == '"' || c == '\\') return false;
  }
  return true;
}

/// A std::vector of integers (json_text_of writes its numbers in place).
template <class T>
struct is_integer_list : std::false_type {};
template <class T, class A>
struct is_integer_list<std::vector<T, A>> : std::bool_constant<is_integer_v<T>> {};

/// The literal encoding of `value` as compact JSON text, what
/// `json v; encode_to(v, value); v.dump()` gives, written straight into `out` (a
/// recorded node's outputs and a futures file's literals: once per node). Only for the
/// types whose text is quick to get right: booleans, integers, strings of printable
/// ASCII without '"' or '\\', and lists, optionals and tuples of them. Anything else
/// (a float, a map, a record, a string that needs escapes) returns false: the caller
/// dumps the JSON. What was appended before the false is the caller's to drop.
template <class T>
bool json_text_of(std::string& out, const T& value) {
  if constexpr (std::is_same_v<T, bool>) {
    out += value ? "true" : "false";
    return true;
  } else if constexpr (is_integer_v<T>) {
    char digits[integer_text_bytes];
    out.append(digits, integer_text(digits, value));
    return true;
  } else if constexpr (std::is_same_v<T, std::string>) {
    if (!is_plain_text(value)) return false;
    out += '"';
    out += value;
    out += '"';
    return true;
  } else if constexpr (is_integer_list<T>::value) {
    // Room for the longest text at once, the digits written in place, then the rest
    // cut off: one change of size, not an append per number (a recorded node's list of
    // integers is formatted on the thread that ran it).
    const std::size_t start = out.size();
    out.resize(start + 2 + value.size() * (integer_text_bytes + 1));
    char* at = out.data() + start;
    *at++ = '[';
    for (std::size_t i = 0; i < value.size(); ++i) {
      if (i != 0) *at++ = ',';
      at = integer_text(at, value[i]);
    }
    *at++ = ']';
    out.resize(static_cast<std::size_t>(at - out.data()));
    return true;
  } else if constexpr (is_std_vector<T>::value) {
    out += '[';
    bool first = true;
    for (const auto& item : value) {
      if (!first) out += ',';
      first = false;
      if (!json_text_of<typename T::value_type>(out, item)) return false;
    }
    out += ']';
    return true;
  } else if constexpr (is_std_optional<T>::value) {
    if (!value.has_value()) {
      out += "null";
      return true;
    }
    return json_text_of<typename T::value_type>(out, *value);
  } else if constexpr (is_std_tuple<T>::value) {
    out += '[';
    bool ok = true;
    std::size_t k = 0;
    std::apply(
        [&](const auto&... item) {
          ((ok = ok && ((k++ == 0 ? void() : void(out += ',')), json_text_of<std::remove_cvref_t<decltype(item)>>(out, item))),
           ...);
        },
        value);
    out += ']';
    return ok;
  } else {
    return false;
  }
}

template <class T>
T decode(const json& j, const value_path& path) {
  if constexpr (std::is_same_v<T, bool>) {
    return decode_bool(j, path, &describe<T>);
  } else if constexpr (is_integer_v<T>) {
    if constexpr (std::is_signed_v<T>) {
      return static_cast<T>(decode_signed(j, path, std::numeric_limits<T>::min(), std::numeric_limits<T>::max(),
                                          type_name<T>(), &describe<T>));
    } else {
      return static_cast<T>(decode_unsigned(j, path, std::numeric_limits<T>::max(), type_name<T>(), &describe<T>));
    }
  } else if constexpr (std::is_same_v<T, float>) {
    return decode_float(j, path, &describe<T>);
  } else if constexpr (std::is_floating_point_v<T>) {
    return static_cast<T>(decode_double(j, path, &describe<T>));
  } else if constexpr (std::is_same_v<T, std::string>) {
    return decode_string(j, path, &describe<T>);
  } else if constexpr (is_std_vector<T>::value) {
    const std::size_t n = decode_list_size(j, path, &describe<T>);
    T out;
    out.reserve(n);
    for (std::size_t i = 0; i < n; ++i) out.push_back(decode<typename T::value_type>(list_item(j, i), path.at(i)));
    return out;
  } else if constexpr (is_std_map<T>::value) {
    T out;
    std::pair<T*, const value_path*> context(&out, &path);
    decode_object(
        j, path, &describe<T>,
        [](void* c, const std::string& k, const json& v) {
          auto& [map, parent] = *static_cast<std::pair<T*, const value_path*>*>(c);
          map->emplace(k, decode<typename T::mapped_type>(v, parent->key(k)));
        },
        &context);
    return out;
  } else if constexpr (is_std_optional<T>::value) {
    if (json_is_null(j)) return T{};
    return T(decode<typename T::value_type>(j, path));
  } else if constexpr (is_std_tuple<T>::value) {
    constexpr std::size_t n = std::tuple_size_v<T>;
    decode_tuple_size(j, path, n, &describe<T>);
    return [&]<std::size_t... I>(std::index_sequence<I...>) {
      return T(decode<std::tuple_element_t<I, T>>(list_item(j, I), path.at(I))...);
    }(std::make_index_sequence<n>{});
  } else if constexpr (is_record_v<T>) {
    record_reader<T> reader(j, path);
    T out{};
    std::vector<std::string_view> names;
    boost::hana::for_each(boost::hana::accessors<T>(), [&](auto pair) {
      const char* field = boost::hana::to<const char*>(boost::hana::first(pair));
      names.emplace_back(field);
      reader.field(field, boost::hana::second(pair)(out));
    });
    reader.finish(names);
    return out;
  } else {
    return generated_decode<T>(j, path);
  }
}

}  // namespace detail

}  // namespace loom
