// loom/dynamic.hpp — dynamic workflows: `loom::dynamic<"name">(body)`. The body runs at
// run time with materialized inputs; every `wf(entity, args...)` inside it is deferred
// and returns a promise, so the body's result is a whole sub-DAG (the futures file's
// content), which the executor then runs. A dynamic workflow is a node like any task:
// it can be called from static workflows, from other dynamic workflows, recursively.
#pragma once

#include <loom/detail/diagnostics.hpp>
#include <loom/detail/graph.hpp>
#include <loom/detail/graph_recorder.hpp>
#include <loom/entity.hpp>
#include <loom/map.hpp>
#include <loom/promise.hpp>
#include <loom/task.hpp>

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <tuple>
#include <vector>

namespace loom {

struct dynamic_kind {};
class dynamic_builder;

namespace detail {

template <>
struct node_kind_of<dynamic_kind> {
  static constexpr node_kind value = node_kind::dynamic;
};

/// What one element of a dynamic body's result promises: promise<T> → T; a vector or
/// map of promises → the vector or map of values.
template <class R>
struct promised_value {
  static constexpr bool valid = false;
  using type = R;
};
template <class T>
struct promised_value<promise<T>> {
  static constexpr bool valid = true;
  using type = T;
};
template <class T, class A>
struct promised_value<std::vector<promise<T>, A>> {
  static constexpr bool valid = true;
  using type = std::vector<T>;
};
template <class T, class C, class A>
struct promised_value<std::map<std::string, promise<T>, C, A>> {
  static constexpr bool valid = true;
  using type = std::map<std::string, T>;
};

template <class R>
struct dynamic_result {
  static constexpr bool valid = promised_value<R>::valid;
  using outputs = type_list<typename promised_value<R>::type>;
};
template <class... R>
struct dynamic_result<std::tuple<R...>> {
  static constexpr bool valid = (promised_value<R>::valid && ...);
  using outputs = type_list<typename promised_value<R>::type...>;
};

template <class Signature, bool Known = Signature::known>
struct dynamic_signature {
  static constexpr bool takes_builder = false;
  static constexpr bool valid_result = false;
  using result = void;
  using type = interface<type_list<>, type_list<>>;
};
template <class Signature>
struct dynamic_signature<Signature, true> {
  template <class B, class... P>
  static auto split(type_list<B, P...>) -> std::pair<B, type_list<input_of_parameter<P>...>>;
  static auto split(type_list<>) -> std::pair<void, type_list<>>;
  using params = decltype(split(typename Signature::params{}));
  static constexpr bool takes_builder = std::is_same_v<typename params::first_type, dynamic_builder&>;
  using result = std::remove_cvref_t<typename Signature::result>;
  static constexpr bool valid_result = dynamic_result<result>::valid;
  using type = interface<typename params::second_type, typename dynamic_result<result>::outputs>;
};

template <class Fn>
struct interface_of<dynamic_kind, Fn> : dynamic_signature<signature_of<Fn>>::type {};

/// One argument of `wf(entity, ...)` in a call that holds a braced list, such as
/// `wf(join, {wf(a, x), wf.literal(std::string("static"))})`: a braced list has no type
/// of its own, so each argument is converted to the parameter's own argument type.
/// The argument refers to objects that live until the end of the full expression.
template <class E, std::size_t I, bool InRange = (I < E::arity)>
class call_argument {
 public:
  template <class A>
  call_argument(A&&) {  // NOLINT: converting by design; reported by the call
  }
  binding bind(graph_recorder&) const { return {}; }
};

template <class E, std::size_t I>
class call_argument<E, I, true> {
  using param = type_at_t<I, typename E::inputs>;
  template <class P>
  struct element_of {
    using type = void;
  };
  template <class T>
  struct element_of<std::vector<T>> {
    using type = promise<T>;
  };
  template <class T>
  struct element_of<std::map<std::string, T>> {
    using type = std::pair<const std::string, promise<T>>;
  };
  using element = typename element_of<param>::type;
  using list_element = std::conditional_t<std::is_void_v<element>, promise<param>, element>;

 public:
  template <class A>
  call_argument(A&& a)  // NOLINT: converting by design
      : object_(const_cast<void*>(static_cast<const void*>(std::addressof(a)))), bind_(&bind_object<A>) {
    if constexpr (judge_argument<param, A, false>() == argument_verdict::wrong_type) {
      report::wrong_argument_type<typename E::diagnostic_name, I, param, std::remove_cvref_t<A>>();
    }
  }

