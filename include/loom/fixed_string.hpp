// loom/fixed_string.hpp — compile-time string used as a template argument
// (`loom::task<"name">`). Names live in the type so that diagnostics and the
// compile-time plan can refer to them without any run-time storage.
#pragma once

#include <algorithm>
#include <cstddef>
#include <string_view>
#include <utility>

namespace loom {

template <std::size_t N>
struct fixed_string {
  char value[N]{};
  static constexpr std::size_t length = N - 1;

  constexpr fixed_string(const char (&text)[N]) { std::copy_n(text, N, value); }  // NOLINT: implicit by design

  [[nodiscard]] constexpr std::string_view view() const { return {value, N - 1}; }
  [[nodiscard]] static constexpr std::size_t size() { return N - 1; }
};

namespace diagnostic {
// A name spelled as characters: both g++ and clang++ print `name<'a', 'd', 'd'>`
// readably inside an error, whereas a fixed_string prints as character codes on clang.
template <char... C>
struct name {};
}  // namespace diagnostic

namespace detail {
template <fixed_string S, std::size_t... I>
auto name_chars_impl(std::index_sequence<I...>) -> diagnostic::name<S.value[I]...>;

template <fixed_string S>
using name_chars = decltype(name_chars_impl<S>(std::make_index_sequence<S.size()>{}));
}  // namespace detail

}  // namespace loom
