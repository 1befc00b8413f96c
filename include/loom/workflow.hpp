// loom/workflow.hpp — static workflows. The body is evaluated by the compiler:
// `loom::plan_of(wf)` is a constant expression (nodes, bindings, edges, topological
// order), and every misuse in the body is a compile error. At run time the same body
// is evaluated once more against a recording builder to capture literal values and
// invokers; the result is cached per workflow.
#pragma once

#include <loom/detail/graph.hpp>
#include <loom/detail/graph_recorder.hpp>
#include <loom/entity.hpp>
#include <loom/error.hpp>
#include <loom/map.hpp>
#include <loom/task.hpp>
#include <loom/when.hpp>

#include <array>
#include <cstdint>
#include <string_view>
#include <tuple>
#include <vector>

namespace loom {

struct workflow_kind {};
class workflow_builder;

namespace detail {

template <class Body, class = void>
struct body_signature : signature_of_member<decltype(&Body::template operator()<workflow_builder>)> {};
template <class Body>
struct body_signature<Body, std::void_t<decltype(&Body::operator())>> : signature_of<Body> {};

/// The outputs of a body result: promise<R> → (R); tuple<promise<R>...> → (R...).
template <class Result>
struct promised_outputs {
  static constexpr bool valid = false;
  using type = type_list<>;
};
template <class R>
struct promised_outputs<promise<R>> {
  static constexpr bool valid = true;
  using type = type_list<R>;
};
template <class... R>
struct promised_outputs<std::tuple<promise<R>...>> {
  static constexpr bool valid = true;
  using type = type_list<R...>;
};

template <class P>
struct promised_input {
  static constexpr bool valid = false;
  using type = P;
};
template <class A>
struct promised_input<promise<A>> {
  static constexpr bool valid = true;
  using type = A;
};

template <class Params>
struct body_inputs;
template <class Builder, class... P>
struct body_inputs<type_list<Builder, P...>> {
  using type = type_list<typename promised_input<std::remove_cvref_t<P>>::type...>;
  static constexpr std::size_t first_invalid = [] {
    const bool ok[] = {true, promised_input<std::remove_cvref_t<P>>::valid...};
    for (std::size_t i = 1; i <= sizeof...(P); ++i) {
      if (!ok[i]) return i - 1;
    }
    return sizeof...(P);
  }();
  using params = type_list<std::remove_cvref_t<P>...>;
};

/// A body of the form loom::workflow accepts: promise parameters, promise result(s).
template <class Body>
inline constexpr bool body_is_well_formed =
    body_inputs<typename body_signature<Body>::params>::first_invalid ==
        body_inputs<typename body_signature<Body>::params>::params::size &&
    promised_outputs<std::remove_cvref_t<typename body_signature<Body>::result>>::valid;

template <class Body>
struct interface_of_body
    : interface<typename body_inputs<typename body_signature<Body>::params>::type,
                typename promised_outputs<std::remove_cvref_t<typename body_signature<Body>::result>>::type> {};

template <class Body>
struct interface_of<workflow_kind, Body> : interface_of_body<Body> {};

// ---- the compile-time plan -------------------------------------------------------

struct plan_node {
  node_kind kind = node_kind::task;
  std::string_view name;
  std::uint32_t first_binding = 0;
  std::uint32_t input_count = 0;
  std::uint32_t output_count = 0;
  std::uint32_t guard = 0;  // inside a branch of a wf.when: its branch node, and which side
  branch_side side = branch_side::none;
};

struct plan_binding {
  source_kind from = source_kind::none;
  std::uint32_t node = 0;
  std::uint32_t index = 0;
};

struct plan_edge {
  std::uint32_t from_node = 0;
  std::uint32_t from_output = 0;
  std::uint32_t to_node = 0;
  std::uint32_t to_input = 0;  // guard_input: from a branch node to a node of its branch
};

inline constexpr std::uint32_t guard_input = 0xFFFFFFFFU;

template <class E>
const graph& graph_of();

template <>
struct node_kind_of<workflow_kind> {
  static constexpr node_kind value = node_kind::workflow;
};

}  // namespace detail

/// The builder a static workflow's body receives. `wf(entity, args...)` adds a node
/// and returns its output as a promise (a std::tuple of promises for several outputs).
/// Arguments are promises of the parameter's type, or native values convertible to
/// it (bound as literals).
class workflow_builder {
 public:
  constexpr workflow_builder() = default;
  explicit workflow_builder(detail::graph& g) : graph_(&g) {}