  /// `{p1, p2, ...}` for a list parameter, `{{"k", p}, ...}` for a map parameter.
  call_argument(std::initializer_list<list_element> list)  // NOLINT: converting by design
      : list_(list) {
    if constexpr (std::is_void_v<element>) {
      report::wrong_argument_type<typename E::diagnostic_name, I, param, std::initializer_list<list_element>>();
    }
  }

  binding bind(graph_recorder& r) const {
    if (bind_ != nullptr) return bind_(r, object_);
    return r.collection_binding<param>(list_);
  }

 private:
  template <class A>
  static binding bind_object(graph_recorder& r, void* object) {
    return r.bind<param>(std::forward<A>(*static_cast<std::remove_reference_t<A>*>(object)));
  }

  void* object_ = nullptr;
  binding (*bind_)(graph_recorder&, void*) = nullptr;
  std::initializer_list<list_element> list_{};
};

template <class E, std::size_t I>
using call_argument_t = std::type_identity_t<call_argument<E, I>>;

}  // namespace detail

/// The builder a dynamic workflow's body receives. `wf(entity, args...)` records a
/// deferred call and returns its output as a promise; `wf.literal(v)` binds a value.
class dynamic_builder {
 public:
  explicit dynamic_builder(detail::graph& g) : recorder_(g) {}

  template <class E, class... Args>
  auto operator()(const E& e, Args&&... args) {
    if constexpr (!is_entity_v<E>) {
      detail::report::not_a_task<E>();
      return promise<int>{};
    } else if constexpr (!detail::check_call<E, false, Args...>() || !detail::has_task_value_interface<E>) {
      // The error is reported (by the call check, or where E was made): recording the
      // node would only add errors about E's unsupported types.
      return output_promises<E>(0);
    } else {
      return output_promises<E>(recorder_.add_node(e, std::forward<Args>(args)...));
    }
  }

  /// `wf.map(task, args...)`: the task over the items of lists, as one node
  /// (loom/map.hpp). An argument of the parameter's type is bound to every item, a list
  /// of it is mapped; options (map_options, partial_map_options) go last.
  template <class E, class... Args>
  auto map(const E& e, Args&&... args) {
    return detail::record_map_call(recorder_, e, std::forward<Args>(args)...);
  }

  // Calls holding a braced list (`wf(join, {p1, p2})`): each argument converts to the
  // parameter's argument type. Up to 8 arguments.
  template <class E>
  auto operator()(const E& e, detail::call_argument_t<E, 0> a0) {
    return call_with<E>(e, a0);
  }
  template <class E>
  auto operator()(const E& e, detail::call_argument_t<E, 0> a0, detail::call_argument_t<E, 1> a1) {
    return call_with<E>(e, a0, a1);
  }
  template <class E>
  auto operator()(const E& e, detail::call_argument_t<E, 0> a0, detail::call_argument_t<E, 1> a1,
                  detail::call_argument_t<E, 2> a2) {
    return call_with<E>(e, a0, a1, a2);
  }
  template <class E>
  auto operator()(const E& e, detail::call_argument_t<E, 0> a0, detail::call_argument_t<E, 1> a1,
                  detail::call_argument_t<E, 2> a2, detail::call_argument_t<E, 3> a3) {
    return call_with<E>(e, a0, a1, a2, a3);
  }
  template <class E>
  auto operator()(const E& e, detail::call_argument_t<E, 0> a0, detail::call_argument_t<E, 1> a1,
                  detail::call_argument_t<E, 2> a2, detail::call_argument_t<E, 3> a3,
                  detail::call_argument_t<E, 4> a4) {
    return call_with<E>(e, a0, a1, a2, a3, a4);
  }
  template <class E>
  auto operator()(const E& e, detail::call_argument_t<E, 0> a0, detail::call_argument_t<E, 1> a1,
                  detail::call_argument_t<E, 2> a2, detail::call_argument_t<E, 3> a3,
                  detail::call_argument_t<E, 4> a4, detail::call_argument_t<E, 5> a5) {
    return call_with<E>(e, a0, a1, a2, a3, a4, a5);
  }

  /// A promise bound to a literal value (a string literal gives a std::string).
  template <class T>
  auto literal(T&& value) {
    using V = std::conditional_t<std::is_convertible_v<T, std::string_view> && !std::is_same_v<std::remove_cvref_t<T>, std::string>,
                                 std::string, std::remove_cvref_t<T>>;
    if constexpr (!task_value<V>) {
      // One error naming the type (recording the literal would add more).
      static_assert(diagnostic::unsupported_type<diagnostic::got<V>,
                                                 diagnostic::offending_type<typename detail::check_type<V>::type::offending>>,
                    "loom: wf.literal(v) needs a task value type (see loom::task_value): got<T> is not one, "
                    "because of offending_type<T>");
      return promise<V>{};
    } else {
      const auto b = recorder_.literal<V>(V(std::forward<T>(value)));
      return detail::promise_access::make<V>({detail::source_kind::literal, 0, b.index});
    }
  }

