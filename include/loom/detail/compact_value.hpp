// loom/detail/compact_value.hpp — a recorded node's outputs in a compact binary form,
// for the packs of a recorded run's large sub-DAG (loom/object_store.hpp).
//
// Why: in the seed's count_characters, formatting each node's list of 26 counts as
// JSON text took more of a recorded run than the rest of recording it (to_chars per
// number, once per node, on the thread that ran the node). Here an integer is a varint
// of one or two bytes, written with no division.
//
// Nothing that reads outputs sees this form: object_store::get gives back the JSON
// text, byte for byte the text json_text_of (and so to_json().dump()) would have
// written. So a body is compact only for the values whose text json_text_of writes
// itself; anything else is recorded as JSON text, as before.
//
// The form (every count and length a LEB128 varint; a signed integer zigzagged first):
//   body   := 0x00 value          (no JSON text starts with a NUL byte)
//   value  := 0x01                              null
//           | 0x02 | 0x03                       false | true
//           | 0x04 zigzag | 0x05 varint         a signed | an unsigned integer
//           | 0x06 length bytes                 a string of printable ASCII, no '"' or '\'
//           | 0x07 count value*                 a list (or a tuple)
//           | 0x08 count zigzag*                a list of signed integers
//           | 0x09 count varint*                a list of unsigned integers
//           | 0x0A count (length name value)*   an object (names as strings are)
#pragma once

#include <loom/detail/codec.hpp>
#include <loom/detail/config.hpp>

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <vector>

namespace loom::detail {

/// The first byte of a compact body.
inline constexpr char compact_marker = '\0';

enum class compact_tag : unsigned char {
  null = 1,
  false_value,
  true_value,
  signed_integer,
  unsigned_integer,
  string,
  list,
  signed_list,
  unsigned_list,
  object,
};

/// The most bytes of a varint (a 64-bit value, 7 bits a byte).
inline constexpr std::size_t varint_bytes = 10;

/// Writes `value` as a varint at `at` (room for varint_bytes); returns its end.
inline char* put_varint(char* at, std::uint64_t value) {
  while (value >= 0x80) {
    *at++ = static_cast<char>((value & 0x7F) | 0x80);
    value >>= 7;
  }
  *at++ = static_cast<char>(value);
  return at;
}

inline void append_varint(std::string& out, std::uint64_t value) {
  char bytes[varint_bytes];
  out.append(bytes, put_varint(bytes, value));
}

/// Small magnitudes of either sign to small varints: 0, -1, 1, -2 ... to 0, 1, 2, 3 ...
inline std::uint64_t zigzag(std::int64_t value) {
  return (static_cast<std::uint64_t>(value) << 1) ^ static_cast<std::uint64_t>(value >> 63);
}

inline void append_tag(std::string& out, compact_tag tag) { out += static_cast<char>(tag); }

/// Appends the compact form of `value` (no marker) to `out`; false for a type or a value
/// that json_text_of does not write itself (what was appended before is the caller's to
/// drop).
template <class T>
bool compact_of(std::string& out, const T& value) {
  if constexpr (std::is_same_v<T, bool>) {
    append_tag(out, value ? compact_tag::true_value : compact_tag::false_value);
    return true;
  } else if constexpr (is_integer_v<T>) {
    if constexpr (std::is_signed_v<T>) {
      append_tag(out, compact_tag::signed_integer);
      append_varint(out, zigzag(static_cast<std::int64_t>(value)));
    } else {
      append_tag(out, compact_tag::unsigned_integer);
      append_varint(out, static_cast<std::uint64_t>(value));
    }
    return true;
  } else if constexpr (std::is_same_v<T, std::string>) {
    if (!is_plain_text(value)) return false;
    append_tag(out, compact_tag::string);
    append_varint(out, value.size());
    out += value;
    return true;
  } else if constexpr (is_integer_list<T>::value) {
    // Room for the longest form at once, the varints written in place, then the rest
    // cut off (as json_text_of does for the text).
    using item = typename T::value_type;
    const std::size_t start = out.size();
    out.resize(start + 1 + varint_bytes * (1 + value.size()));
    char* at = out.data() + start;
    *at++ = static_cast<char>(std::is_signed_v<item> ? compact_tag::signed_list : compact_tag::unsigned_list);
    at = put_varint(at, value.size());
    for (const item n : value) {
      if constexpr (std::is_signed_v<item>) {
        at = put_varint(at, zigzag(static_cast<std::int64_t>(n)));
      } else {
        at = put_varint(at, static_cast<std::uint64_t>(n));
      }
    }
    out.resize(static_cast<std::size_t>(at - out.data()));
    return true;
  } else if constexpr (is_std_vector<T>::value) {
    append_tag(out, compact_tag::list);
    append_varint(out, value.size());
    for (const auto& item : value) {
      if (!compact_of<typename T::value_type>(out, item)) return false;
    }
    return true;
  } else if constexpr (is_std_optional<T>::value) {
    if (!value.has_value()) {
      append_tag(out, compact_tag::null);
      return true;
    }
    return compact_of<typename T::value_type>(out, *value);
  } else if constexpr (is_std_tuple<T>::value) {
    append_tag(out, compact_tag::list);
    append_varint(out, std::tuple_size_v<T>);
    return std::apply([&](const auto&... item) { return (compact_of<std::remove_cvref_t<decltype(item)>>(out, item) && ...); },
                      value);
  } else {
    return false;
  }
}

/// Starts a compact body whose value is an object of `members` members: the caller
/// appends each with append_compact_name and a value.
inline void begin_compact_object(std::string& out, std::size_t members) {
  out += compact_marker;
  append_tag(out, compact_tag::object);
  append_varint(out, members);
}

/// An object member's name; false if its text needs escapes.
inline bool append_compact_name(std::string& out, std::string_view name) {
  if (!is_plain_text(name)) return false;
  append_varint(out, name.size());
  out += name;
  return true;
}

/// Whether `bytes` (an object's bytes as stored) is a compact body.
inline bool is_compact(std::string_view bytes) { return !bytes.empty() && bytes.front() == compact_marker; }

/// The JSON text of a compact body (the marker included). A body that is not one — cut
/// short, an unknown tag, a count larger than what follows, nested too deep, bytes
/// after the value — throws loom::error naming what and at which byte.
std::string compact_to_json_text(std::string_view body);

}  // namespace loom::detail
