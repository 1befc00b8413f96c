// loom/task.hpp — `loom::task<"name">(callable)`: a named, typed function. Its
// parameters are its inputs; its result is its output (a std::tuple result is several
// outputs, o0, o1, ...). Called with native values, it simply runs.
#pragma once

#include <loom/entity.hpp>
#include <loom/error.hpp>

#include <functional>
#include <tuple>
#include <utility>

namespace loom {

struct task_kind {};

namespace detail {

/// A parameter `const T&`, `T&&` or `T` is an input of type T; a mutable reference
/// stays a reference so that the type check reports it.
template <class P>
using input_of_parameter =
    std::conditional_t<std::is_lvalue_reference_v<P> && !std::is_const_v<std::remove_reference_t<P>>, P,
                       std::remove_cvref_t<P>>;

template <class Signature, bool Known = Signature::known>
struct task_interface_of {
  using type = interface<type_list<>, type_list<>>;
};
template <class Signature>
struct task_interface_of<Signature, true> {
  template <class... P>
  static auto inputs_of(type_list<P...>) -> type_list<input_of_parameter<P>...>;
  using result = typename Signature::result;
  using outputs = std::conditional_t<std::is_void_v<result>, type_list<>,
                                     typename outputs_of_result<std::conditional_t<std::is_reference_v<result>, result,
                                                                                   std::remove_cv_t<result>>>::type>;
  using type = interface<decltype(inputs_of(typename Signature::params{})), outputs>;
};

template <class Fn>
struct interface_of<task_kind, Fn> : task_interface_of<signature_of<Fn>>::type {};

/// The arguments of a call, completed with default values, as the input types.
template <std::size_t I, class E, class Given>
decltype(auto) argument_or_default(const E& e, Given& given) {
  using input_type = type_at_t<I, typename E::inputs>;
  if constexpr (I < std::tuple_size_v<Given>) {
    return input_type(std::forward<std::tuple_element_t<I, Given>>(std::get<I>(given)));
  } else {
    return e.template default_value<I>();
  }
}

template <class E, class... Args, std::size_t... I>
auto complete_arguments(const E& e, std::index_sequence<I...>, Args&&... args) {
  [[maybe_unused]] auto given = std::forward_as_tuple(std::forward<Args>(args)...);
  return std::tuple<type_at_t<I, typename E::inputs>...>(argument_or_default<I>(e, given)...);
}

/// How a native call runs, per kind of entity (specialized by workflow and dynamic).
template <class Kind>
struct native_runner;

template <>
struct native_runner<task_kind> {
  template <class E, class... Args>
  static typename E::result_type run(const E& e, Args&&... args) {
    return std::apply(e.function(),
                      complete_arguments(e, std::make_index_sequence<E::arity>{}, std::forward<Args>(args)...));
  }
};

}  // namespace detail

template <class Kind, fixed_string Name, class Fn, class Defaults>
template <class... Args>
constexpr auto entity<Kind, Name, Fn, Defaults>::operator()(Args&&... args) const -> result_type {
  if constexpr (!detail::check_call<entity, true, Args...>()) {
    // check_call has reported the error. Returning a value (rather than throwing) keeps
    // the compile-time plan of an enclosing workflow body from adding a second error.
    if constexpr (std::is_default_constructible_v<result_type>) {
      return result_type{};
    } else {
      throw error("unreachable: ill-formed call");
    }
  } else {
    return detail::native_runner<Kind>::run(*this, std::forward<Args>(args)...);
  }
}

/// Makes a task from a lambda, a function object or a function pointer.
///
///     inline constexpr auto return_index = loom::task<"return_index">(
///         [](std::string character) -> std::int64_t { ... });
///
/// Every parameter and the result must be task values (see loom::task_value).
template <fixed_string Name, class Fn>
constexpr auto task(Fn fn) {
  using name = detail::name_chars<Name>;
  using signature = detail::signature_of<Fn>;
  using result = entity<task_kind, Name, Fn, typename detail::no_defaults<
                                                 detail::interface_of<task_kind, Fn>::arity>::type>;
  if constexpr (!signature::known) {
    detail::report::generic_task_callable<name>();
  } else if constexpr (std::is_void_v<typename signature::result>) {
    detail::report::task_returns_void<name>();
  } else {
    detail::check_interface_types<name, typename result::inputs, typename result::outputs>();
  }
  return result(std::move(fn));
}

}  // namespace loom
