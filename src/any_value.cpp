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

}  // namespace loom::detail