  template <class E, class... Args>
  constexpr auto operator()(const E& e, Args&&... args) {
    if constexpr (!is_entity_v<E>) {
      detail::report::not_a_task<E>();
      return promise<int>{};
    } else if constexpr (!detail::check_call<E, false, Args...>() || !detail::has_task_value_interface<E>) {
      // The error is reported (by the call check, or where E was made): recording the
      // node would only add errors about E's unsupported types.
      return output_promises<E>(0);
    } else {
      return output_promises<E>(add_node(e, std::forward<Args>(args)...));
    }
  }

  /// `wf.map(task, args...)`: the task over the items of lists, as one node
  /// (loom/map.hpp), as in a dynamic body; options (map_options, partial_map_options)
  /// go last. Its mapped arguments are decided from the types, so the plan knows them.
  template <class E, class... Args>
  constexpr auto map(const E& e, Args&&... args) {
    return detail::with_map_options(
        [&]<class Options, class... Rest>(const Options& options, Rest&&... rest) constexpr {
          constexpr bool partial = std::is_same_v<Options, partial_map_options>;
          if constexpr (!detail::check_map<E, Options, Rest...>()) {
            return detail::map_stand_in<E, Options>();  // reported
          } else if (graph_ == nullptr) {
            return detail::map_output_promises<E, partial>(
                add_plan_node<E>(detail::node_kind::map, std::forward<Rest>(rest)...));
          } else {
            return record_map_node(e, options, std::forward<Rest>(rest)...);
          }
        },
        std::forward<Args>(args)...);
  }

  /// `wf.when(cond, then_fn, else_fn)` (loom/when.hpp): `cond` a promise<bool>; each
  /// branch a callable taking the builder and returning promises (of the same types in
  /// both). Both branches are in the graph; only the one `cond` selects runs, and the
  /// result is its promises.
  template <class Cond, class Then, class Else>
  constexpr auto when(const Cond& cond, Then then_fn, Else else_fn) {
    using then_result = typename detail::branch_result<Then, workflow_builder>::type;
    if constexpr (!detail::check_when<workflow_builder, Cond, Then, Else>()) {
      if constexpr (detail::promised_outputs<then_result>::valid) {
        return then_result{};  // reported
      } else {
        return promise<int>{};
      }
    } else {
      using else_result = typename detail::branch_result<Else, workflow_builder>::type;
      const detail::promise_ref condition = detail::checked_ref(cond);
      const std::uint32_t branch = add_when_node(&detail::branch_info, &condition, 1);
      const std::uint32_t outer_guard = guard_;
      const detail::branch_side outer_side = side_;
      guard_ = branch;
      side_ = detail::branch_side::then_side;
      const then_result from_then = then_fn(*this);
      side_ = detail::branch_side::else_side;
      const else_result from_else = else_fn(*this);
      guard_ = outer_guard;
      side_ = outer_side;
      const auto then_refs = detail::refs_of(from_then);
      const auto else_refs = detail::refs_of(from_else);
      constexpr std::size_t n = then_refs.size();
      std::array<detail::promise_ref, 1 + 2 * n> inputs{};
      inputs[0] = {detail::source_kind::node_output, branch, 0};
      for (std::size_t o = 0; o < n; ++o) {
        inputs[1 + o] = then_refs[o];
        inputs[1 + n + o] = else_refs[o];
      }
      return detail::merge_promises<then_result>(
          add_when_node(&detail::merge_info_of<then_result>, inputs.data(), inputs.size()));
    }
  }

  // The recording of the compile-time plan (used only while the compiler evaluates
  // the body; empty at run time).
  std::vector<detail::plan_node> plan_nodes;
  std::vector<detail::plan_binding> plan_bindings;
  std::vector<detail::plan_binding> plan_items;  // the items of collection bindings
  std::uint32_t plan_literals = 0;

