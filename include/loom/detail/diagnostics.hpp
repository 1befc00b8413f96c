// The compile errors of Loom's interface. Each report is a function template holding
// one static_assert, whose condition is a variable template instantiated with tag
// types: both g++ and clang++ print that condition, so the error reads, e.g.,
//
//   static assertion failed: loom: wrong argument type in wf(task, args...) ...
//   note: 'loom::diagnostic::wrong_argument_type<loom::diagnostic::name<'a','d','d'>,
//          loom::diagnostic::argument<1>, loom::diagnostic::expected<long int>,
//          loom::diagnostic::got<std::string>>' evaluates to false
//
// Callers reach a report only from a branch of `if constexpr` whose condition is a
// pure type trait, so exactly one error is printed.
#pragma once

#include <loom/detail/type_check.hpp>
#include <loom/fixed_string.hpp>

#include <cstddef>
#include <stdexcept>
#include <string>
#include <string_view>

namespace loom::diagnostic {

template <std::size_t N>
struct argument {};  // 0-based position of an argument in wf(task, args...)
template <std::size_t N>
struct input {};  // 0-based input (parameter) of a task or workflow
template <std::size_t N>
struct output {};  // 0-based output of a task or workflow
template <class T>
struct expected {};
template <class T>
struct got {};
template <std::size_t N>
struct expected_count {};
template <std::size_t N>
struct got_count {};
struct then_branch {};  // which branch of a wf.when
struct else_branch {};
struct no_output {};  // a branch of a wf.when with fewer outputs than the other
template <class T>
struct offending_type {};

template <class...>
inline constexpr bool wrong_argument_type = false;
template <class...>
inline constexpr bool too_many_arguments = false;
template <class...>
inline constexpr bool missing_argument = false;
template <class...>
inline constexpr bool not_a_task = false;
template <class...>
inline constexpr bool promise_in_native_call = false;
template <class...>
inline constexpr bool unsupported_type = false;
template <class...>
inline constexpr bool workflow_body_parameter_not_a_promise = false;
template <class...>
inline constexpr bool workflow_body_result_not_promises = false;
template <class...>
inline constexpr bool task_returns_void = false;
template <class...>
inline constexpr bool generic_task_callable = false;
template <class...>
inline constexpr bool wrong_number_of_input_names = false;
template <class...>
inline constexpr bool wrong_default_type = false;
template <class...>
inline constexpr bool default_index_out_of_range = false;
template <class...>
inline constexpr bool dynamic_body_without_builder = false;
template <class...>
inline constexpr bool dynamic_body_result_not_promises = false;
template <class...>
inline constexpr bool map_of_non_task = false;
template <class...>
inline constexpr bool map_argument_neither_item_nor_list = false;
template <class...>
inline constexpr bool map_without_list = false;
template <class...>
inline constexpr bool partial_map_of_optional_output = false;
template <class...>
inline constexpr bool map_of_task_with_too_many_inputs = false;
template <class...>
inline constexpr bool when_branches_disagree = false;
template <class...>
inline constexpr bool when_condition_not_bool = false;
template <class...>
inline constexpr bool when_branch_not_a_branch = false;

}  // namespace loom::diagnostic

