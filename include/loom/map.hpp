// loom/map.hpp — map tasks: `wf.map(task, args...)` runs one task over the items of
// lists as ONE node, whatever the length: no node, no futures-file entry and no state
// row per item (the seed: a very large fan-out belongs in a map task, because a dynamic
// workflow pays for the metadata of every node).
//
// Which arguments are mapped is decided from the types, at compile time: for a
// parameter of type P, an argument of type P (a promise of P, a literal convertible to
// P) is bound to every item; an argument of type std::vector<P> (or a promise of it) is
// mapped, item k getting element k. So a parameter of type std::vector<int> given a
// std::vector<std::vector<int>> is mapped, and given a std::vector<int> is bound. At
// least one argument must be mapped; several mapped lists are zipped by index, and lists
// of different lengths fail the map with both lengths in the message.
//
// The result is a promise of a list per output: promise<std::vector<R>> (a tuple of
// them for a task with several outputs). Options, when given, are the last argument:
// map_options (every item must succeed) or partial_map_options (failures tolerated; the
// lists are then of std::optional<R>, empty where an item failed; known from the
// options' type, so at compile time).
#pragma once

#include <loom/detail/diagnostics.hpp>
#include <loom/detail/graph.hpp>
#include <loom/detail/graph_recorder.hpp>
#include <loom/detail/map_runner.hpp>
#include <loom/entity.hpp>
#include <loom/promise.hpp>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <limits>
#include <optional>
#include <string>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

