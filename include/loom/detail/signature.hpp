// Reading the signature of a callable: its parameter types and its result.
#pragma once

#include <tuple>
#include <type_traits>

namespace loom::detail {

template <class... T>
struct type_list {
  static constexpr std::size_t size = sizeof...(T);
};

template <std::size_t I, class List>
struct type_at;
template <std::size_t I, class... T>
struct type_at<I, type_list<T...>> {
  using type = std::tuple_element_t<I, std::tuple<T...>>;
};
template <std::size_t I, class List>
using type_at_t = typename type_at<I, List>::type;

template <class Result, class... Params>
struct signature {
  using result = Result;
  using params = type_list<Params...>;
  static constexpr bool known = true;
};

struct unknown_signature {
  static constexpr bool known = false;
};

template <class F>
struct signature_of_member;
#define LOOM_MEMBER_SIGNATURE(qualifiers)                                  \
  template <class C, class R, class... A>                                  \
  struct signature_of_member<R (C::*)(A...) qualifiers> : signature<R, A...> {};
LOOM_MEMBER_SIGNATURE()
LOOM_MEMBER_SIGNATURE(const)
LOOM_MEMBER_SIGNATURE(noexcept)
LOOM_MEMBER_SIGNATURE(const noexcept)
#undef LOOM_MEMBER_SIGNATURE

/// signature_of<F>: for function pointers, functions and callables with one
/// non-template operator(); `known` is false otherwise (generic lambdas, overloads).
template <class F, class = void>
struct signature_of : unknown_signature {};
template <class R, class... A>
struct signature_of<R (*)(A...), void> : signature<R, A...> {};
template <class R, class... A>
struct signature_of<R (*)(A...) noexcept, void> : signature<R, A...> {};
template <class R, class... A>
struct signature_of<R(A...), void> : signature<R, A...> {};
template <class F>
struct signature_of<F, std::void_t<decltype(&F::operator())>> : signature_of_member<decltype(&F::operator())> {};

}  // namespace loom::detail
