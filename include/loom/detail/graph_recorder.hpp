// Records nodes into a graph at run time: what `wf(entity, args...)` does in a static
// workflow body evaluated at run time, and in every dynamic workflow body. Arguments
// become bindings: promises refer to node outputs or inputs, collections of promises
// become collection bindings, native values become literals. Its non-template part is
// compiled once into loom::runtime (src/graph_recorder.cpp).
#pragma once

#include <loom/detail/config.hpp>
#include <loom/detail/graph.hpp>
#include <loom/detail/registry.hpp>
#include <loom/entity.hpp>
#include <loom/error.hpp>
#include <loom/promise.hpp>
#include <loom/task.hpp>

#include <cstdint>
#include <functional>
#include <string_view>
#include <tuple>
#include <utility>

namespace loom::detail {

template <>
struct node_kind_of<task_kind> {
  static constexpr node_kind value = node_kind::task;
};

/// Runs a task node: takes its inputs, calls the function, stores its outputs.
template <class E>
struct task_invoker {
  static void run(const void* entity, node_io& io) {
    const E& e = *static_cast<const E*>(entity);
    using inputs = typename E::inputs;
    auto result = [&]<std::size_t... I>(std::index_sequence<I...>) {
      return std::invoke(e.function(), io.template take<type_at_t<I, inputs>>(I)...);
    }(std::make_index_sequence<E::arity>{});
    if constexpr (E::output_count == 1) {
      io.put(0, std::move(result));
    } else {
      [&]<std::size_t... I>(std::index_sequence<I...>) {
        (io.put(I, std::move(std::get<I>(result))), ...);
      }(std::make_index_sequence<E::output_count>{});
    }
  }
};

template <class T>
constexpr promise_ref checked_ref(const promise<T>& p) {
  const auto ref = promise_access::ref(p);
  if (ref.kind == source_kind::none) {
    throw error("loom: an unbound (default-constructed) promise was passed to wf(task, ...) or returned");
  }
  return ref;
}

class graph_recorder {
 public:
  explicit graph_recorder(graph& g) : graph_(&g) {}

  [[nodiscard]] graph& target() const { return *graph_; }

  /// Adds a node for `e` with arguments already checked by check_call.
  template <class E, class... Args>
  std::uint32_t add_node(const E& e, Args&&... args) {
    [[maybe_unused]] auto given = std::forward_as_tuple(std::forward<Args>(args)...);
    return add_node_bound(e, [&]<std::size_t I>(std::integral_constant<std::size_t, I>) {
      using input_type = type_at_t<I, typename E::inputs>;
      if constexpr (I < sizeof...(Args)) {
        return bind<input_type>(std::forward<std::tuple_element_t<I, std::remove_reference_t<decltype(given)>>>(std::get<I>(given)));
      } else {
        return literal<input_type>(e.template default_value<I>());
      }
    });
  }

  /// Adds a node for `e` whose input I is bound by `bind_input(integral_constant<I>)`.
  template <class E, class BindInput>
  std::uint32_t add_node_bound(const E& e, BindInput&& bind_input) {
    const entity_info& info = registered(e);
    // Literals and collections are appended while binding: bind all, then store.
    return [&]<std::size_t... I>(std::index_sequence<I...>) {
      const binding bound[] = {binding{}, bind_input(std::integral_constant<std::size_t, I>{})...};
      return append_node(node_kind_of<typename E::kind>::value, E::name, &e, info, E::output_count, bound + 1, E::arity);
    }(std::make_index_sequence<E::arity>{});
  }

  /// Appends a node with its input bindings (add_node_bound's non-template part,
  /// src/graph_recorder.cpp); returns its index.
  std::uint32_t append_node(node_kind kind, std::string_view name, const void* entity, const entity_info& info,
                            std::uint32_t output_count, const binding* inputs, std::uint32_t input_count);

  /// Appends a literal value; its binding.
  binding add_literal(any_value value);

  /// A collection binding for a list or map of type T from a range of promises
  /// (or of (key, promise) pairs for a map).
  template <class T, class Range>
  binding collection_binding(const Range& promises) {
    graph& g = *graph_;
    collection c;
    c.first_item = static_cast<std::uint32_t>(g.items.size());
    c.item_count = static_cast<std::uint32_t>(std::size(promises));
    c.first_key = static_cast<std::uint32_t>(g.keys.size());
    c.is_map = is_std_map<T>::value;
    c.assemble = &assemble_erased<T>;
    g.items.reserve(g.items.size() + std::size(promises));
    for (const auto& item : promises) {
      if constexpr (is_std_map<T>::value) {
        g.keys.push_back(item.first);
        const auto ref = checked_ref(item.second);
        g.items.push_back({ref.kind, ref.node, ref.index, 0});
      } else {
        const auto ref = checked_ref(item);
        g.items.push_back({ref.kind, ref.node, ref.index, 0});
      }
    }
    const auto index = static_cast<std::uint32_t>(g.collections.size());
    g.collections.push_back(c);
    return {source_kind::collection, 0, index, 0};
  }

  template <class T>
  binding literal(T value) {
    return add_literal(any_value::of<T>(std::move(value)));
  }

  /// The binding of a value of type T given as `arg`: a promise, a collection of
  /// promises, or a native value (a literal).
  template <class T, class Arg>
  binding bind(Arg&& arg) {
    using A = std::remove_cvref_t<Arg>;
    if constexpr (is_promise_v<A>) {
      const auto ref = checked_ref(arg);
      return {ref.kind, ref.node, ref.index, 0};
    } else if constexpr (promise_collection<A>::value) {
      return collection_binding<T>(arg);
    } else {
      return literal<T>(T(std::forward<Arg>(arg)));
    }
  }

 private:
  graph* graph_;
};

}  // namespace loom::detail
