// src/literal.cpp — the literal encoding's non-template code (loom/literal.hpp):
// paths inside values and the errors that name them, compiled once.
#include <loom/literal.hpp>

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

}  // namespace loom::detail