namespace loom::detail::report {

using namespace loom::diagnostic;  // NOLINT: tags only

template <class Name, std::size_t Position, class Expected, class Got>
constexpr void wrong_argument_type() {
  static_assert(diagnostic::wrong_argument_type<Name, argument<Position>, expected<Expected>, got<Got>>,
                "loom: wrong argument type in wf(task, args...): the argument at position argument<N> (0-based) "
                "of the task name<...> has type got<T>, but the task's parameter has type expected<T>");
}

template <class Name, std::size_t Expected, std::size_t Got>
constexpr void too_many_arguments() {
  static_assert(diagnostic::too_many_arguments<Name, expected_count<Expected>, got_count<Got>>,
                "loom: wrong number of arguments: the task name<...> takes expected_count<N> inputs but "
                "got_count<N> arguments were given");
}

template <class Name, std::size_t Position, class Expected>
constexpr void missing_argument() {
  static_assert(diagnostic::missing_argument<Name, argument<Position>, expected<Expected>>,
                "loom: wrong number of arguments: the task name<...> needs an argument at position argument<N> "
                "(0-based) of type expected<T>, and that input has no default value");
}

template <class Got>
constexpr void not_a_task() {
  static_assert(diagnostic::not_a_task<got<Got>>,
                "loom: wf(x, args...) needs x to be a loom::task, loom::workflow or loom::dynamic; got<T> is not");
}

template <class Name, std::size_t Position, class Got>
constexpr void promise_in_native_call() {
  static_assert(diagnostic::promise_in_native_call<Name, argument<Position>, got<Got>>,
                "loom: a promise was passed to a direct (native) call of name<...>; promises only exist inside a "
                "workflow body: use wf(task, args...) there");
}

template <type_problem Problem, class Name, class Where, class Offending>
constexpr void unsupported_type() {
  if constexpr (Problem == type_problem::pointer) {
    static_assert(diagnostic::unsupported_type<Name, Where, offending_type<Offending>>,
                  "loom: unsupported task value type: offending_type<T> is a pointer; an address means nothing "
                  "in another process or on another host, so task inputs and outputs must be values");
  } else if constexpr (Problem == type_problem::reference) {
    static_assert(diagnostic::unsupported_type<Name, Where, offending_type<Offending>>,
                  "loom: unsupported task value type: offending_type<T> is a reference; values are copied "
                  "between nodes, so take and return them by value");
  } else if constexpr (Problem == type_problem::qualified) {
    static_assert(diagnostic::unsupported_type<Name, Where, offending_type<Offending>>,
                  "loom: unsupported task value type: offending_type<T> is const or volatile inside a "
                  "container or record; values are owned by the executor");
  } else if constexpr (Problem == type_problem::character) {
    static_assert(diagnostic::unsupported_type<Name, Where, offending_type<Offending>>,
                  "loom: unsupported task value type: offending_type<T> is a character type; use std::string "
                  "for text and std::int64_t for small numbers");
  } else if constexpr (Problem == type_problem::not_copyable) {
    static_assert(diagnostic::unsupported_type<Name, Where, offending_type<Offending>>,
                  "loom: unsupported task value type: offending_type<T> is not copyable; a value may feed "
                  "several nodes, so it must be copyable");
  } else if constexpr (Problem == type_problem::map_key) {
    static_assert(diagnostic::unsupported_type<Name, Where, offending_type<Offending>>,
                  "loom: unsupported task value type: offending_type<T> is a map whose key is not std::string; "
                  "map keys are strings in the literal encoding");
  } else if constexpr (Problem == type_problem::needs_codegen) {
    static_assert(diagnostic::unsupported_type<Name, Where, offending_type<Offending>>,
                  "loom: offending_type<T> is a plain struct or an enum, whose serializer is generated by "
                  "loom-codegen: call loom_generate(<your target>) in CMakeLists.txt (or describe the struct with "
                  "BOOST_HANA_DEFINE_STRUCT)");
  } else if constexpr (Problem == type_problem::unknown_class) {
    static_assert(diagnostic::unsupported_type<Name, Where, offending_type<Offending>>,
                  "loom: unsupported task value type: offending_type<T> is a class with no known encoding (it has "
                  "constructors or private members); describe it with BOOST_HANA_DEFINE_STRUCT or "
                  "BOOST_HANA_ADAPT_STRUCT, or make it a plain struct and call loom_generate");
  } else {
    static_assert(diagnostic::unsupported_type<Name, Where, offending_type<Offending>>,
                  "loom: unsupported task value type: offending_type<T> is not one of bool, integers, double, "
                  "std::string, std::vector, std::map<std::string, T>, std::optional, std::tuple, a plain struct, an "
                  "enum or a Hana record");
  }
}

template <class Name>
constexpr void map_of_non_task() {
  static_assert(diagnostic::map_of_non_task<Name>,
                "loom: wf.map(x, args...) maps a loom::task over lists; name<...> is a workflow or a dynamic "
                "workflow (call it in a loop in a dynamic workflow instead)");
}
template <class Name, std::size_t Position, class Item, class Got>
constexpr void map_argument_neither_item_nor_list() {
  static_assert(diagnostic::map_argument_neither_item_nor_list<Name, argument<Position>, expected<Item>, got<Got>>,
                "loom: wrong argument type in wf.map(task, args...): the argument at position argument<N> "
                "(0-based) of the task name<...> has type got<T>, which is neither the parameter's type "
                "expected<T> (bound to every item) nor a std::vector of it (mapped)");
}
template <class Name>
constexpr void map_without_list() {
  static_assert(diagnostic::map_without_list<Name>,
                "loom: wf.map(task, args...) of name<...> maps nothing: at least one argument must be a list "
                "(a std::vector of its parameter's type, or a promise of one)");
}
template <class Name, std::size_t Inputs>
constexpr void map_of_task_with_too_many_inputs() {
  static_assert(diagnostic::map_of_task_with_too_many_inputs<Name, got_count<Inputs>>,
                "loom: wf.map(task, args...) maps tasks of at most 64 inputs (which are mapped is a 64-bit mask); "
                "the task name<...> has got_count<N> inputs: pass some of them together, in a struct");
}
template <class Name, std::size_t Output, class Got>
constexpr void partial_map_of_optional_output() {
  static_assert(diagnostic::partial_map_of_optional_output<Name, output<Output>, got<Got>>,
                "loom: a partial map (partial_map_options) of name<...> would give lists of std::optional of its "
                "output<N>, which is itself got<T> (a std::optional): an item that failed and an item that "
                "returned nullopt would look alike (stored, both are null); map a task whose output is not "
                "optional, or use map_options");
}
template <std::size_t Output, class Then, class Else>
constexpr void when_branches_disagree() {
  static_assert(diagnostic::when_branches_disagree<output<Output>, expected<Then>, got<Else>>,
                "loom: the branches of wf.when(cond, then_fn, else_fn) must return promises of the same types: "
                "at output<N> the then-branch gives expected<T> and the else-branch gives got<T> (no_output: "
                "that branch has fewer outputs)");
}
template <class Got>
constexpr void when_condition_not_bool() {
  static_assert(diagnostic::when_condition_not_bool<got<Got>>,
                "loom: the condition of wf.when(cond, then_fn, else_fn) must be a loom::promise<bool> (the "
                "output of a task, or an input of the workflow); it has type got<T>");
}
template <class Which, class Got>
constexpr void when_branch_not_a_branch() {
  static_assert(diagnostic::when_branch_not_a_branch<Which, got<Got>>,
                "loom: a branch of wf.when(cond, then_fn, else_fn) must be a callable taking the builder "
                "([](auto& wf) { ... }) and returning a loom::promise or a std::tuple of promises; the "
                "then_branch/else_branch got got<T> (its result type, or the callable when it cannot be called "
                "with the builder)");
}
template <class Name, std::size_t Position, class Got>
constexpr void workflow_body_parameter_not_a_promise() {
  static_assert(diagnostic::workflow_body_parameter_not_a_promise<Name, input<Position>, got<Got>>,
                "loom: the body of workflow name<...> must take (auto& wf, loom::promise<A> a, ...): its input<N> "
                "has type got<T>, which is not a loom::promise");
}

template <class Name, class Got>
constexpr void workflow_body_result_not_promises() {
  static_assert(diagnostic::workflow_body_result_not_promises<Name, got<Got>>,
                "loom: the body of workflow name<...> must return a loom::promise<R> or a std::tuple of promises; "
                "it returns got<T>");
}

// A malformed resource request is a value, not a type: in a constexpr entity the call
// of one of these (not constexpr) functions is the compile error, and its name says what
// is wrong; an entity built at run time gets the exception.
[[noreturn]] inline void with_resources_memory_is_not_digits_then_K_M_G_or_T(std::string_view task,
                                                                          std::string_view memory) {
  throw std::invalid_argument("loom: with_resources on '" + std::string(task) + "': memory \"" + std::string(memory) +
                              "\" is not digits then K, M, G or T (\"512M\", \"16G\")");
}
[[noreturn]] inline void with_resources_partition_has_a_space_quote_or_control_character(std::string_view task,
                                                                                       std::string_view partition) {
  throw std::invalid_argument("loom: with_resources on '" + std::string(task) + "': partition \"" +
                              std::string(partition) + "\" has a space, a quote or a control character");
}

template <class Name>
constexpr void task_returns_void() {
  static_assert(diagnostic::task_returns_void<Name>,
                "loom: the task name<...> returns void; a task must return a value (its output)");
}

template <class Name>
constexpr void generic_task_callable() {
  static_assert(diagnostic::generic_task_callable<Name>,
                "loom: the callable of task name<...> has no single signature (an `auto` parameter or "
                "overloads); give its parameters concrete types");
}

template <class Name, std::size_t Expected, std::size_t Got>
constexpr void wrong_number_of_input_names() {
  static_assert(diagnostic::wrong_number_of_input_names<Name, expected_count<Expected>, got_count<Got>>,
                "loom: with_inputs(...) on name<...> needs one name per input: expected_count<N> inputs, "
                "got_count<N> names");
}

template <class Name, std::size_t Position, class Expected, class Got>
constexpr void wrong_default_type() {
  static_assert(diagnostic::wrong_default_type<Name, input<Position>, expected<Expected>, got<Got>>,
                "loom: with_default<I>(value) on name<...>: the value of type got<T> does not convert to the "
                "input's type expected<T> (nor is it a function returning one)");
}

template <class Name, std::size_t Position, std::size_t Arity>
constexpr void default_index_out_of_range() {
  static_assert(diagnostic::default_index_out_of_range<Name, input<Position>, expected_count<Arity>>,
                "loom: with_default<I>(value) on name<...>: input<I> does not exist (the callable has "
                "expected_count<N> inputs)");
}

template <class Name>
constexpr void dynamic_body_without_builder() {
  static_assert(diagnostic::dynamic_body_without_builder<Name>,
                "loom: the body of dynamic workflow name<...> must take loom::dynamic_builder& as its first "
                "parameter: (loom::dynamic_builder& wf, A a, ...)");
}

template <class Name, class Got>
constexpr void dynamic_body_result_not_promises() {
  static_assert(diagnostic::dynamic_body_result_not_promises<Name, got<Got>>,
                "loom: the body of dynamic workflow name<...> must return a loom::promise<R>, a std::vector or "
                "std::map<std::string, ...> of promises, or a std::tuple of those; it returns got<T>");
}

}  // namespace loom::detail::report
