// loom/when.hpp — conditionals in static workflows: `wf.when(cond, then_fn, else_fn)`.
//
// A static workflow's graph is fixed at compile time, so both branches are in it: the
// body records the then-branch and the else-branch (each a callable taking the builder
// and returning promises), between two nodes of the library's own:
//   - a branch node ("loom.when"), which reads `cond` and gives it as its output;
//     every node recorded inside a branch waits for it (graph_node::guard/side), and
//     runs only when its side is taken: the other side's nodes are skipped, and are
//     recorded as such ("skipped" in `loom show`);
//   - a merge node ("loom.when.merge<...>"), whose inputs are the decision, the
//     then-branch's results and the else-branch's results, and whose outputs are those
//     of the side taken: what wf.when returns.
// Both branches must return promises of the same types (a compile error otherwise).
// A value made inside a branch leaves it only as the branch's result (graph::
// check_branch_scopes). Dynamic workflows branch with an ordinary C++ `if`.
#pragma once

#include <loom/detail/diagnostics.hpp>
#include <loom/detail/graph.hpp>
#include <loom/detail/graph_recorder.hpp>
#include <loom/detail/registry.hpp>
#include <loom/detail/strings.hpp>
#include <loom/detail/type_descriptor.hpp>
#include <loom/promise.hpp>

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <tuple>
#include <type_traits>
#include <utility>

