// loom/detail/registry.hpp — the registry (loom/registry.hpp) for Loom's own headers:
// JSON appears only in declarations (<nlohmann/json_fwd.hpp>), so a workflow's
// translation unit does not parse <nlohmann/json.hpp>. Include the public
// <loom/registry.hpp>, which adds it for entity_interface's to_json and from_json.
#pragma once

#include <loom/detail/any_value.hpp>
#include <loom/detail/codec.hpp>
#include <loom/detail/config.hpp>
#include <loom/detail/graph.hpp>
#include <loom/detail/map_runner.hpp>
#include <loom/detail/signature.hpp>
#include <loom/detail/strings.hpp>
#include <loom/detail/type_descriptor.hpp>
#include <loom/error.hpp>
#include <loom/policy.hpp>

#include <nlohmann/json_fwd.hpp>

#include <array>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace loom {

/// An input or an output: its name and its type.
struct port {
  std::string name;
  type_descriptor type;
  friend bool operator==(const port&, const port&) = default;
};

/// The typed interface of a task or workflow, as futures files and manifests hold it.
struct entity_interface {
  std::vector<port> inputs;
  std::vector<port> outputs;
  friend bool operator==(const entity_interface&, const entity_interface&) = default;

  [[nodiscard]] json to_json() const;

  static entity_interface from_json(const json& j);
};

std::string_view kind_name(detail::node_kind k);

namespace detail {

using decode_fn = any_value (*)(const json& literal, std::string_view where);

template <class T>
any_value decode_erased(const json& literal, std::string_view where) {
  return any_value::of<T>(decode<T>(literal, value_path{nullptr, value_path::step::root, where, 0}));
}

/// How to read one typed port from a futures file: a literal of the port's type, or a
/// collection of items (for list and map ports).
struct port_codec {
  decode_fn decode = nullptr;
  decode_fn decode_item = nullptr;     // list/map ports: one item; otherwise null
  assemble_fn assemble = nullptr;      // list/map ports
  bool is_map = false;

  template <class T>
  static constexpr port_codec of() {
    port_codec c;
    c.decode = &decode_erased<T>;
    if constexpr (is_std_vector<T>::value) {
      c.decode_item = &decode_erased<typename T::value_type>;
      c.assemble = &assemble_erased<T>;
    } else if constexpr (is_std_map<T>::value) {
      c.decode_item = &decode_erased<typename T::mapped_type>;
      c.assemble = &assemble_erased<T>;
      c.is_map = true;
    }
    return c;
  }
};

using default_fn = any_value (*)(const void* entity);

/// What describe_entity records of one port, for each port of an entity type: a
/// constant table, turned into entity_info's vectors by describe_ports (compiled once).
struct port_entry {
  const type_descriptor& (*describe)() = nullptr;
  port_codec codec;
  port_codec list_codec;     // tasks: a map node's list of it
  port_codec partial_codec;  // tasks' outputs: a partial map node's list of it
  default_fn default_value = nullptr;  // inputs with a default
};

/// A registered entity: what a futures file, a manifest or the command line needs.
struct entity_info {
  std::string name;
  std::string version;
  node_kind kind = node_kind::task;
  entity_interface interface;
  const void* entity = nullptr;
  run_fn run = nullptr;
  subgraph_fn subgraph = nullptr;
  expand_fn expand = nullptr;
  std::vector<port_codec> input_codecs;
  std::vector<port_codec> output_codecs;
  std::vector<default_fn> defaults;  // per input; null when it has none
  const void* type_tag = nullptr;    // one per C++ entity type: tells two entities apart
  /// The retries, timeout and caching of an entity object (of this type).
  const node_policy& (*policy)(const void* entity) = nullptr;
  /// A task's items in a map node (loom/map.hpp); null for workflows. A map node's
  /// ports are lists: std::vector of a mapped input, of each output (of std::optional
  /// of each output in a partial map).
  const map_ops* map = nullptr;
  std::vector<port_codec> input_list_codecs;
  std::vector<port_codec> output_list_codecs;
  std::vector<port_codec> output_partial_codecs;

  /// The type and codec of input `i` of a node of this entity: a list of the input's
  /// type when the node is a map node that maps it.
  [[nodiscard]] const port_codec& input_codec(std::size_t i, const map_spec* map_node) const {
    return map_node != nullptr && ((map_node->mapped >> i) & 1U) ? input_list_codecs[i] : input_codecs[i];
  }
  [[nodiscard]] type_descriptor input_type(std::size_t i, const map_spec* map_node) const;
  [[nodiscard]] const port_codec& output_codec(std::size_t o, const map_spec* map_node) const {
    if (map_node == nullptr) return output_codecs[o];
    return map_node->partial ? output_partial_codecs[o] : output_list_codecs[o];
  }
  [[nodiscard]] type_descriptor output_type(std::size_t o, const map_spec* map_node) const;
};

/// What describe_entity knows of an entity type, as constants and function pointers:
/// entity_info is built from it by compiled code (src/registry.cpp).
struct entity_facts {
  std::string_view name;
  std::string_view version;
  node_kind kind = node_kind::task;
  const void* entity = nullptr;
  const void* type_tag = nullptr;
  const node_policy& (*policy)(const void* entity) = nullptr;
  run_fn run = nullptr;
  subgraph_fn subgraph = nullptr;
  expand_fn expand = nullptr;
  const map_ops* map = nullptr;
  const port_entry* inputs = nullptr;
  std::size_t input_count = 0;
  const port_entry* outputs = nullptr;
  std::size_t output_count = 0;
  bool with_lists = false;  // a task: the list codecs of map nodes too
  std::string (*input_name)(const void* entity, std::size_t i) = nullptr;
  std::string (*output_name)(std::size_t o) = nullptr;
};

template <class E>
inline constexpr char entity_type_tag = 0;

/// What loom-codegen read from an entity's source: the names of its inputs (its
/// parameter names) and their defaults (its default arguments).
struct generated_interface {
  std::vector<std::string> input_names;
  std::vector<default_fn> defaults;  // per input; null when it has none
};

template <class E>
const graph& graph_of();
template <class E>
struct dynamic_expander;
template <class E>
struct task_invoker;

class registry {
 public:
  static registry& global();

