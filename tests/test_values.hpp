// Values as the store keeps them, for tests: the JSON text a value's literal encoding
// dumps to, and a node's single output in the compact form of a pack record
// (loom/detail/compact_value.hpp).
#pragma once

#include <loom/detail/any_value.hpp>
#include <loom/detail/compact_value.hpp>

#include <catch2/catch.hpp>

#include <nlohmann/json.hpp>

#include <string>
#include <string_view>

namespace loom_test {

/// `value`'s literal encoding, dumped: the text json_text_of must write.
template <class T>
std::string dumped(const T& value) {
  loom::json j;
  loom::detail::encode_to<T>(j, value);
  return j.dump();
}

/// `value` as the single output `name` of a node, in a compact body (as the recorder
/// keeps it for a compact sub-DAG's node).
template <class T>
std::string compact_body(const T& value, std::string_view name = "o0") {
  std::string body;
  loom::detail::begin_compact_object(body, 1);
  REQUIRE(loom::detail::append_compact_name(body, name));
  REQUIRE(loom::detail::compact_of<T>(body, value));
  return body;
}

}  // namespace loom_test