 private:
  template <class E>
  static constexpr auto output_promises(std::uint32_t node) {
    return []<class... Out, std::size_t... I>(std::uint32_t n, detail::type_list<Out...>, std::index_sequence<I...>) {
      if constexpr (sizeof...(Out) == 1) {
        return detail::promise_access::make<Out...>({source_kind_output(), n, 0});
      } else {
        return std::tuple<promise<Out>...>{
            detail::promise_access::make<Out>({source_kind_output(), n, static_cast<std::uint32_t>(I)})...};
      }
    }(node, typename E::outputs{}, std::make_index_sequence<E::output_count>{});
  }
  static constexpr detail::source_kind source_kind_output() { return detail::source_kind::node_output; }

  template <class E, class... Args>
  constexpr std::uint32_t add_node(const E& e, Args&&... args) {
    if (graph_ == nullptr) return add_plan_node<E>(detail::node_kind_of<typename E::kind>::value, std::forward<Args>(args)...);
    return guarded(detail::graph_recorder(*graph_).add_node(e, std::forward<Args>(args)...));
  }

  /// The branch or merge node of a wf.when (their names come from `info` at run time,
  /// and are fixed in the plan, which cannot hold a registry entry).
  constexpr std::uint32_t add_when_node(const detail::entity_info& (*info)(), const detail::promise_ref* inputs,
                                        std::size_t count) {
    if (graph_ != nullptr) return detail::add_when_node(*graph_, info(), inputs, count, guard_, side_);
    const auto index = static_cast<std::uint32_t>(plan_nodes.size());
    const bool branch = count == 1;
    plan_nodes.push_back({branch ? detail::node_kind::branch : detail::node_kind::merge,
                          branch ? "loom.when" : "loom.when.merge", static_cast<std::uint32_t>(plan_bindings.size()),
                          static_cast<std::uint32_t>(count), static_cast<std::uint32_t>(branch ? 1 : (count - 1) / 2),
                          guard_, side_});
    for (std::size_t k = 0; k < count; ++k) plan_bindings.push_back({inputs[k].kind, inputs[k].node, inputs[k].index});
    return index;
  }

  /// A node just recorded is inside the branch being recorded, if any.
  constexpr std::uint32_t guarded(std::uint32_t index) {
    if (side_ == detail::branch_side::none) return index;
    if (graph_ == nullptr) {
      plan_nodes[index].guard = guard_;
      plan_nodes[index].side = side_;
    } else {
      graph_->nodes[index].guard = guard_;
      graph_->nodes[index].side = side_;
    }
    return index;
  }

  template <class E, class Options, class... Args>
  auto record_map_node(const E& e, const Options& options, Args&&... args) {
    detail::graph_recorder recorder(*graph_);
    auto result = detail::record_map(recorder, e, options, std::forward<Args>(args)...);
    guarded(static_cast<std::uint32_t>(graph_->nodes.size() - 1));
    return result;
  }

  /// Records a node of the compile-time plan: its kind, and a binding per input.
  template <class E, class... Args>
  constexpr std::uint32_t add_plan_node(detail::node_kind kind, Args&&... args) {
    const auto index = static_cast<std::uint32_t>(plan_nodes.size());
    plan_nodes.push_back(
        {kind, E::name, static_cast<std::uint32_t>(plan_bindings.size()), E::arity, E::output_count, guard_, side_});
    [&]<std::size_t... I>(std::index_sequence<I...>) {
      auto given = std::forward_as_tuple(std::forward<Args>(args)...);
      (plan_bindings.push_back(plan_binding_of<I>(given)), ...);
    }(std::make_index_sequence<E::arity>{});
    return index;
  }

  template <std::size_t I, class Given>
  constexpr detail::plan_binding plan_binding_of(Given& given) {
    if constexpr (I < std::tuple_size_v<Given>) {
      using arg = std::remove_cvref_t<std::tuple_element_t<I, Given>>;
      if constexpr (is_promise_v<arg>) {
        const auto ref = detail::checked_ref(std::get<I>(given));
        return {ref.kind, ref.node, ref.index};
      } else if constexpr (detail::promise_collection<arg>::value) {
        static_assert(detail::is_std_vector<arg>::value,
                      "loom: a map of promises cannot be built while the compiler evaluates a static workflow "
                      "(std::map is not constexpr in C++20); use it in a dynamic workflow, or pass a vector");
        // A collection: `node` is its first item in plan_items, `index` the count.
        const auto first = static_cast<std::uint32_t>(plan_items.size());
        for (const auto& item : std::get<I>(given)) {
          const auto ref = detail::checked_ref(item);
          plan_items.push_back({ref.kind, ref.node, ref.index});
        }
        return {detail::source_kind::collection, first, static_cast<std::uint32_t>(plan_items.size() - first)};
      }
    }
    return {detail::source_kind::literal, 0, plan_literals++};
  }

