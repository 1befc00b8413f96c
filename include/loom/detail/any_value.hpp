// A type-erased, owned task value. Small values live inline (no allocation), larger
// ones on the heap. Typed access is unchecked on the hot path: the graph builder has
// already proved every type, so the executor never guesses.
#pragma once

#include <loom/detail/codec.hpp>
#include <loom/detail/compact_value.hpp>
#include <loom/detail/type_descriptor.hpp>

#include <cassert>
#include <cstddef>
#include <new>
#include <string>
#include <type_traits>
#include <utility>

namespace loom::detail {

/// What the executor needs to know about a value type at run time.
struct value_ops {
  void (*destroy)(void* object) noexcept;
  void (*copy_to)(void* storage, const void* object, bool inline_storage);
  void (*move_inline)(void* storage, void* object) noexcept;  // inline types only
  void (*encode)(json& out, const void* object);  // the literal encoding
  bool (*json_text)(std::string& out, const void* object);  // its text, when quick (json_text_of)
  bool (*compact)(std::string& out, const void* object);    // its compact form, when it has one
  const type_descriptor& (*describe)();
  bool inline_storage;
};

inline constexpr std::size_t any_value_buffer = 32;

template <class T>
inline constexpr bool fits_inline =
    sizeof(T) <= any_value_buffer && alignof(T) <= alignof(std::max_align_t) && std::is_nothrow_move_constructible_v<T>;

template <class T>
inline constexpr value_ops ops_for{
    [](void* object) noexcept {
      if constexpr (fits_inline<T>) {
        static_cast<T*>(object)->~T();
      } else {
        delete static_cast<T*>(object);
      }
    },
    [](void* storage, const void* object, bool) {
      if constexpr (fits_inline<T>) {
        ::new (storage) T(*static_cast<const T*>(object));
      } else {
        *static_cast<T**>(storage) = new T(*static_cast<const T*>(object));
      }
    },
    [](void* storage, void* object) noexcept {
      if constexpr (fits_inline<T>) ::new (storage) T(std::move(*static_cast<T*>(object)));
    },
    [](json& out, const void* object) { encode_to<T>(out, *static_cast<const T*>(object)); },
    [](std::string& out, const void* object) { return json_text_of<T>(out, *static_cast<const T*>(object)); },
    [](std::string& out, const void* object) { return compact_of<T>(out, *static_cast<const T*>(object)); },
    []() -> const type_descriptor& { return describe<T>(); },
    fits_inline<T>,
};

class any_value {
 public:
  any_value() = default;
  any_value(const any_value& other) { copy_from(other); }
  any_value(any_value&& other) noexcept { steal(other); }
  any_value& operator=(const any_value& other) {
    if (this != &other) {
      reset();
      copy_from(other);
    }
    return *this;
  }
  any_value& operator=(any_value&& other) noexcept {
    if (this != &other) {
      reset();
      steal(other);
    }
    return *this;
  }
  ~any_value() { reset(); }

  template <class T, class... Args>
  T& emplace(Args&&... args) {
    reset();
    T* object;
    if constexpr (fits_inline<T>) {
      object = ::new (static_cast<void*>(buffer_)) T(std::forward<Args>(args)...);
    } else {
      object = new T(std::forward<Args>(args)...);
      heap_ = object;
    }
    ops_ = &ops_for<T>;
    return *object;
  }

  template <class T>
  static any_value of(T value) {
    any_value v;
    v.emplace<T>(std::move(value));
    return v;
  }

  [[nodiscard]] bool has_value() const { return ops_ != nullptr; }

  template <class T>
  [[nodiscard]] T& get() {
    assert(ops_ == &ops_for<T>);
    return *static_cast<T*>(address());
  }
  template <class T>
  [[nodiscard]] const T& get() const {
    assert(ops_ == &ops_for<T>);
    return *static_cast<const T*>(address());
  }

  /// The literal encoding of the value (src/any_value.cpp).
  [[nodiscard]] json to_json() const;
  /// Appends to_json().dump() to `out`, written directly when the type allows
  /// (json_text_of: no JSON document in between).
  void append_json_text(std::string& out) const;
  /// Appends the compact form of the value (loom/detail/compact_value.hpp); false if its
  /// type or the value has none (what was appended is the caller's to drop).
  bool append_compact(std::string& out) const { return ops_->compact(out, address()); }
  [[nodiscard]] const type_descriptor& descriptor() const { return ops_->describe(); }
  [[nodiscard]] const value_ops* ops() const { return ops_; }

  void reset() noexcept {
    if (ops_ != nullptr) {
      ops_->destroy(address());
      ops_ = nullptr;
      heap_ = nullptr;
    }
  }

 private:
  [[nodiscard]] void* address() { return ops_ != nullptr && !ops_->inline_storage ? heap_ : buffer_; }
  [[nodiscard]] const void* address() const {
    return ops_ != nullptr && !ops_->inline_storage ? heap_ : buffer_;
  }

  void copy_from(const any_value& other) {
    if (other.ops_ == nullptr) return;
    if (other.ops_->inline_storage) {
      other.ops_->copy_to(buffer_, other.buffer_, true);
    } else {
      other.ops_->copy_to(&heap_, other.heap_, false);
    }
    ops_ = other.ops_;
  }

  void steal(any_value& other) noexcept {
    if (other.ops_ == nullptr) return;
    if (other.ops_->inline_storage) {
      other.ops_->move_inline(buffer_, other.buffer_);
      ops_ = other.ops_;
      other.reset();
      return;
    }
    heap_ = other.heap_;
    ops_ = other.ops_;
    other.heap_ = nullptr;
    other.ops_ = nullptr;
  }

  alignas(std::max_align_t) unsigned char buffer_[any_value_buffer]{};
  void* heap_ = nullptr;
  const value_ops* ops_ = nullptr;
};

}  // namespace loom::detail
