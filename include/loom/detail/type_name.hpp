// Human-readable C++ type names at run time, for record descriptors and messages.
#pragma once

#include <string_view>

namespace loom::detail {

template <class T>
constexpr std::string_view type_name() {
#if defined(__clang__)
  constexpr std::string_view fn = __PRETTY_FUNCTION__;
  constexpr std::string_view prefix = "T = ";
  constexpr auto first = fn.find(prefix) + prefix.size();
  constexpr auto last = fn.rfind(']');
#elif defined(__GNUC__)
  constexpr std::string_view fn = __PRETTY_FUNCTION__;
  constexpr std::string_view prefix = "T = ";
  constexpr auto first = fn.find(prefix) + prefix.size();
  constexpr auto last = fn.find_first_of(";]", first);
#else
#error "loom needs g++ or clang++"
#endif
  return fn.substr(first, last - first);
}

}  // namespace loom::detail