namespace loom {

/// Every item must succeed (after its retries). `concurrency`: items in flight at once
/// (0: as many as the executor runs).
struct map_options {
  std::size_t concurrency = 0;
};

/// Failures are tolerated: the map fails only when fewer than ceil(min_success_ratio x n)
/// items succeed, or fewer than `min_successes` when it is set (it takes precedence).
/// The result lists hold std::optional values, empty for the items that failed.
struct partial_map_options {
  std::size_t concurrency = 0;
  double min_success_ratio = 1.0;
  std::optional<std::size_t> min_successes = std::nullopt;
};

namespace detail {

template <class T>
struct is_map_options : std::false_type {};
template <>
struct is_map_options<map_options> : std::true_type {};
template <>
struct is_map_options<partial_map_options> : std::true_type {};

/// How an argument of wf.map relates to the parameter it feeds.
enum class map_verdict { bound, mapped, wrong_type };

template <class Param, class Arg>
constexpr map_verdict judge_map_argument() {
  constexpr auto as_bound = judge_argument<Param, Arg, false>();
  if constexpr (as_bound != argument_verdict::wrong_type && as_bound != argument_verdict::promise_in_native_call) {
    return map_verdict::bound;
  } else {
    constexpr auto as_list = judge_argument<std::vector<Param>, Arg, false>();
    if constexpr (as_list != argument_verdict::wrong_type && as_list != argument_verdict::promise_in_native_call) {
      return map_verdict::mapped;
    } else {
      return map_verdict::wrong_type;
    }
  }
}

/// The mapped inputs of `wf.map(e, args...)` as a bit mask (args without the options).
template <class E, class... Args>
constexpr std::uint64_t mapped_mask() {
  return []<std::size_t... I>(std::index_sequence<I...>) {
    std::uint64_t mask = 0;
    ((mask |= (judge_map_argument<type_at_t<I, typename E::inputs>, Args>() == map_verdict::mapped ? 1ULL : 0ULL)
              << I),
     ...);
    return mask;
  }(std::make_index_sequence<sizeof...(Args)>{});
}

template <class E, class... Args>
constexpr std::size_t first_bad_map_argument() {
  return []<std::size_t... I>(std::index_sequence<I...>) {
    const bool ok[] = {true, (judge_map_argument<type_at_t<I, typename E::inputs>, Args>() != map_verdict::wrong_type)...};
    for (std::size_t i = 1; i <= sizeof...(Args); ++i) {
      if (!ok[i]) return i - 1;
    }
    return sizeof...(Args);
  }(std::make_index_sequence<sizeof...(Args)>{});
}

/// Checks `wf.map(e, args...)` (without the options); reports the first problem as one
/// compile error and returns false.
template <class E, class... Args>
constexpr bool check_map_call() {
  using name = typename E::diagnostic_name;
  constexpr std::size_t given = sizeof...(Args);
  if constexpr (node_kind_of<typename E::kind>::value != node_kind::task) {
    report::map_of_non_task<name>();
    return false;
  } else if constexpr (E::arity > 64) {
    report::map_of_task_with_too_many_inputs<name, E::arity>();
    return false;
  } else if constexpr (!check_argument_count<E, given>()) {
    return false;
  } else if constexpr (constexpr std::size_t bad = first_bad_map_argument<E, Args...>(); bad < given) {
    using param = type_at_t<bad, typename E::inputs>;
    report::map_argument_neither_item_nor_list<name, bad, param, std::remove_cvref_t<type_at_t<bad, type_list<Args...>>>>();
    return false;
  } else if constexpr (mapped_mask<E, Args...>() == 0) {
    report::map_without_list<name>();
    return false;
  } else {
    return true;
  }
}

template <class T>
struct is_optional : std::false_type {};
template <class T>
struct is_optional<std::optional<T>> : std::true_type {};

/// Checks the options of `wf.map(e, ..., options)`: a partial map of a task with an
/// optional output is refused (a failed item and a nullopt would look alike).
template <class E, class Options>
constexpr bool check_map_options() {
  if constexpr (std::is_same_v<Options, partial_map_options>) {
    return []<class... Out>(type_list<Out...>) {
      constexpr std::size_t bad = [] {
        const bool optional[] = {false, is_optional<Out>::value...};
        for (std::size_t o = 1; o <= sizeof...(Out); ++o) {
          if (optional[o]) return o - 1;
        }
        return sizeof...(Out);
      }();
      if constexpr (bad < sizeof...(Out)) {
        report::partial_map_of_optional_output<typename E::diagnostic_name, bad, type_at_t<bad, type_list<Out...>>>();
        return false;
      } else {
        return true;
      }
    }(typename E::outputs{});
  } else {
    return true;
  }
}

/// The value type of each output list: R, or std::optional<R> for a partial map.
template <class R, bool Partial>
using map_item_t = std::conditional_t<Partial, std::optional<R>, R>;

/// The promises of a map node's outputs: one list per output of the task.
template <class E, bool Partial>
constexpr auto map_output_promises(std::uint32_t node) {
  return []<class... Out, std::size_t... I>(std::uint32_t n, type_list<Out...>, std::index_sequence<I...>) {
    if constexpr (sizeof...(Out) == 1) {
      return promise_access::make<std::vector<map_item_t<Out, Partial>>...>({source_kind::node_output, n, 0});
    } else {
      return std::tuple<promise<std::vector<map_item_t<Out, Partial>>>...>{
          promise_access::make<std::vector<map_item_t<Out, Partial>>>(
              {source_kind::node_output, n, static_cast<std::uint32_t>(I)})...};
    }
  }(node, typename E::outputs{}, std::make_index_sequence<E::output_count>{});
}

inline map_spec spec_of(const map_options& o) {
  map_spec s;
  s.concurrency = o.concurrency;
  return s;
}
inline map_spec spec_of(const partial_map_options& o) {
  if (!(o.min_success_ratio >= 0.0 && o.min_success_ratio <= 1.0)) {
    throw error("loom: partial_map_options::min_success_ratio must be between 0 and 1, got " +
                std::to_string(o.min_success_ratio));
  }
  map_spec s;
  s.concurrency = o.concurrency;
  s.partial = true;
  s.min_success_ratio = o.min_success_ratio;
  // (Above INT64_MAX it is more than any list has items: kept as INT64_MAX, it still is.)
  if (o.min_successes) {
    s.min_successes = static_cast<std::int64_t>(
        std::min<std::size_t>(*o.min_successes, static_cast<std::size_t>(std::numeric_limits<std::int64_t>::max())));
  }
  return s;
}

/// The binding of input I of a map node: a list (mapped), a value (bound), or the
/// input's default.
template <class E, std::uint64_t Mask, class Given, std::size_t I>
binding bind_map_argument(graph_recorder& r, const E& e, Given& given) {
  using P = type_at_t<I, typename E::inputs>;
  if constexpr (I < std::tuple_size_v<Given>) {
    using A = std::tuple_element_t<I, Given>;
    if constexpr (((Mask >> I) & 1U) != 0) {
      return r.template bind<std::vector<P>>(std::forward<A>(std::get<I>(given)));
    } else {
      return r.template bind<P>(std::forward<A>(std::get<I>(given)));
    }
  } else {
    return r.template literal<P>(e.template default_value<I>());
  }
}

/// Records `wf.map(e, args...)` (the options already split off) into `r`'s graph.
/// Checks `wf.map(e, args..., options)` in either builder; reports the first problem as
/// one compile error and returns false.
template <class E, class Options, class... Args>
constexpr bool check_map() {
  if constexpr (!is_entity_v<E>) {
    report::not_a_task<E>();
    return false;
  } else if constexpr (!check_map_call<E, Args...>() || !check_map_options<E, Options>()) {
    return false;
  } else {
    return has_task_value_interface<E>;  // (if not, making E reported it)
  }
}

/// What `wf.map` returns after a reported error: promises of the right type (so that the
/// rest of the body adds no errors), bound to nothing.
template <class E, class Options>
constexpr auto map_stand_in() {
  if constexpr (!is_entity_v<E>) {
    return promise<int>{};
  } else {
    return map_output_promises<E, std::is_same_v<Options, partial_map_options>>(0);
  }
}

template <class E, class Options, class... Args>
auto record_map(graph_recorder& r, const E& e, const Options& options, Args&&... args) {
  constexpr bool partial = std::is_same_v<Options, partial_map_options>;
  if constexpr (!check_map<E, Options, Args...>()) {
    return map_stand_in<E, Options>();
  } else {
    map_spec spec = spec_of(options);
    spec.mapped = mapped_mask<E, Args...>();
    using given_t = std::tuple<Args&&...>;
    given_t given(std::forward<Args>(args)...);
    const std::uint32_t node = r.add_node_bound(e, [&]<std::size_t I>(std::integral_constant<std::size_t, I>) {
      return bind_map_argument<E, mapped_mask<E, Args...>(), given_t, I>(r, e, given);
    });
    graph& g = r.target();
    g.nodes[node].kind = node_kind::map;
    g.nodes[node].map = static_cast<std::uint32_t>(g.maps.size());
    g.maps.push_back(spec);
    return map_output_promises<E, partial>(node);
  }
}

/// Calls `f(options, args...)` with the options of `wf.map(e, args..., options)` split
/// off: the last argument when it is map_options or partial_map_options, else the
/// default map_options (shared by the static and the dynamic builder).
template <class F, class... Args>
constexpr auto with_map_options(F&& f, Args&&... args) {
  constexpr std::size_t n = sizeof...(Args);
  if constexpr (n > 0 && is_map_options<std::remove_cvref_t<type_at_t<n - 1, type_list<Args...>>>>::value) {
    auto all = std::forward_as_tuple(std::forward<Args>(args)...);
    return [&]<std::size_t... I>(std::index_sequence<I...>) {
      return f(std::get<n - 1>(all), std::forward<std::tuple_element_t<I, decltype(all)>>(std::get<I>(all))...);
    }(std::make_index_sequence<n - 1>{});
  } else {
    return f(map_options{}, std::forward<Args>(args)...);
  }
}

/// Records `wf.map(e, args...[, options])` into `r`'s graph.
template <class E, class... Args>
auto record_map_call(graph_recorder& r, const E& e, Args&&... args) {
  return with_map_options(
      [&](const auto& options, auto&&... rest) {
        return record_map(r, e, options, std::forward<decltype(rest)>(rest)...);
      },
      std::forward<Args>(args)...);
}

}  // namespace detail

}  // namespace loom
