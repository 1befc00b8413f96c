// src/any_value.cpp — a type-erased task value's literal encoding
// (loom/detail/any_value.hpp), compiled once.
#include <loom/detail/any_value.hpp>

#include <nlohmann/json.hpp>

namespace loom::detail {

LOOM_FUNC json any_value::to_json() const {
  json out;
  ops_->encode(out, address());
  return out;
}

LOOM_FUNC void any_value::append_json_text(std::string& out) const {
  const std::size_t size = out.size();
  if (ops_->json_text(out, address())) return;
  out.resize(size);  // (a type or a value without a quick text)
  out += to_json().dump();
}

}  // namespace loom::detail
