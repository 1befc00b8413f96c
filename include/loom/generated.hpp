// loom/generated.hpp — what the code that loom-codegen generates builds on. It is
// included by the generated code only (loom_generate appends that code to each
// translation unit of the target): do not include it yourself.
//
// For every plain struct and enum reachable from an entity's signature, the generated
// code specializes detail::generated_codec<T> (encode, decode, descriptor); the
// function templates declared by detail/codec.hpp and type_descriptor.hpp are defined here
// in terms of it. It also registers every entity with its input names (the parameter
// names) and defaults (the default arguments).
#pragma once

#include <loom/detail/any_value.hpp>
#include <loom/error.hpp>
#include <loom/literal.hpp>
#include <loom/registry.hpp>
#include <loom/type_descriptor.hpp>

#include <string>
#include <type_traits>
#include <vector>

namespace loom::detail {

/// Specialized by the generated code for each plain struct and enum.
template <class T>
struct generated_codec;

/// Whether the generated code of this translation unit has T's codec. (Checked where the
/// function templates below are instantiated: at the end of the translation unit, after
/// the generated code.)
template <class T>
concept has_generated_codec = requires { sizeof(generated_codec<T>); };

template <class T>
constexpr void check_generated_codec() {
  static_assert(has_generated_codec<T>,
                "loom: no generated serializer for T (see 'T = ...' below) in this translation unit: "
                "loom-codegen writes one for each plain struct or enum reachable from the signature of a task or "
                "workflow this translation unit defines or includes; use the type in one of them");
}

template <class T>
json generated_encode(const T& value) {
  check_generated_codec<T>();
  if constexpr (has_generated_codec<T>) return generated_codec<T>::encode(value);
  return {};
}

template <class T>
void generated_encode_to(json& out, const T& value) {
  out = generated_encode<T>(value);
}

template <class T>
T generated_decode(const json& j, const value_path& path) {
  check_generated_codec<T>();
  if constexpr (has_generated_codec<T>) {
    return generated_codec<T>::decode(j, path);
  } else {
    return T{};
  }
}

template <class T>
type_descriptor generated_descriptor() {
  check_generated_codec<T>();
  if constexpr (has_generated_codec<T>) return generated_codec<T>::descriptor();
  return {};
}

/// One field of a generated record encoder.
template <class M>
void encode_field(json& out, const char* name, const M& member) {
  encode_to<M>(out[name], member);
}

/// An enum value that no enumerator names (e.g. a cast integer) has no encoding.
template <class E>
error unnamed_enumerator(const char* enum_name, E value) {
  return error("value " + std::to_string(static_cast<std::underlying_type_t<E>>(value)) + " of enum " + enum_name +
               " has no enumerator name, so it cannot be written");
}

template <class E>
const std::string& enumerator_name(const json& j, const value_path& path) {
  if (!j.is_string()) wrong_shape<E>(j, path);
  return j.get_ref<const std::string&>();
}

template <class E>
literal_error unknown_enumerator(const std::string& name, const value_path& path) {
  std::string names;
  for (const auto& n : describe<E>().field_names()) names += (names.empty() ? "" : ", ") + n;
  return literal_error(path.to_string(), "'" + name + "' is not an enumerator of " + describe<E>().record_name() +
                                             " (one of " + names + ")");
}

/// Registers an entity with what loom-codegen read from its source: its input names
/// and, per input, a function making its default value (null when it has none).
template <class E>
void register_generated(const E& entity, std::vector<std::string> input_names, std::vector<default_fn> defaults) {
  registry::global().set_generated(&entity_type_tag<E>, {std::move(input_names), std::move(defaults)});
  register_entities(entity);
}

}  // namespace loom::detail
