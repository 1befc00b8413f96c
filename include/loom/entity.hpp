// loom/entity.hpp — what tasks, workflows and dynamic workflows have in common: a name,
// a typed interface (inputs and outputs), input names, default input values and a
// version. `loom::task`, `loom::workflow` and `loom::dynamic` each make an entity of
// their own kind; the builder and the executor treat every entity alike.
#pragma once

#include <loom/detail/diagnostics.hpp>
#include <loom/detail/signature.hpp>
#include <loom/detail/strings.hpp>
#include <loom/detail/type_check.hpp>
#include <loom/fixed_string.hpp>
#include <loom/policy.hpp>
#include <loom/promise.hpp>

#include <array>
#include <cstddef>
#include <map>
#include <string>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

namespace loom {

/// Marks an input without a default value.
struct no_default {};

namespace detail {

/// The typed interface of an entity: input types, output types, and the native result
/// (the single output, or a std::tuple of them).
template <class Inputs, class Outputs>
struct interface;
template <class... In, class... Out>
struct interface<type_list<In...>, type_list<Out...>> {
  using inputs = type_list<In...>;
  using outputs = type_list<Out...>;
  static constexpr std::size_t arity = sizeof...(In);
  static constexpr std::size_t output_count = sizeof...(Out);
  using result_type = std::conditional_t<sizeof...(Out) == 1, type_at_t<0, type_list<Out..., void>>, std::tuple<Out...>>;
};

/// Outputs of a native result type: a std::tuple is several outputs.
template <class R>
struct outputs_of_result {
  using type = type_list<R>;
};
template <class... R>
struct outputs_of_result<std::tuple<R...>> {
  using type = type_list<R...>;
};

/// interface_of<Kind, Fn> is specialized by each kind of entity.
template <class Kind, class Fn>
struct interface_of;

template <class D>
using stored_default_t = std::conditional_t<std::is_array_v<std::remove_reference_t<D>>,
                                            std::decay_t<D>, std::remove_cvref_t<D>>;

template <class... D>
struct defaults_list {
  using type = std::tuple<D...>;
};

template <std::size_t N, class = std::make_index_sequence<N>>
struct no_defaults;
template <std::size_t N, std::size_t... I>
struct no_defaults<N, std::index_sequence<I...>> {
  using type = std::tuple<std::conditional_t<(I < N), no_default, void>...>;
};

}  // namespace detail

/// A named, typed callable node. Kind is loom::task_kind, loom::workflow_kind or
/// loom::dynamic_kind; Fn the callable (a task's function, a workflow's body).
template <class Kind, fixed_string Name, class Fn, class Defaults>
class entity {
 public:
  using kind = Kind;
  using function_type = Fn;
  using interface = detail::interface_of<Kind, Fn>;
  using inputs = typename interface::inputs;
  using outputs = typename interface::outputs;
  using result_type = typename interface::result_type;
  using defaults_type = Defaults;
  using diagnostic_name = detail::name_chars<Name>;

  static constexpr fixed_string name_string = Name;
  static constexpr std::string_view name = Name.view();
  static constexpr std::size_t arity = interface::arity;
  static constexpr std::size_t output_count = interface::output_count;

  constexpr explicit entity(Fn fn) : fn_(std::move(fn)) {}
  constexpr entity(Fn fn, std::array<std::string_view, arity> names, std::string_view version, Defaults defaults,
                   node_policy policy = {})
      : fn_(std::move(fn)), input_names_(names), version_(version), defaults_(std::move(defaults)), policy_(policy) {}

  /// Names the inputs (in header-only use; the code generator takes the parameter names).
  template <class... Names>
  [[nodiscard]] constexpr entity with_inputs(Names... names) const {
    if constexpr (sizeof...(Names) != arity) {
      detail::report::wrong_number_of_input_names<diagnostic_name, arity, sizeof...(Names)>();
      return *this;
    } else {
      return entity(fn_, {std::string_view(names)...}, version_, defaults_, policy_);
    }
  }

