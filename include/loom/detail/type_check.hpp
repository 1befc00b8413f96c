// Which C++ types may cross a task boundary, and why the others may not.
//
// The check is a pure type-level computation (no static_assert inside), so that a
// caller can report exactly one readable error naming the offending type: nested
// types are searched and the innermost unsupported one is reported.
#pragma once

#include <boost/hana/accessors.hpp>
#include <boost/hana/concept/struct.hpp>
#include <boost/hana/second.hpp>
#include <boost/hana/unpack.hpp>

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <tuple>
#include <type_traits>
#include <vector>

namespace loom::detail {

enum class type_problem {
  none,
  pointer,        // addresses mean nothing in another process or on another host
  reference,      // values are copied between nodes; a reference would dangle
  qualified,      // const/volatile: values are owned by the executor
  character,      // `char` is ambiguous; a character is a std::string of size 1
  not_copyable,   // a value may feed several nodes, so it must be copyable
  unknown_class,  // no literal encoding known: describe the struct with Boost.Hana
  needs_codegen,  // a plain struct or an enum: its encoding is generated (loom_generate)
  map_key,        // map keys are strings in the literal encoding (JSON objects)
  other,          // arrays, functions, void, unions, enums without an encoding
};

template <class T>
struct is_std_vector : std::false_type {};
template <class T, class A>
struct is_std_vector<std::vector<T, A>> : std::true_type {};

template <class T>
struct is_std_map : std::false_type {};
template <class K, class V, class C, class A>
struct is_std_map<std::map<K, V, C, A>> : std::true_type {};

template <class T>
struct is_std_optional : std::false_type {};
template <class T>
struct is_std_optional<std::optional<T>> : std::true_type {};

template <class T>
struct is_std_tuple : std::false_type {};
template <class... T>
struct is_std_tuple<std::tuple<T...>> : std::true_type {};

template <class T>
inline constexpr bool is_character_v =
    std::is_same_v<T, char> || std::is_same_v<T, signed char> || std::is_same_v<T, unsigned char> ||
    std::is_same_v<T, wchar_t> || std::is_same_v<T, char8_t> || std::is_same_v<T, char16_t> ||
    std::is_same_v<T, char32_t>;

template <class T>
inline constexpr bool is_integer_v = std::is_integral_v<T> && !std::is_same_v<T, bool> && !is_character_v<T>;

template <class T>
inline constexpr bool is_record_v = boost::hana::Struct<T>::value;

/// Whether this translation unit gets generated code: loom_generate() defines
/// LOOM_GENERATED for its target, and loom-codegen parses with LOOM_CODEGEN. Only then
/// are plain structs and enums task values (their encodings come from loom-codegen).
#if defined(LOOM_GENERATED) || defined(LOOM_CODEGEN)
inline constexpr bool generated_codecs_available = true;
#else
inline constexpr bool generated_codecs_available = false;
#endif

/// A type whose literal encoding and descriptor come from loom-codegen: an enum, or a
/// plain aggregate struct that is not a Boost.Hana record.
template <class T>
inline constexpr bool is_generated_v =
    std::is_enum_v<T> || (std::is_class_v<T> && std::is_aggregate_v<T> && !is_record_v<T>);

/// The result of checking a type: `problem` is none when T is a task value;
/// otherwise `offending` is the innermost type that is not.
template <class Offending, type_problem Problem>
struct type_verdict {
  using offending = Offending;
  static constexpr type_problem problem = Problem;
};
using type_ok = type_verdict<void, type_problem::none>;

template <class T>
struct check_type;

template <class... Ts>
struct first_problem {
  using type = type_ok;
};
template <class T, class... Ts>
struct first_problem<T, Ts...> {
  using type = std::conditional_t<check_type<T>::type::problem != type_problem::none, typename check_type<T>::type,
                                  typename first_problem<Ts...>::type>;
};

template <class T>
struct record_member_types {
  template <class... Pairs>
  static auto of(Pairs... pairs)
      -> first_problem<std::remove_cvref_t<decltype(boost::hana::second(pairs)(std::declval<T&>()))>...>;
  using type = typename decltype(boost::hana::unpack(boost::hana::accessors<T>(), [](auto... p) {
    return of(p...);
  }))::type;
};

template <class T>
struct check_type {
  static auto compute() {
    if constexpr (std::is_reference_v<T>) {
      return type_verdict<T, type_problem::reference>{};
    } else if constexpr (std::is_const_v<T> || std::is_volatile_v<T>) {
      return type_verdict<T, type_problem::qualified>{};
    } else if constexpr (std::is_pointer_v<T> || std::is_member_pointer_v<T> || std::is_null_pointer_v<T>) {
      return type_verdict<T, type_problem::pointer>{};
    } else if constexpr (std::is_same_v<T, bool> || is_integer_v<T> || std::is_floating_point_v<T> ||
                         std::is_same_v<T, std::string>) {
      return type_ok{};
    } else if constexpr (is_character_v<T>) {
      return type_verdict<T, type_problem::character>{};
    } else if constexpr (is_std_vector<T>::value || is_std_optional<T>::value) {
      return typename check_type<typename T::value_type>::type{};
    } else if constexpr (is_std_map<T>::value) {
      if constexpr (!std::is_same_v<typename T::key_type, std::string>) {
        return type_verdict<T, type_problem::map_key>{};
      } else {
        return typename check_type<typename T::mapped_type>::type{};
      }
    } else if constexpr (is_std_tuple<T>::value) {
      return []<class... E>(std::tuple<E...>*) { return typename first_problem<E...>::type{}; }(
          static_cast<T*>(nullptr));
    } else if constexpr (std::is_enum_v<T>) {
      // The enumerators' names are the encoding: only loom-codegen can see them.
      if constexpr (generated_codecs_available) {
        return type_ok{};
      } else {
        return type_verdict<T, type_problem::needs_codegen>{};
      }
    } else if constexpr (std::is_class_v<T> && !std::is_union_v<T>) {
      if constexpr (!std::is_copy_constructible_v<T>) {
        return type_verdict<T, type_problem::not_copyable>{};
      } else if constexpr (is_record_v<T>) {
        return typename record_member_types<T>::type{};
      } else if constexpr (std::is_aggregate_v<T>) {
        // Its fields are checked by loom-codegen, which reports a field it cannot
        // serialize with the field's file:line:col.
        if constexpr (generated_codecs_available) {
          return type_ok{};
        } else {
          return type_verdict<T, type_problem::needs_codegen>{};
        }
      } else {
        return type_verdict<T, type_problem::unknown_class>{};
      }
    } else {
      return type_verdict<T, type_problem::other>{};
    }
  }
  using type = decltype(compute());
};

template <class T>
inline constexpr bool is_task_value_v = check_type<T>::type::problem == type_problem::none;

}  // namespace loom::detail

namespace loom {
/// A type that may be a task's input or output.
template <class T>
concept task_value = detail::is_task_value_v<T>;
}  // namespace loom