  /// Registers `e` under its name (once); a different entity under a name already
  /// taken, with another interface or version, is an error.
  template <class E>
  const entity_info& add(const E& e) {
    return add(facts_of(e));
  }

  /// Registers an entity described by `facts` (add's non-template part).
  const entity_info& add(const entity_facts& facts);

  /// Records the generated interface of the entity type `type_tag` (and applies it if
  /// that entity is already registered). Names and defaults given in the code
  /// (`.with_inputs`, `.with_default`) take precedence.
  void set_generated(const void* type_tag, generated_interface facts);

  [[nodiscard]] const entity_info* find(std::string_view name) const;

  /// Every registered entity, by name.
  [[nodiscard]] std::vector<const entity_info*> all() const;

 private:
  template <class E>
  static entity_facts facts_of(const E& e);
  static entity_info make_info(const entity_facts& facts);

  /// Registers a described entity (add's non-template part).
  const entity_info& insert(std::unique_ptr<entity_info> info);

  static void apply(entity_info& info, const generated_interface& facts);

  mutable std::mutex mutex_;
  std::map<const void*, generated_interface> generated_;
  std::map<std::string, std::unique_ptr<entity_info>, std::less<>> entities_;
};

/// A graph of one node that calls a registered entity on the graph's inputs.
graph single_node_graph(const entity_info& info);

/// The registration of the first entity object of type E that a builder records.
template <class E>
const entity_info& registered(const E& e) {
  static const entity_info& info = registry::global().add(e);
  return info;
}

template <class E>
entity_facts registry::facts_of(const E& e) {
  constexpr bool is_task = node_kind_of<typename E::kind>::value == node_kind::task;
  static constexpr auto inputs = []<class... In, std::size_t... I>(type_list<In...>, std::index_sequence<I...>) {
    return std::array<port_entry, sizeof...(In)>{port_entry{
        &describe<In>, port_codec::of<In>(), is_task ? port_codec::of<std::vector<In>>() : port_codec{}, port_codec{},
        E::template has_default<I> ? +[](const void* entity) {
          if constexpr (E::template has_default<I>) {
            return any_value::of<In>(static_cast<const E*>(entity)->template default_value<I>());
          } else {
            return any_value{};
          }
        } : default_fn{nullptr}}...};
  }(typename E::inputs{}, std::make_index_sequence<E::arity>{});
  static constexpr auto outputs = []<class... Out>(type_list<Out...>) {
    return std::array<port_entry, sizeof...(Out)>{
        port_entry{&describe<Out>, port_codec::of<Out>(), is_task ? port_codec::of<std::vector<Out>>() : port_codec{},
                   is_task ? port_codec::of<std::vector<std::optional<Out>>>() : port_codec{}, nullptr}...};
  }(typename E::outputs{});
  entity_facts f;
  f.name = E::name;
  f.version = e.version();
  f.kind = node_kind_of<typename E::kind>::value;
  f.entity = &e;
  f.type_tag = &entity_type_tag<E>;
  f.policy = +[](const void* entity) -> const node_policy& { return static_cast<const E*>(entity)->policy(); };
  if constexpr (is_task) {
    f.run = &task_invoker<E>::run;
    f.map = &map_runner<E>::ops;
  } else if constexpr (node_kind_of<typename E::kind>::value == node_kind::workflow) {
    f.subgraph = &graph_of<E>;
  } else {
    f.expand = &dynamic_expander<E>::expand;
  }
  f.inputs = inputs.data();
  f.input_count = inputs.size();
  f.outputs = outputs.data();
  f.output_count = outputs.size();
  f.with_lists = is_task;
  f.input_name = +[](const void* entity, std::size_t i) { return static_cast<const E*>(entity)->input_name(i); };
  f.output_name = &E::output_name;
  return f;
}

}  // namespace detail

/// Registers entities up front, so that futures files and the command line can name
/// them before any builder has recorded them.
template <class... E>
void register_entities(const E&... entities) {
  (detail::registered(entities), ...);
  // A static workflow's graph records (and so registers) every entity it calls.
  (
      [&] {
        if constexpr (detail::node_kind_of<typename E::kind>::value == detail::node_kind::workflow) {
          try {
            (void)detail::graph_of<E>();
          } catch (const error&) {
            // A body whose graph cannot be built (a value leaking out of a wf.when's
            // branch) fails when the workflow runs, with this error: graph_of builds it
            // again then. Registering (at start-up, by generated code) does not throw.
          }
        }
      }(),
      ...);
}

}  // namespace loom