  /// The version string that identifies this implementation (caching keys use it).
  [[nodiscard]] constexpr entity with_version(std::string_view version) const {
    return entity(fn_, input_names_, version, defaults_, policy_);
  }

  /// Retries a failing node up to `retries` more times, waiting `delays` between
  /// attempts (loom/policy.hpp).
  [[nodiscard]] constexpr entity with_retries(std::uint32_t retries, loom::backoff delays = {}) const {
    node_policy p = policy_;
    p.retries = retries;
    p.backoff = delays;
    return entity(fn_, input_names_, version_, defaults_, p);
  }

  /// Fails an attempt that takes longer than `limit` (loom/policy.hpp).
  template <class Rep, class Period>
  [[nodiscard]] constexpr entity with_timeout(std::chrono::duration<Rep, Period> limit) const {
    node_policy p = policy_;
    p.timeout = std::chrono::duration_cast<std::chrono::milliseconds>(limit);
    if (p.timeout.count() == 0 && limit.count() > 0) p.timeout = std::chrono::milliseconds(1);
    return entity(fn_, input_names_, version_, defaults_, p);
  }

  /// Caches the node's outputs by name, version and a hash of its inputs, in the run's
  /// store, for every execution that uses it (loom/policy.hpp).
  [[nodiscard]] constexpr entity with_cache(bool on = true) const {
    node_policy p = policy_;
    p.cache = on;
    return entity(fn_, input_names_, version_, defaults_, p);
  }

  /// What each of the entity's nodes asks a cluster for when it runs as a job (the
  /// Slurm backend: loom/slurm.hpp; other backends ignore it). A malformed memory
  /// size or partition name in a constexpr entity is a compile error.
  [[nodiscard]] constexpr entity with_resources(loom::resources wanted) const {
    if (!wanted.memory_problem().empty()) {
      detail::report::with_resources_memory_is_not_digits_then_K_M_G_or_T(name, wanted.memory);
    }
    if (!wanted.partition_ok()) detail::report::with_resources_partition_has_a_space_quote_or_control_character(name, wanted.partition);
    node_policy p = policy_;
    p.resources = wanted;
    return entity(fn_, input_names_, version_, defaults_, p);
  }

  [[nodiscard]] constexpr const node_policy& policy() const { return policy_; }

  /// A default value for input I: a value convertible to the input's type, or a
  /// function returning one (for types that cannot be constants, e.g. a vector).
  template <std::size_t I, class D>
  [[nodiscard]] constexpr auto with_default(D&& value) const {
    if constexpr (I >= arity) {
      detail::report::default_index_out_of_range<diagnostic_name, I, arity>();
      return *this;
    } else {
      using input_type = detail::type_at_t<I, inputs>;
      using stored = detail::stored_default_t<D>;
      if constexpr (!std::is_convertible_v<const stored&, input_type> && !std::is_invocable_r_v<input_type, const stored&>) {
        detail::report::wrong_default_type<diagnostic_name, I, input_type, stored>();
        return *this;
      } else {
        auto defaults = replace_default<I>(stored(std::forward<D>(value)), std::make_index_sequence<arity>{});
        return entity<Kind, Name, Fn, decltype(defaults)>(fn_, input_names_, version_, std::move(defaults), policy_);
      }
    }
  }

  [[nodiscard]] constexpr std::string_view version() const { return version_; }
  [[nodiscard]] std::string input_name(std::size_t i) const {
    if (i < arity && !input_names_[i].empty()) return std::string(input_names_[i]);
    return detail::positional_name('i', i);
  }
  [[nodiscard]] static std::string output_name(std::size_t i) { return detail::positional_name('o', i); }

  template <std::size_t I>
  static constexpr bool has_default = !std::is_same_v<std::tuple_element_t<I, Defaults>, no_default>;