namespace loom::detail {

template <class Result>
struct promised_outputs;  // (loom/workflow.hpp)

/// What a branch returns when called with the builder B (void when it cannot be called).
template <class F, class B, class = void>
struct branch_result {
  using type = void;
};
template <class F, class B>
struct branch_result<F, B, std::enable_if_t<std::is_invocable_v<F&, B&>>> {
  using type = std::remove_cvref_t<std::invoke_result_t<F&, B&>>;
};

template <class... R>
struct merge_tag {};

/// Checks `wf.when(cond, then_fn, else_fn)` from the types; reports the first problem as
/// one compile error.
template <class B, class Cond, class Then, class Else>
constexpr bool check_when() {
  using then_result = typename branch_result<Then, B>::type;
  using else_result = typename branch_result<Else, B>::type;
  if constexpr (!std::is_same_v<std::remove_cvref_t<Cond>, promise<bool>>) {
    report::when_condition_not_bool<std::remove_cvref_t<Cond>>();
    return false;
  } else if constexpr (!promised_outputs<then_result>::valid) {
    report::when_branch_not_a_branch<diagnostic::then_branch,
                                     std::conditional_t<std::is_void_v<then_result>, Then, then_result>>();
    return false;
  } else if constexpr (!promised_outputs<else_result>::valid) {
    report::when_branch_not_a_branch<diagnostic::else_branch,
                                     std::conditional_t<std::is_void_v<else_result>, Else, else_result>>();
    return false;
  } else {
    return []<class... T, class... E>(type_list<T...>, type_list<E...>) {
      constexpr std::size_t n = sizeof...(T) > sizeof...(E) ? sizeof...(T) : sizeof...(E);
      using then_types = type_list<T..., diagnostic::no_output>;
      using else_types = type_list<E..., diagnostic::no_output>;
      constexpr std::size_t first_difference = []<std::size_t... I>(std::index_sequence<I...>) {
        const bool same[] = {true, std::is_same_v<type_at_t<(I < sizeof...(T) ? I : sizeof...(T)), then_types>,
                                                  type_at_t<(I < sizeof...(E) ? I : sizeof...(E)), else_types>>...};
        for (std::size_t i = 1; i <= sizeof...(I); ++i) {
          if (!same[i]) return i - 1;
        }
        return sizeof...(I);
      }(std::make_index_sequence<n>{});
      if constexpr (first_difference < n) {
        constexpr std::size_t t = first_difference < sizeof...(T) ? first_difference : sizeof...(T);
        constexpr std::size_t e = first_difference < sizeof...(E) ? first_difference : sizeof...(E);
        report::when_branches_disagree<first_difference, type_at_t<t, then_types>, type_at_t<e, else_types>>();
        return false;
      } else {
        return true;
      }
    }(typename promised_outputs<then_result>::type{}, typename promised_outputs<else_result>::type{});
  }
}

/// The promise references a branch returns, one per output (an unbound promise is an
/// error, as anywhere else).
template <class Result>
constexpr auto refs_of(const Result& result) {
  if constexpr (is_promise_v<Result>) {
    return std::array<promise_ref, 1>{checked_ref(result)};
  } else {
    return std::apply([](const auto&... p) { return std::array<promise_ref, sizeof...(p)>{checked_ref(p)...}; },
                      result);
  }
}

/// The promises of a merge node's outputs, of the type the branches return.
template <class Result>
constexpr Result merge_promises(std::uint32_t node) {
  if constexpr (is_promise_v<Result>) {
    return promise_access::make<typename Result::value_type>({source_kind::node_output, node, 0});
  } else {
    return [&]<std::size_t... I>(std::index_sequence<I...>) {
      return Result{promise_access::make<typename std::tuple_element_t<I, Result>::value_type>(
          {source_kind::node_output, node, static_cast<std::uint32_t>(I)})...};
    }(std::make_index_sequence<std::tuple_size_v<Result>>{});
  }
}

// The branch and merge entities are the library's own: they are not in the registry
// (nothing looks them up by name; a futures file's reader skips entities of these kinds),
// so two merges of C++ types that describe alike (int and std::int64_t are both
// "integer") are two entity_info objects of one name, which a registry would refuse.
inline std::unique_ptr<entity_info> builtin_entity(std::string name, node_kind kind, const void* tag) {
  auto info = std::make_unique<entity_info>();
  info->name = std::move(name);
  info->version = "1";
  info->kind = kind;
  info->type_tag = tag;
  return info;
}

template <class T>
void add_builtin_port(std::vector<port>& ports, std::vector<port_codec>& codecs, std::string name) {
  ports.push_back({std::move(name), describe<T>()});
  codecs.push_back(port_codec::of<T>());
}

/// The branch node's entity: input "cond", output "o0" (true: the then-branch runs).
inline const entity_info& branch_info() {
  static const std::unique_ptr<const entity_info> info = [] {
    static constexpr char tag = 0;
    auto i = builtin_entity("loom.when", node_kind::branch, &tag);
    add_builtin_port<bool>(i->interface.inputs, i->input_codecs, "cond");
    add_builtin_port<bool>(i->interface.outputs, i->output_codecs, "o0");
    i->defaults.push_back(nullptr);
    return std::unique_ptr<const entity_info>(std::move(i));
  }();
  return *info;
}

/// A merge node's entity, one per list of output types: inputs "cond", "then_o0"...,
/// "else_o0"...; outputs "o0"... (named after how its types describe).
template <class... R>
const entity_info& merge_info() {
  static const std::unique_ptr<const entity_info> info = [] {
    std::string name = "loom.when.merge<";
    ((name += describe<R>().to_string() + ","), ...);
    name.back() = '>';
    auto i = builtin_entity(std::move(name), node_kind::merge, &entity_type_tag<merge_tag<R...>>);
    add_builtin_port<bool>(i->interface.inputs, i->input_codecs, "cond");
    [&]<std::size_t... I>(std::index_sequence<I...>) {
      (add_builtin_port<R>(i->interface.inputs, i->input_codecs, "then_o" + std::to_string(I)), ...);
      (add_builtin_port<R>(i->interface.inputs, i->input_codecs, "else_o" + std::to_string(I)), ...);
      (add_builtin_port<R>(i->interface.outputs, i->output_codecs, positional_name('o', I)), ...);
    }(std::index_sequence_for<R...>{});
    i->defaults.assign(i->interface.inputs.size(), nullptr);
    return std::unique_ptr<const entity_info>(std::move(i));
  }();
  return *info;
}

template <class Result>
const entity_info& merge_info_of() {
  return []<class... R>(type_list<R...>) -> const entity_info& {
    return merge_info<R...>();
  }(typename promised_outputs<Result>::type{});
}

/// Adds the branch node or the merge node of a wf.when to a graph being recorded at
/// run time: `inputs` are its bindings (the condition; or the decision and the results).
inline std::uint32_t add_when_node(graph& g, const entity_info& info, const promise_ref* inputs, std::size_t count,
                                   std::uint32_t guard, branch_side side) {
  graph_node n;
  n.kind = info.kind;
  n.name = info.name;
  n.info = &info;
  n.first_input = static_cast<std::uint32_t>(g.bindings.size());
  n.input_count = static_cast<std::uint32_t>(count);
  n.output_count = static_cast<std::uint32_t>(info.interface.outputs.size());
  n.guard = guard;
  n.side = side;
  for (std::size_t k = 0; k < count; ++k) g.bindings.push_back({inputs[k].kind, inputs[k].node, inputs[k].index, 0});
  g.nodes.push_back(n);
  return static_cast<std::uint32_t>(g.nodes.size() - 1);
}

/// Whether the branch a node is in (if any) was taken: its branch node has decided, for
/// its side. A branch node that was itself skipped decided nothing: its slot is empty.
inline bool branch_taken(const graph& g, const graph_node& n, const any_value* slots) {
  if (n.side == branch_side::none) return true;
  const any_value& decision = slots[g.nodes[n.guard].first_slot];
  return decision.has_value() && decision.get<bool>() == (n.side == branch_side::then_side);
}

}  // namespace loom::detail