  /// The number of nodes recorded so far.
  [[nodiscard]] std::size_t size() const { return recorder_.target().nodes.size(); }

 private:
  template <class E, class... Arguments>
  auto call_with(const E& e, const Arguments&... arguments) {
    constexpr std::size_t given = sizeof...(Arguments);
    if constexpr (given > E::arity) {
      detail::report::too_many_arguments<typename E::diagnostic_name, E::arity, given>();
      return output_promises<E>(0);
    } else if constexpr (constexpr std::size_t missing =
                             detail::first_missing_default<E, given>(std::make_index_sequence<E::arity>{});
                         missing < E::arity) {
      detail::report::missing_argument<typename E::diagnostic_name, missing,
                                       detail::type_at_t<missing, typename E::inputs>>();
      return output_promises<E>(0);
    } else if constexpr (!detail::has_task_value_interface<E>) {
      return output_promises<E>(0);  // reported where E was made
    } else {
      const auto bound = std::forward_as_tuple(arguments...);
      return output_promises<E>(
          recorder_.add_node_bound(e, [&]<std::size_t I>(std::integral_constant<std::size_t, I>) {
            if constexpr (I < given) {
              return std::get<I>(bound).bind(recorder_);
            } else {
              return recorder_.literal<detail::type_at_t<I, typename E::inputs>>(e.template default_value<I>());
            }
          }));
    }
  }

  template <class E>
  static auto output_promises(std::uint32_t node) {
    return []<class... Out, std::size_t... I>(std::uint32_t n, detail::type_list<Out...>, std::index_sequence<I...>) {
      if constexpr (sizeof...(Out) == 1) {
        return detail::promise_access::make<Out...>({detail::source_kind::node_output, n, 0});
      } else {
        return std::tuple<promise<Out>...>{detail::promise_access::make<Out>(
            {detail::source_kind::node_output, n, static_cast<std::uint32_t>(I)})...};
      }
    }(node, typename E::outputs{}, std::make_index_sequence<E::output_count>{});
  }

  template <class E>
  friend struct detail::dynamic_expander;

  detail::graph_recorder recorder_;
};

namespace detail {

/// Runs a dynamic node's body with its materialized inputs; the result is its sub-DAG.
template <class E>
struct dynamic_expander {
  static std::unique_ptr<graph> expand(const void* entity, node_io& io) {
    const E& e = *static_cast<const E*>(entity);
    auto g = std::make_unique<graph>();
    g->name = std::string(E::name);
    g->node_prefix = "dn";
    dynamic_builder b(*g);
    using inputs = typename E::inputs;
    auto result = [&]<std::size_t... I>(std::index_sequence<I...>) {
      return std::invoke(e.function(), b, io.template take<type_at_t<I, inputs>>(I)...);
    }(std::make_index_sequence<E::arity>{});
    using outputs = typename E::outputs;
    if constexpr (E::output_count == 1 && !is_std_tuple<decltype(result)>::value) {
      g->outputs.push_back(b.recorder_.template bind<type_at_t<0, outputs>>(result));
    } else {
      [&]<std::size_t... I>(std::index_sequence<I...>) {
        (g->outputs.push_back(b.recorder_.template bind<type_at_t<I, outputs>>(std::get<I>(result))), ...);
      }(std::make_index_sequence<E::output_count>{});
    }
    g->finalize();
    return g;
  }
};

}  // namespace detail

/// Makes a dynamic workflow from a body `(loom::dynamic_builder& wf, A a, ...)` returning
/// a promise, a vector or map of promises, or a std::tuple of those; a lambda or a
/// function pointer (for mutual recursion through forward-declared functions).
template <fixed_string Name, class Fn>
constexpr auto dynamic(Fn fn) {
  using name = detail::name_chars<Name>;
  using signature = detail::signature_of<Fn>;
  using sig = detail::dynamic_signature<signature>;
  using E = entity<dynamic_kind, Name, Fn,
                   typename detail::no_defaults<detail::interface_of<dynamic_kind, Fn>::arity>::type>;
  if constexpr (!signature::known) {
    detail::report::generic_task_callable<name>();
  } else if constexpr (!sig::takes_builder) {
    detail::report::dynamic_body_without_builder<name>();
  } else if constexpr (!sig::valid_result) {
    detail::report::dynamic_body_result_not_promises<name, typename sig::result>();
  } else {
    detail::check_interface_types<name, typename E::inputs, typename E::outputs>();
  }
  return E(std::move(fn));
}

}  // namespace loom