  /// The default value of input I, as the input's type.
  template <std::size_t I>
  [[nodiscard]] detail::type_at_t<I, inputs> default_value() const {
    using input_type = detail::type_at_t<I, inputs>;
    const auto& stored = std::get<I>(defaults_);
    if constexpr (std::is_convertible_v<decltype(stored), input_type>) {
      return input_type(stored);
    } else {
      return input_type(stored());
    }
  }

  [[nodiscard]] constexpr const Fn& function() const { return fn_; }

  /// Calling an entity with native values runs it: a task runs its function; a
  /// workflow or a dynamic workflow runs locally on the default executor.
  template <class... Args>
  constexpr result_type operator()(Args&&... args) const;

 private:
  template <class E, class... A>
  friend struct call_checker;

  template <std::size_t I, class Stored, std::size_t... J>
  constexpr auto replace_default(Stored&& value, std::index_sequence<J...>) const {
    return std::tuple<std::conditional_t<J == I, std::remove_cvref_t<Stored>, std::tuple_element_t<J, Defaults>>...>(
        pick_default<J, I>(value)...);
  }
  template <std::size_t J, std::size_t I, class Stored>
  constexpr auto pick_default(Stored& value) const {
    if constexpr (J == I) {
      return value;
    } else {
      return std::get<J>(defaults_);
    }
  }

