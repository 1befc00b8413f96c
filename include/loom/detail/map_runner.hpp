// loom/detail/map_runner.hpp — how the items of a map node run (loom/map.hpp), type-
// erased per task: the executor, and a futures file's reader in another process, know
// which inputs are mapped only at run time. Registered with every task
// (entity_info::map).
#pragma once

#include <loom/detail/any_value.hpp>
#include <loom/detail/signature.hpp>
#include <loom/detail/codec.hpp>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

namespace loom::detail {

/// Runs the items of a map node of task E, type-erased (entity_info::map): the executor
/// and a futures file's reader know the mapped inputs only at run time.
///
/// The output lists are filled in place, item k by whichever thread runs it: a
/// std::vector<R> of n default values when R allows it (no copy at the end), else a
/// std::vector<std::optional<R>> (a partial map's result, a type without a default
/// constructor, and bool: std::vector<bool> packs bits, which two threads cannot write
/// at once).
struct map_ops {
  /// The length of the list an input holds (a std::vector of the input's type).
  std::size_t (*list_size)(std::size_t input, const any_value& list);
  /// Per output, a list of `n` items to fill.
  void (*make_outputs)(std::size_t n, bool partial, any_value* outputs);
  /// Runs item k: element k of a mapped input's list, the value of a bound one; its
  /// results go to element k of each output list. Throws what the task throws.
  void (*run_item)(const void* entity, const any_value* inputs, std::uint64_t mapped, std::size_t k, bool partial,
                   any_value* outputs);
  /// The output list as the node's result: std::vector<std::optional<R>> for a partial
  /// map, else std::vector<R> (every item is there).
  any_value (*finish_output)(std::size_t output, any_value& list, bool partial);
  /// Item k of an output list being filled, as a literal (a recorded run keeps the
  /// items done so far: a resumed map does not run them again).
  void (*item_literal)(json& out, std::size_t output, const any_value& list, std::size_t k, bool partial);
  /// Puts a literal read back from such a record as item k; throws literal_error.
  void (*put_literal)(std::size_t output, any_value& list, std::size_t k, bool partial, const json& literal,
                      std::string_view where);
};

template <class E>
struct map_runner {
  using inputs = typename E::inputs;
  using outputs = typename E::outputs;

  /// Whether a whole map's output list of R is filled as a std::vector<R> directly.
  template <class R>
  static constexpr bool direct = std::is_default_constructible_v<R> && !std::is_same_v<R, bool>;

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

  static void make_outputs(std::size_t n, bool partial, any_value* out) {
    [&]<class... R, std::size_t... O>(type_list<R...>, std::index_sequence<O...>) {
      auto make = [&]<class T>(any_value& list, std::type_identity<T>) {
        if (!partial && direct<T>) {
          if constexpr (direct<T>) list.template emplace<std::vector<T>>(n);
        } else {
          list.template emplace<std::vector<std::optional<T>>>(n);
        }
      };
      (make(out[O], std::type_identity<R>{}), ...);
    }(outputs{}, std::make_index_sequence<E::output_count>{});
  }

  template <class T>
  static void put(any_value& list, std::size_t k, bool partial, T&& value) {
    using R = std::remove_cvref_t<T>;
    if (!partial && direct<R>) {
      if constexpr (direct<R>) list.template get<std::vector<R>>()[k] = std::forward<T>(value);
    } else {
      list.template get<std::vector<std::optional<R>>>()[k].emplace(std::forward<T>(value));
    }
  }

  static void run_item(const void* entity, const any_value* in, std::uint64_t mapped, std::size_t k, bool partial,
                       any_value* out) {
    const E& e = *static_cast<const E*>(entity);
    auto result = [&]<std::size_t... I>(std::index_sequence<I...>) {
      // By reference when the function takes `const P&` or `P`; a parameter `P&&` gets
      // a copy of the item (the lists stay whole: another item, or a retry, reads them).
      if constexpr (std::is_invocable_v<decltype(e.function()), argument_t<I>...>) {
        return std::invoke(e.function(), argument<I>(in, mapped, k)...);
      } else {
        return std::invoke(e.function(), type_at_t<I, inputs>(argument<I>(in, mapped, k))...);
      }
    }(std::make_index_sequence<E::arity>{});
    if constexpr (E::output_count == 1) {
      put(out[0], k, partial, std::move(result));
    } else {
      [&]<std::size_t... O>(std::index_sequence<O...>) {
        (put(out[O], k, partial, std::move(std::get<O>(result))), ...);
      }(std::make_index_sequence<E::output_count>{});
    }
  }

  static any_value finish_output(std::size_t output, any_value& list, bool partial) {
    any_value result;
    [&]<class... R, std::size_t... O>(type_list<R...>, std::index_sequence<O...>) {
      auto finish = [&]<class T>(std::type_identity<T>) {
        if (!partial && direct<T>) {
          result = std::move(list);  // filled in place: the list is the result
          return;
        }
        auto& items = list.template get<std::vector<std::optional<T>>>();
        if (partial) {
          result = std::move(list);
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

  /// Calls f(std::type_identity<R>) for the type R of output `output`.
  template <class F>
  static void with_output_type(std::size_t output, F&& f) {
    [&]<class... R, std::size_t... O>(type_list<R...>, std::index_sequence<O...>) {
      ((output == O ? (f(std::type_identity<R>{}), 0) : 0), ...);
    }(outputs{}, std::make_index_sequence<E::output_count>{});
  }

  static void item_literal(json& out, std::size_t output, const any_value& list, std::size_t k, bool partial) {
    with_output_type(output, [&]<class T>(std::type_identity<T>) {
      if (!partial && direct<T>) {
        if constexpr (direct<T>) encode_to<T>(out, list.template get<std::vector<T>>()[k]);
      } else {
        const auto& item = list.template get<std::vector<std::optional<T>>>()[k];
        if (item) {
          encode_to<T>(out, *item);
        } else {
          encode_null(out);
        }
      }
    });
  }

  static void put_literal(std::size_t output, any_value& list, std::size_t k, bool partial, const json& literal,
                          std::string_view where) {
    with_output_type(output, [&]<class T>(std::type_identity<T>) {
      put(list, k, partial, decode<T>(literal, value_path{nullptr, value_path::step::root, where, 0}));
    });
  }

  static constexpr map_ops ops{&list_size, &make_outputs, &run_item, &finish_output, &item_literal, &put_literal};
};

}  // namespace loom::detail
