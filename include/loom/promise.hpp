// loom/promise.hpp — a typed reference to a value that does not exist yet: the output
// of a node, an input of the enclosing workflow, or a literal bound by the builder.
// A promise deliberately has no way to read its value; every attempt is a compile
// error that says so.
#pragma once

#include <cstdint>
#include <type_traits>

namespace loom {

namespace detail {

template <class...>
inline constexpr bool dependent_false = false;

enum class source_kind : std::uint8_t { none, input, node_output, literal, collection };

/// Where a promised value comes from. `node` is the producing node, `index` the
/// output of that node, the workflow input, or the literal slot.
struct promise_ref {
  source_kind kind = source_kind::none;
  std::uint32_t node = 0;
  std::uint32_t index = 0;
  friend constexpr bool operator==(const promise_ref&, const promise_ref&) = default;
};

struct promise_access;

}  // namespace detail

template <class T>
class promise {
 public:
  using value_type = T;

  /// An unbound promise: a placeholder to assign to (binding it to a node is an error).
  constexpr promise() = default;

  // A promise's value exists only when the workflow runs, and only for the node it
  // feeds. These exist only to turn an attempt to read it into a clear message.
  // (constexpr: evaluating the plan of the body must not add a second error.)
  constexpr operator T() const {  // NOLINT(google-explicit-constructor)
    static_assert(detail::dependent_false<T>,
                  "loom: a promise has no value while the workflow is being built; pass it to a task "
                  "(wf(task, promise)) and read the value inside the task");
    return T{};
  }

 private:
  friend struct detail::promise_access;
  constexpr explicit promise(detail::promise_ref ref) : ref_(ref) {}
  detail::promise_ref ref_{};
};

template <class T>
struct is_promise : std::false_type {};
template <class T>
struct is_promise<promise<T>> : std::true_type {};
template <class T>
inline constexpr bool is_promise_v = is_promise<std::remove_cvref_t<T>>::value;

// Each operator returns a stand-in (the promise operand for arithmetic, false for
// comparisons) so that the rest of the body, and the compile-time evaluation of its
// plan, still go through: the misuse gives one error, not a cascade. The form with the
// promise on the left also takes a promise on the right; the mirrored form takes only
// non-promises on the left, so that `p + q` is never ambiguous.
#define LOOM_PROMISE_NO_OPERATOR(op, Result, stand_in)                                                          \
  template <class T, class U>                                                                                  \
  constexpr Result operator op([[maybe_unused]] const promise<T>& p, const U&) {                               \
    static_assert(detail::dependent_false<T, U>,                                                               \
                  "loom: a promise has no value while the workflow is being built, so operator " #op            \
                  " cannot apply to it; compute with the value inside a task");                               \
    return stand_in;                                                                                           \
  }                                                                                                            \
  template <class T, class U>                                                                                  \
    requires(!is_promise<U>::value)                                                                            \
  constexpr Result operator op(const U&, [[maybe_unused]] const promise<T>& p) {                               \
    static_assert(detail::dependent_false<T, U>,                                                               \
                  "loom: a promise has no value while the workflow is being built, so operator " #op            \
                  " cannot apply to it; compute with the value inside a task");                               \
    return stand_in;                                                                                           \
  }
LOOM_PROMISE_NO_OPERATOR(+, promise<T>, p)
LOOM_PROMISE_NO_OPERATOR(-, promise<T>, p)
LOOM_PROMISE_NO_OPERATOR(*, promise<T>, p)
LOOM_PROMISE_NO_OPERATOR(/, promise<T>, p)
LOOM_PROMISE_NO_OPERATOR(%, promise<T>, p)
LOOM_PROMISE_NO_OPERATOR(<, bool, false)
LOOM_PROMISE_NO_OPERATOR(>, bool, false)
LOOM_PROMISE_NO_OPERATOR(<=, bool, false)
LOOM_PROMISE_NO_OPERATOR(>=, bool, false)
LOOM_PROMISE_NO_OPERATOR(==, bool, false)
LOOM_PROMISE_NO_OPERATOR(!=, bool, false)
LOOM_PROMISE_NO_OPERATOR(&&, bool, false)
LOOM_PROMISE_NO_OPERATOR(||, bool, false)
#undef LOOM_PROMISE_NO_OPERATOR

namespace detail {
/// The library's own access to a promise's reference (users have none).
struct promise_access {
  template <class T>
  static constexpr promise<T> make(promise_ref ref) {
    return promise<T>(ref);
  }
  template <class T>
  static constexpr promise_ref ref(const promise<T>& p) {
    return p.ref_;
  }
};
}  // namespace detail

}  // namespace loom