  Fn fn_;
  std::array<std::string_view, arity> input_names_{};
  std::string_view version_ = "1";
  Defaults defaults_{};
  node_policy policy_{};
};

template <class T>
struct is_entity : std::false_type {};
template <class Kind, fixed_string Name, class Fn, class Defaults>
struct is_entity<entity<Kind, Name, Fn, Defaults>> : std::true_type {};
template <class T>
inline constexpr bool is_entity_v = is_entity<std::remove_cvref_t<T>>::value;

namespace detail {

/// How an argument relates to the parameter it feeds.
enum class argument_verdict { ok_promise, ok_literal, ok_promise_collection, wrong_type, promise_in_native_call };

template <class T>
struct promise_collection : std::false_type {};
template <class T, class A>
struct promise_collection<std::vector<promise<T>, A>> : std::true_type {
  template <class P>
  static constexpr bool feeds = std::is_same_v<P, std::vector<T>>;
};
template <class T, class C, class A>
struct promise_collection<std::map<std::string, promise<T>, C, A>> : std::true_type {
  template <class P>
  static constexpr bool feeds = std::is_same_v<P, std::map<std::string, T>>;
};

template <class Param, class Arg, bool Native>
constexpr argument_verdict judge_argument() {
  using A = std::remove_cvref_t<Arg>;
  if constexpr (is_promise_v<A>) {
    if constexpr (Native) return argument_verdict::promise_in_native_call;
    else if constexpr (std::is_same_v<typename A::value_type, Param>) return argument_verdict::ok_promise;
    else return argument_verdict::wrong_type;
  } else if constexpr (promise_collection<A>::value) {
    if constexpr (Native) return argument_verdict::promise_in_native_call;
    else if constexpr (promise_collection<A>::template feeds<Param>) return argument_verdict::ok_promise_collection;
    else return argument_verdict::wrong_type;
  } else if constexpr (std::is_convertible_v<Arg, Param>) {
    return argument_verdict::ok_literal;
  } else {
    return argument_verdict::wrong_type;
  }
}

template <class E, bool Native, class... Args, std::size_t... I>
constexpr std::size_t first_bad_argument(std::index_sequence<I...>) {
  std::size_t bad = sizeof...(Args);
  const bool ok[] = {true, (judge_argument<type_at_t<I, typename E::inputs>, Args, Native>() !=
                                argument_verdict::wrong_type &&
                            judge_argument<type_at_t<I, typename E::inputs>, Args, Native>() !=
                                argument_verdict::promise_in_native_call)...};
  for (std::size_t i = sizeof...(Args); i > 0; --i) {
    if (!ok[i]) bad = i - 1;
  }
  return bad;
}

template <class E, std::size_t Given, std::size_t... I>
constexpr std::size_t first_missing_default(std::index_sequence<I...>) {
  const bool has[] = {true, (I < Given || E::template has_default<I>)...};
  for (std::size_t i = 1; i <= sizeof...(I); ++i) {
    if (!has[i]) return i - 1;
  }
  return sizeof...(I);
}

/// Checks how many arguments a call of E has (`Given`): no more than E's inputs, and
/// each input left out has a default. Reports the first problem as one compile error.
template <class E, std::size_t Given>
constexpr bool check_argument_count() {
  using name = typename E::diagnostic_name;
  if constexpr (Given > E::arity) {
    report::too_many_arguments<name, E::arity, Given>();
    return false;
  } else if constexpr (constexpr std::size_t missing =
                           first_missing_default<E, Given>(std::make_index_sequence<E::arity>{});
                       missing < E::arity) {
    report::missing_argument<name, missing, type_at_t<missing, typename E::inputs>>();
    return false;
  } else {
    return true;
  }
}

/// Checks a call `e(args...)` (Native) or `wf(e, args...)`; reports the first problem
/// as one compile error and returns false, or returns true.
template <class E, bool Native, class... Args>
constexpr bool check_call() {
  using name = typename E::diagnostic_name;
  constexpr std::size_t given = sizeof...(Args);
  if constexpr (!check_argument_count<E, given>()) {
    return false;
  } else if constexpr (constexpr std::size_t bad =
                           first_bad_argument<E, Native, Args...>(std::make_index_sequence<given>{});
                       bad < given) {
    using param = type_at_t<bad, typename E::inputs>;
    using arg = type_at_t<bad, type_list<Args...>>;
    if constexpr (judge_argument<param, arg, Native>() == argument_verdict::promise_in_native_call) {
      report::promise_in_native_call<name, bad, std::remove_cvref_t<arg>>();
    } else {
      report::wrong_argument_type<name, bad, param, std::remove_cvref_t<arg>>();
    }
    return false;
  } else {
    return true;
  }
}

/// Reports the first input or output type of an interface that is not a task value.
template <class Name, class Inputs, class Outputs>
constexpr bool check_interface_types() {
  return []<class... In, class... Out>(type_list<In...>, type_list<Out...>) {
    constexpr std::size_t bad_input = [] {
      const bool ok[] = {true, is_task_value_v<In>...};
      for (std::size_t i = 1; i <= sizeof...(In); ++i) {
        if (!ok[i]) return i - 1;
      }
      return sizeof...(In);
    }();
    constexpr std::size_t bad_output = [] {
      const bool ok[] = {true, is_task_value_v<Out>...};
      for (std::size_t i = 1; i <= sizeof...(Out); ++i) {
        if (!ok[i]) return i - 1;
      }
      return sizeof...(Out);
    }();
    if constexpr (bad_input < sizeof...(In)) {
      using verdict = typename check_type<type_at_t<bad_input, type_list<In...>>>::type;
      report::unsupported_type<verdict::problem, Name, diagnostic::input<bad_input>, typename verdict::offending>();
      return false;
    } else if constexpr (bad_output < sizeof...(Out)) {
      using verdict = typename check_type<type_at_t<bad_output, type_list<Out...>>>::type;
      report::unsupported_type<verdict::problem, Name, diagnostic::output<bad_output>, typename verdict::offending>();
      return false;
    } else {
      return true;
    }
  }(Inputs{}, Outputs{});
}

template <class... T>
constexpr bool all_task_values(type_list<T...>) {
  return (is_task_value_v<T> && ...);
}

/// Whether every input and output of E is a task value (if not, making E reported it,
/// and a builder records no node for it: that would only add errors).
template <class E>
inline constexpr bool has_task_value_interface =
    all_task_values(typename E::inputs{}) && all_task_values(typename E::outputs{});

}  // namespace detail

}  // namespace loom
