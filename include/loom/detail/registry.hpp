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
  static port_codec of() {
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
    return insert(std::make_unique<entity_info>(describe_entity(e)));
  }

  /// Records the generated interface of the entity type `type_tag` (and applies it if
  /// that entity is already registered). Names and defaults given in the code
  /// (`.with_inputs`, `.with_default`) take precedence.
  void set_generated(const void* type_tag, generated_interface facts);

  [[nodiscard]] const entity_info* find(std::string_view name) const;

  /// Every registered entity, by name.
  [[nodiscard]] std::vector<const entity_info*> all() const;

 private:
  template <class E>
  static entity_info describe_entity(const E& e);

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
entity_info registry::describe_entity(const E& e) {
  entity_info info;
  info.name = std::string(E::name);
  info.version = std::string(e.version());
  info.kind = node_kind_of<typename E::kind>::value;
  info.entity = &e;
  info.type_tag = &entity_type_tag<E>;
  info.policy = +[](const void* entity) -> const node_policy& { return static_cast<const E*>(entity)->policy(); };
  if constexpr (node_kind_of<typename E::kind>::value == node_kind::task) {
    info.run = &task_invoker<E>::run;
    info.map = &map_runner<E>::ops;
  } else if constexpr (node_kind_of<typename E::kind>::value == node_kind::workflow) {
    info.subgraph = &graph_of<E>;
  } else {
    info.expand = &dynamic_expander<E>::expand;
  }
  [&]<class... In, std::size_t... I>(type_list<In...>, std::index_sequence<I...>) {
    (info.interface.inputs.push_back({e.input_name(I), describe<In>()}), ...);
    (info.input_codecs.push_back(port_codec::of<In>()), ...);
    if constexpr (node_kind_of<typename E::kind>::value == node_kind::task) {
      (info.input_list_codecs.push_back(port_codec::of<std::vector<In>>()), ...);
    }
    (info.defaults.push_back(E::template has_default<I> ? +[](const void* entity) {
      if constexpr (E::template has_default<I>) {
        return any_value::of<In>(static_cast<const E*>(entity)->template default_value<I>());
      } else {
        return any_value{};
      }
    } : nullptr), ...);
  }(typename E::inputs{}, std::make_index_sequence<E::arity>{});
  [&]<class... Out, std::size_t... I>(type_list<Out...>, std::index_sequence<I...>) {
    (info.interface.outputs.push_back({E::output_name(I), describe<Out>()}), ...);
    (info.output_codecs.push_back(port_codec::of<Out>()), ...);
    if constexpr (node_kind_of<typename E::kind>::value == node_kind::task) {
      (info.output_list_codecs.push_back(port_codec::of<std::vector<Out>>()), ...);
      (info.output_partial_codecs.push_back(port_codec::of<std::vector<std::optional<Out>>>()), ...);
    }
  }(typename E::outputs{}, std::make_index_sequence<E::output_count>{});
  return info;
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
