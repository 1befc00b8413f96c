// src/strings.cpp — port names (loom/detail/strings.hpp), compiled once.
#include <loom/detail/strings.hpp>

#include <string>

namespace loom::detail {

LOOM_FUNC std::string positional_name(char prefix, std::size_t i) {
  std::string name(1, prefix);
  name += std::to_string(i);
  return name;
}

}  // namespace loom::detail
