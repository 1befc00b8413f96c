// loom/detail/map_runner.hpp — how the items of a map node run (loom/map.hpp), type-
// erased per task: the executor, and a futures file's reader in another process, know
// which inputs are mapped only at run time. Registered with every task
// (entity_info::map).
#pragma once

#include <loom/detail/any_value.hpp>
#include <loom/detail/signature.hpp>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

namespace loom::detail {

/// Runs the items of a map node of task E, type-erased (entity_info::map): the executor
/// and a futures file's reader know the mapped inputs only at run time.
struct map_ops {
  /// The length of the list an input holds (a std::vector of the input's type).
  std::size_t (*list_size)(std::size_t input, const any_value& list);
  /// Per output, a std::vector<std::optional<R>> of `n` empty items.
  void (*make_outputs)(std::size_t n, any_value* outputs);
  /// Runs item k: element k of a mapped input's list, the value of a bound one; its
  /// results go to element k of each output list. Throws what the task throws.
  void (*run_item)(const void* entity, const any_value* inputs, std::uint64_t mapped, std::size_t k,
                   any_value* outputs);
  /// The output list as the node's result: std::vector<std::optional<R>> for a partial
  /// map, else std::vector<R> (every item is there).
  any_value (*finish_output)(std::size_t output, any_value& list, bool partial);
};

template <class E>
struct map_runner {
  using inputs = typename E::inputs;
  using outputs = typename E::outputs;

  /// Item k's argument I, by reference (by value for bool: std::vector<bool> has no
  /// elements to refer to).
  template <std::size_t I>
  using argument_t = std::conditional_t<std::is_same_v<type_at_t<I, inputs>, bool>, bool, const type_at_t<I, inputs>&>;

  template <std::size_t I>
  static argument_t<I> argument(const any_value* in, std::uint64_t mapped, std::size_t k) {
    using P = type_at_t<I, inputs>;
    if ((mapped >> I) & 1U) return in[I].template get<std::vector<P>>()[k];
    return in[I].template get<P>();
  }

  static std::size_t list_size(std::size_t input, const any_value& list) {
    std::size_t size = 0;
    [&]<std::size_t... I>(std::index_sequence<I...>) {
      ((input == I ? (size = list.template get<std::vector<type_at_t<I, inputs>>>().size(), 0) : 0), ...);
    }(std::make_index_sequence<E::arity>{});
    return size;
  }

  static void make_outputs(std::size_t n, any_value* out) {
    [&]<class... R, std::size_t... O>(type_list<R...>, std::index_sequence<O...>) {
      (out[O].template emplace<std::vector<std::optional<R>>>(n), ...);
    }(outputs{}, std::make_index_sequence<E::output_count>{});
  }

  static void run_item(const void* entity, const any_value* in, std::uint64_t mapped, std::size_t k, any_value* out) {
    const E& e = *static_cast<const E*>(entity);
    auto result = [&]<std::size_t... I>(std::index_sequence<I...>) {
      return std::invoke(e.function(), argument<I>(in, mapped, k)...);
    }(std::make_index_sequence<E::arity>{});
    if constexpr (E::output_count == 1) {
      out[0].template get<std::vector<std::optional<type_at_t<0, outputs>>>>()[k].emplace(std::move(result));
    } else {
      [&]<std::size_t... O>(std::index_sequence<O...>) {
        (out[O].template get<std::vector<std::optional<type_at_t<O, outputs>>>>()[k].emplace(
             std::move(std::get<O>(result))),
         ...);
      }(std::make_index_sequence<E::output_count>{});
    }
  }

  static any_value finish_output(std::size_t output, any_value& list, bool partial) {
    any_value result;
    [&]<class... R, std::size_t... O>(type_list<R...>, std::index_sequence<O...>) {
      auto finish = [&]<class T>(std::type_identity<T>) {
        auto& items = list.template get<std::vector<std::optional<T>>>();
        if (partial) {
          result = any_value::of<std::vector<std::optional<T>>>(std::move(items));
          return;
        }
        std::vector<T> whole;
        whole.reserve(items.size());
        for (auto& item : items) whole.push_back(std::move(*item));
        result = any_value::of<std::vector<T>>(std::move(whole));
      };
      ((output == O ? (finish(std::type_identity<R>{}), 0) : 0), ...);
    }(outputs{}, std::make_index_sequence<E::output_count>{});
    return result;
  }

  static constexpr map_ops ops{&list_size, &make_outputs, &run_item, &finish_output};
};

}  // namespace loom::detail