  detail::graph* graph_ = nullptr;
  std::uint32_t guard_ = 0;  // while a branch of a wf.when is recorded: its branch node and side
  detail::branch_side side_ = detail::branch_side::none;
};

/// The compile-time plan of a static workflow.
template <std::size_t Nodes, std::size_t Bindings, std::size_t Items, std::size_t Edges, std::size_t Outputs>
struct plan {
  std::string_view name;
  std::size_t input_count = 0;
  std::size_t literal_count = 0;
  std::array<detail::plan_node, Nodes> nodes{};
  /// Per node input: an input, a node output, a literal, or a collection whose
  /// items are items[node, node + index).
  std::array<detail::plan_binding, Bindings> bindings{};
  std::array<detail::plan_binding, Items> items{};
  std::array<detail::plan_edge, Edges> edges{};
  std::array<std::uint32_t, Nodes> order{};  // a topological order of the nodes
  std::array<detail::plan_binding, Outputs> outputs{};

  [[nodiscard]] constexpr std::size_t size() const { return Nodes; }
  [[nodiscard]] constexpr std::size_t edge_count() const { return Edges; }
  /// The binding of input `input` of node `node`.
  [[nodiscard]] constexpr const detail::plan_binding& binding_of(std::size_t node, std::size_t input) const {
    return bindings[nodes[node].first_binding + input];
  }
};

struct workflow_kind;

namespace detail {

template <class E>
constexpr auto invoke_body(workflow_builder& b) {
  using body = typename E::function_type;
  if constexpr (!body_is_well_formed<body>) {
    return std::tuple<>{};  // loom::workflow has reported the error: no second one from the plan
  } else {
    return []<class... P, std::size_t... I>(workflow_builder & builder, type_list<P...>, std::index_sequence<I...>) {
      return body{}(builder, promise_access::make<typename P::value_type>(
                                 {source_kind::input, 0, static_cast<std::uint32_t>(I)})...);
    }(b, typename body_inputs<typename body_signature<body>::params>::params{}, std::make_index_sequence<E::arity>{});
  }
}

template <class Result>
constexpr void collect_outputs(const Result& result, auto&& sink) {
  if constexpr (is_promise_v<Result>) {
    sink(promise_access::ref(result));
  } else {
    std::apply([&](const auto&... p) { (sink(promise_access::ref(p)), ...); }, result);
  }
}

struct plan_sizes {
  std::size_t nodes, bindings, items, edges, outputs;
};

template <class E>
consteval plan_sizes sizes_of_plan() {
  workflow_builder b;
  const auto result = invoke_body<E>(b);
  std::size_t edges = 0;
  for (const auto& binding : b.plan_bindings) edges += binding.from == source_kind::node_output ? 1 : 0;
  for (const auto& item : b.plan_items) edges += item.from == source_kind::node_output ? 1 : 0;
  for (const auto& node : b.plan_nodes) edges += node.side != branch_side::none ? 1 : 0;
  return {b.plan_nodes.size(), b.plan_bindings.size(), b.plan_items.size(), edges, E::output_count};
  (void)result;
}

template <class E>
consteval auto make_plan() {
  constexpr plan_sizes sizes = sizes_of_plan<E>();
  plan<sizes.nodes, sizes.bindings, sizes.items, sizes.edges, sizes.outputs> p;
  workflow_builder b;
  const auto result = invoke_body<E>(b);
  p.name = E::name;
  p.input_count = E::arity;
  p.literal_count = b.plan_literals;
  for (std::size_t i = 0; i < sizes.nodes; ++i) p.nodes[i] = b.plan_nodes[i];
  for (std::size_t i = 0; i < sizes.bindings; ++i) p.bindings[i] = b.plan_bindings[i];
  for (std::size_t i = 0; i < sizes.items; ++i) p.items[i] = b.plan_items[i];
  std::size_t e = 0;
  for (std::uint32_t n = 0; n < sizes.nodes; ++n) {
    if (p.nodes[n].side != branch_side::none) p.edges[e++] = {p.nodes[n].guard, 0, n, guard_input};
    for (std::uint32_t in = 0; in < p.nodes[n].input_count; ++in) {
      const auto& binding = p.binding_of(n, in);
      if (binding.from == source_kind::node_output) p.edges[e++] = {binding.node, binding.index, n, in};
      if (binding.from == source_kind::collection) {
        for (std::uint32_t k = binding.node; k < binding.node + binding.index; ++k) {
          if (p.items[k].from == source_kind::node_output) p.edges[e++] = {p.items[k].node, p.items[k].index, n, in};
        }
      }
    }
  }
  std::size_t o = 0;
  collect_outputs(result, [&](promise_ref ref) { p.outputs[o++] = {ref.kind, ref.node, ref.index}; });
  // Kahn's algorithm over the edges grouped by producer (linear: the compiler pays
  // for every step of a constant evaluation).
  std::array<std::uint32_t, sizes.nodes> waiting{};
  std::array<std::uint32_t, sizes.nodes + 1> first_out{};
  std::array<std::uint32_t, sizes.edges> consumers{};
  for (const auto& edge : p.edges) {
    ++waiting[edge.to_node];
    ++first_out[edge.from_node + 1];
  }
  for (std::size_t n = 0; n < sizes.nodes; ++n) first_out[n + 1] += first_out[n];
  std::array<std::uint32_t, sizes.nodes + 1> fill = first_out;
  for (const auto& edge : p.edges) consumers[fill[edge.from_node]++] = edge.to_node;
  std::size_t placed = 0;
  for (std::uint32_t n = 0; n < sizes.nodes; ++n) {
    if (waiting[n] == 0) p.order[placed++] = n;
  }
  for (std::size_t next = 0; next < placed; ++next) {
    const auto n = p.order[next];
    for (auto k = first_out[n]; k < first_out[n + 1]; ++k) {
      if (--waiting[consumers[k]] == 0) p.order[placed++] = consumers[k];
    }
  }
  return p;
}

template <class E>
struct plan_holder {
  static constexpr auto value = make_plan<E>();
};

/// The executable graph of a static workflow, built once.
template <class E>
const graph& graph_of() {
  static const graph g = [] {
    graph built;
    built.name = std::string(E::name);
    built.input_count = E::arity;
    workflow_builder b(built);
    const auto result = invoke_body<E>(b);
    collect_outputs(result, [&](promise_ref ref) { built.outputs.push_back({ref.kind, ref.node, ref.index, 0}); });
    built.finalize();
    return built;
  }();
  return g;
}

}  // namespace detail

/// The compile-time plan of a static workflow: `static_assert(plan_of(wf).size() == 1)`.
template <class E>
  requires std::is_same_v<typename E::kind, workflow_kind>
consteval const auto& plan_of(const E&) {
  return detail::plan_holder<E>::value;
}

/// Makes a static workflow from a body `[](auto& wf, loom::promise<A> a, ...) { ... }`.
/// The body must be a lambda without captures (the compiler evaluates it).
template <fixed_string Name, class Body>
constexpr auto workflow(Body body) {
  using name = detail::name_chars<Name>;
  using E = entity<workflow_kind, Name, Body,
                   typename detail::no_defaults<detail::interface_of<workflow_kind, Body>::arity>::type>;
  using signature = detail::body_signature<Body>;
  using inputs = detail::body_inputs<typename signature::params>;
  using result = std::remove_cvref_t<typename signature::result>;
  if constexpr (inputs::first_invalid < inputs::params::size) {
    detail::report::workflow_body_parameter_not_a_promise<
        name, inputs::first_invalid, detail::type_at_t<inputs::first_invalid, typename inputs::params>>();
  } else if constexpr (!detail::promised_outputs<result>::valid) {
    detail::report::workflow_body_result_not_promises<name, result>();
  } else {
    detail::check_interface_types<name, typename E::inputs, typename E::outputs>();
  }
  return E(std::move(body));
}

}  // namespace loom
