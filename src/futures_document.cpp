// src/futures_document.cpp — the structural reader of futures files
// (loom/detail/futures_document.hpp): every check that needs no registry, and its message.
// The text is parsed by simdjson into its DOM (a tape and a string buffer: a 200,001-node
// file parses in a few tens of ms, where nlohmann's document of a std::map per object
// took half a second to build and destroy); the checks read it through `value` and
// `members`, which present it as nlohmann would.
#include <loom/detail/futures_document.hpp>

#include <loom/futures_file.hpp>
#include <loom/literal.hpp>
#include <loom/object_store.hpp>

#include <loom/detail/huge_pages.hpp>

#include <simdjson.h>

#include <algorithm>
#include <charconv>
#include <cstring>
#include <exception>
#include <iterator>
#include <mutex>
#include <set>
#include <unordered_map>
#include <utility>

namespace loom::detail {

LOOM_FUNC std::size_t json_depth(std::string_view text) {
  std::size_t depth = 0;
  std::size_t deepest = 0;
  bool in_string = false;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (in_string) {
      if (c == '\\') ++i;
      else if (c == '"') in_string = false;
    } else if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      deepest = std::max(deepest, ++depth);
    } else if ((c == ']' || c == '}') && depth > 0) {
      --depth;
    }
  }
  return deepest;
}

LOOM_FUNC std::optional<std::uint32_t> futures_graph::find(std::string_view id) const {
  // prefix<i> written canonically (no leading zeros) at position i
  const std::string_view prefix = g.node_prefix;
  if (id.size() > prefix.size() && id.size() <= prefix.size() + 10 && id.substr(0, prefix.size()) == prefix &&
      (id[prefix.size()] != '0' || id.size() == prefix.size() + 1)) {
    std::size_t value = 0;
    bool digits = true;
    for (std::size_t k = prefix.size(); k < id.size() && digits; ++k) {
      digits = id[k] >= '0' && id[k] <= '9';
      value = value * 10 + static_cast<std::size_t>(id[k] - '0');
    }
    if (digits && value < canonical.size() && canonical[value]) return static_cast<std::uint32_t>(value);
  }
  const auto it = other_ids.find(std::string(id));
  if (it == other_ids.end()) return std::nullopt;
  return it->second;
}

LOOM_FUNC std::string futures_graph::id(std::uint32_t i) const {
  if (i < canonical.size() && canonical[i]) return std::string(g.node_prefix) + std::to_string(i);
  const auto it = other_id_of.find(i);
  return it != other_id_of.end() ? it->second : "#" + std::to_string(i);
}

namespace futures_structure {

/// One JSON value of the file, as nlohmann::json presents it (the format's reference
/// reading: objects in key order with each key once, its last value; integers unsigned
/// unless written with a minus sign). Read from simdjson's DOM, or from nlohmann's
/// document when the text is read that way (futures_document::read_frame): the checks
/// below are written once, on this, and say the same either way. A default value is
/// absent (a member not found).
class value {
 public:
  value() = default;
  explicit value(const json& j) : json_(&j) {}
  explicit value(simdjson::dom::element e) : element_(e), simd_(true) {}

  [[nodiscard]] bool present() const { return simd_ || json_ != nullptr; }
  /// The nlohmann value itself (null when read from simdjson).
  [[nodiscard]] const json* nlohmann() const { return simd_ ? nullptr : json_; }

  [[nodiscard]] bool is_object() const { return simd_ ? type() == kind::OBJECT : json_->is_object(); }
  [[nodiscard]] bool is_array() const { return simd_ ? type() == kind::ARRAY : json_->is_array(); }
  [[nodiscard]] bool is_string() const { return simd_ ? type() == kind::STRING : json_->is_string(); }
  [[nodiscard]] bool is_boolean() const { return simd_ ? type() == kind::BOOL : json_->is_boolean(); }
  [[nodiscard]] bool is_null() const { return simd_ ? type() == kind::NULL_VALUE : json_->is_null(); }
  [[nodiscard]] bool is_number() const { return is_number_integer() || (simd_ ? type() == kind::DOUBLE : json_->is_number()); }
  [[nodiscard]] bool is_number_integer() const {
    return simd_ ? type() == kind::INT64 || type() == kind::UINT64 : json_->is_number_integer();
  }
  /// (simdjson reads 5 as a signed integer; nlohmann, as unsigned: only "-0" is both
  /// non-negative and signed, and a text with it is read by nlohmann.)
  [[nodiscard]] bool is_number_unsigned() const {
    if (!simd_) return json_->is_number_unsigned();
    return type() == kind::UINT64 || (type() == kind::INT64 && element_.get_int64().value_unsafe() >= 0);
  }

  /// The string (is_string()).
  [[nodiscard]] std::string_view str() const {
    return simd_ ? element_.get_string().value_unsafe() : std::string_view(json_->get_ref<const std::string&>());
  }
  [[nodiscard]] bool boolean() const { return simd_ ? element_.get_bool().value_unsafe() : json_->get<bool>(); }
  /// A number as nlohmann's get<double>, get<std::uint64_t>, get<std::int64_t> give it.
  [[nodiscard]] double number() const {
    if (!simd_) return json_->get<double>();
    switch (type()) {
      case kind::INT64: return static_cast<double>(element_.get_int64().value_unsafe());
      case kind::UINT64: return static_cast<double>(element_.get_uint64().value_unsafe());
      default: return element_.get_double().value_unsafe();
    }
  }
  [[nodiscard]] std::uint64_t unsigned_number() const {
    if (!simd_) return json_->get<std::uint64_t>();
    if (type() == kind::UINT64) return element_.get_uint64().value_unsafe();
    if (type() == kind::INT64) return static_cast<std::uint64_t>(element_.get_int64().value_unsafe());
    return static_cast<std::uint64_t>(element_.get_double().value_unsafe());
  }
  [[nodiscard]] std::int64_t signed_number() const {
    if (!simd_) return json_->get<std::int64_t>();
    if (type() == kind::INT64) return element_.get_int64().value_unsafe();
    if (type() == kind::UINT64) return static_cast<std::int64_t>(element_.get_uint64().value_unsafe());
    return static_cast<std::int64_t>(element_.get_double().value_unsafe());
  }

  /// A list's items, in order (is_array()).
  template <class F>
  void each_item(F&& f) const {
    if (!simd_) {
      for (const auto& item : *json_) f(value(item));
      return;
    }
    const simdjson::dom::array array = element_.get_array().value_unsafe();  // (not a temporary's: range-for)
    for (const simdjson::dom::element item : array) f(value(item));
  }
  /// The number of a list's items (is_array()).
  [[nodiscard]] std::size_t items() const {
    return simd_ ? element_.get_array().value_unsafe().size() : json_->size();
  }
  /// The first item of a non-empty list.
  [[nodiscard]] value front() const {
    if (!simd_) return value(json_->front());
    const simdjson::dom::array array = element_.get_array().value_unsafe();
    return value(*array.begin());
  }

  /// A copy as nlohmann::json: what nlohmann would have parsed (a literal for the
  /// resolver, a value quoted in a message).
  [[nodiscard]] json to_json() const {
    if (!simd_) return *json_;
    switch (type()) {
      case kind::OBJECT: {
        json out = json::object();
        // operator[]: keys in order, a repeated key's last value, as nlohmann parses.
        const simdjson::dom::object object = element_.get_object().value_unsafe();
        for (const auto field : object) {
          out[std::string(field.key)] = value(field.value).to_json();
        }
        return out;
      }
      case kind::ARRAY: {
        json out = json::array();
        const simdjson::dom::array array = element_.get_array().value_unsafe();
        for (const simdjson::dom::element item : array) {
          out.push_back(value(item).to_json());
        }
        return out;
      }
      case kind::INT64: {
        const std::int64_t v = element_.get_int64().value_unsafe();
        return v >= 0 ? json(static_cast<std::uint64_t>(v)) : json(v);
      }
      case kind::UINT64: return json(element_.get_uint64().value_unsafe());
      case kind::DOUBLE: return json(element_.get_double().value_unsafe());
      case kind::STRING: return json(std::string(element_.get_string().value_unsafe()));
      case kind::BOOL: return json(element_.get_bool().value_unsafe());
      case kind::NULL_VALUE: break;
    }
    return json(nullptr);
  }
  [[nodiscard]] std::string dump() const { return simd_ ? to_json().dump() : json_->dump(); }
  [[nodiscard]] std::string_view kind_name() const {
    if (!simd_) return json_kind_name(*json_);
    switch (type()) {
      case kind::OBJECT: return "object";
      case kind::ARRAY: return "list";
      case kind::INT64:
      case kind::UINT64: return "integer";
      case kind::DOUBLE: return "float";
      case kind::STRING: return "string";
      case kind::BOOL: return "boolean";
      case kind::NULL_VALUE: break;
    }
    return "null";
  }

 private:
  friend class members;
  using kind = simdjson::dom::element_type;
  [[nodiscard]] kind type() const { return element_.type(); }

  simdjson::dom::element element_;
  const json* json_ = nullptr;
  bool simd_ = false;
};

/// An object's members as nlohmann::json has them: in key order, each key once with its
/// last value. The writer writes keys in order and once: such an object, when small, is
/// read in place; another is sorted first (a key's values kept in the order written).
class members {
 public:
  /// `object`: an object, or absent (no members).
  explicit members(const value& object) {
    if (!object.present()) return;
    if (!object.simd_) {
      json_ = object.json_;
      return;
    }
    object_ = object.element_.get_object().value_unsafe();
    std::string_view previous;
    bool ordered = true;
    for (const auto field : object_) {
      if (size_ != 0 && !(previous < field.key)) ordered = false;
      previous = field.key;
      ++size_;
    }
    if (ordered && size_ <= in_place) {
      direct_ = true;
      return;
    }
    sorted_.reserve(size_);
    for (const auto field : object_) sorted_.emplace_back(field.key, value(field.value));
    std::stable_sort(sorted_.begin(), sorted_.end(), [](const auto& x, const auto& y) { return x.first < y.first; });
    std::size_t kept = 0;
    for (std::size_t i = 0; i < sorted_.size(); ++i) {
      if (i + 1 < sorted_.size() && sorted_[i + 1].first == sorted_[i].first) continue;  // a later value of the key
      sorted_[kept++] = sorted_[i];
    }
    sorted_.resize(kept);
    size_ = kept;
  }

  [[nodiscard]] std::size_t size() const { return json_ != nullptr ? json_->size() : size_; }
  [[nodiscard]] bool empty() const { return size() == 0; }

  [[nodiscard]] value find(std::string_view key) const {
    if (json_ != nullptr) {
      const auto it = json_->find(std::string(key));
      return it != json_->end() ? value(*it) : value();
    }
    if (direct_) {
      for (const auto field : object_) {
        if (field.key == key) return value(field.value);
      }
      return {};
    }
    const auto it = std::lower_bound(sorted_.begin(), sorted_.end(), key,
                                     [](const auto& member, std::string_view k) { return member.first < k; });
    return it != sorted_.end() && it->first == key ? it->second : value();
  }
  [[nodiscard]] bool contains(std::string_view key) const { return find(key).present(); }

  /// f(key, value) for each member, in key order.
  template <class F>
  void each(F&& f) const {
    if (json_ != nullptr) {
      for (auto it = json_->begin(); it != json_->end(); ++it) f(std::string_view(it.key()), value(it.value()));
    } else if (direct_) {
      for (const auto field : object_) f(field.key, value(field.value));
    } else {
      for (const auto& [key, v] : sorted_) f(key, v);
    }
  }
  /// The first member of a non-empty object.
  [[nodiscard]] std::pair<std::string_view, value> front() const {
    if (json_ != nullptr) return {json_->begin().key(), value(json_->begin().value())};
    if (direct_) {
      const auto field = *object_.begin();
      return {field.key, value(field.value)};
    }
    return sorted_.front();
  }

 private:
  static constexpr std::size_t in_place = 16;  // found by a scan; larger objects are sorted
  const json* json_ = nullptr;
  simdjson::dom::object object_;
  bool direct_ = false;
  std::size_t size_ = 0;
  std::vector<std::pair<std::string_view, value>> sorted_;
};

/// The string member `key` of an object, else "" (a futures file is untrusted input: no
/// throwing accessors on it).
inline std::string text_field(const members& object, std::string_view key) {
  const value v = object.find(key);
  return v.present() && v.is_string() ? std::string(v.str()) : std::string();
}

inline std::string clip(const value& j) {
  auto text = j.dump();
  if (text.size() > 80) text = text.substr(0, 77) + "...";
  return text;
}

/// Calls f(const json&) with the value as nlohmann::json (itself, or a copy).
template <class F>
decltype(auto) with_json(const value& v, F&& f) {
  if (const json* j = v.nlohmann()) return f(*j);
  const json copy = v.to_json();
  return f(copy);
}

/// "dn<i>" / "n<i>" as the writer writes them (no leading zeros), at any position.
inline bool is_node_id(std::string_view id, std::string_view prefix) {
  if (id.size() <= prefix.size() || id.substr(0, prefix.size()) != prefix || id.size() > prefix.size() + 10) return false;
  const auto digits = id.substr(prefix.size());
  if (digits.size() > 1 && digits[0] == '0') return false;
  return std::all_of(digits.begin(), digits.end(), [](char c) { return c >= '0' && c <= '9'; });
}

/// The writer's id of node i: prefix<i> (so it resolves arithmetically), with no string built.
inline bool is_canonical_id(std::string_view id, std::string_view prefix, std::size_t i) {
  if (id.size() <= prefix.size() || id.substr(0, prefix.size()) != prefix) return false;
  char digits[24];
  const auto [end, ec] = std::to_chars(digits, digits + sizeof digits, i);
  return id.substr(prefix.size()) == std::string_view(digits, static_cast<std::size_t>(end - digits));
}

/// Where a binding is, for messages: built only when there is a problem to report.
struct binding_site {
  static constexpr std::uint32_t output = 0xffffffffU;  // `node` of an output of the graph
  const futures_graph& fg;
  std::uint32_t node;
  std::string_view port;
  std::string suffix;  // "[2]" or "[\"key\"]" for an item of a collection
  [[nodiscard]] std::string str() const {
    return (node == output ? "output '" + std::string(port) + "'"
                           : "node " + fg.id(node) + " input '" + std::string(port) + "'") +
           suffix;
  }
};

/// Reads the nodes and outputs of one graph into a futures_graph.
class graph_reader {
 public:
  graph_reader(futures_document& doc, futures_resolver& resolver, futures_graph& fg, std::string at,
               bool allow_inputs, const std::vector<std::string>* allowed_inputs)
      : doc_(doc), options_(doc.options), resolver_(resolver), fg_(fg), at_(std::move(at)),
        allow_inputs_(allow_inputs), allowed_inputs_(allowed_inputs) {
    for (const auto& [name, entry] : doc_.entities) entities_.emplace(name, &entry);
  }

  /// `self`: the interface whose outputs the graph gives (null: untyped), named `self_name`.
  void read(const value& nodes, const value& outputs, const entity_interface* self, const std::string& self_name) {
    read_nodes(nodes);
    read_outputs(outputs, self, self_name);
    check_acyclic();
  }

 private:
  void problem(std::string text) { doc_.problems.push_back(at_ + std::move(text)); }

  static std::string_view entity_name(const members& node) {
    const value v = node.find("entity");
    return v.present() && v.is_string() ? v.str() : std::string_view();
  }

  void read_nodes(const value& nodes) {
    graph& g = fg_.g;
    const std::size_t count = nodes.items();
    // Fresh, large and filled at once: in huge pages where the system offers them.
    reserve_in_huge_pages(g.nodes, count);
    g.nodes.resize(count);
    reserve_in_huge_pages(g.bindings, 2 * count);
    reserve_in_huge_pages(fg_.entities, count);
    fg_.entities.assign(count, nullptr);
    fg_.canonical.assign(count, false);
    // First pass: ids, entities, maps (and branches), so that references may point anywhere.
    std::size_t i = 0;
    nodes.each_item([&](const value& node_value) {
      const std::size_t at = i++;
      first_pass(node_value, at);
    });
    // A non-canonical id that spells a canonical one ("dn3" at position 5) is a duplicate.
    for (const auto& [id, index] : fg_.other_ids) {
      const auto at = fg_.find(id);
      if (at && *at != index) problem("node " + id + ": duplicate id");
    }
    // Second pass: the bindings.
    i = 0;
    nodes.each_item([&](const value& node_value) {
      const std::size_t at = i++;
      second_pass(node_value, at);
    });
  }

  void first_pass(const value& node_value, std::size_t i) {
    graph& g = fg_.g;
    const auto index = static_cast<std::uint32_t>(i);
    if (!node_value.is_object()) {
      problem("node #" + std::to_string(i) + ": must be an object, got " + clip(node_value));
      return;
    }
    const members node(node_value);
    const value id_field = node.find("id");
    if (!id_field.present() || !id_field.is_string()) {
      problem("node #" + std::to_string(i) + ": needs a string \"id\"");
    } else {
      const std::string_view id = id_field.str();
      // The writer's ids are prefix<i> for node i: those resolve arithmetically; only
      // other ids go into the table (a 200,000-entry hash table is a quarter of a read).
      if (is_canonical_id(id, g.node_prefix, i)) {
        fg_.canonical[i] = true;
      } else {
        fg_.other_id_of.emplace(index, std::string(id));
        if (!fg_.other_ids.emplace(std::string(id), index).second) problem("node " + std::string(id) + ": duplicate id");
        if (options_.whole_file && !is_node_id(id, g.node_prefix)) {
          const std::string p(g.node_prefix);
          problem("node " + std::string(id) + ": id must be " + p + "<index> like the rest (" + p + "0, " + p + "1, ...)");
        }
      }
    }
    if (options_.whole_file) {
      node.each([&](std::string_view key, const value&) {
        if (key != "id" && key != "entity" && key != "inputs" && key != "map" && key != "when") {
          problem("node " + fg_.id(index) + ": unknown field \"" + std::string(key) + "\"");
        }
      });
    }
    const std::string_view name = entity_name(node);
    g.nodes[i].name = name;
    const auto entry_it = entities_.find(name);
    const futures_entity* entry = entry_it != entities_.end() ? entry_it->second : nullptr;
    if (auto why = resolver_.node_entity(std::string(name), entry)) {
      problem("node " + fg_.id(index) + ": entity '" + std::string(name) + "' is " + *why);
      entry = nullptr;
    }
    fg_.entities[i] = entry;
    if (entry != nullptr && entry->has_interface) {
      g.nodes[i].output_count = static_cast<std::uint32_t>(entry->interface.outputs.size());
    }
    if (const value map = node.find("map"); map.present()) read_map(map, entry, index);
    if (options_.whole_file) {
      if (const value when = node.find("when"); when.present()) read_when(when, index);
    }
  }

  void second_pass(const value& node_value, std::size_t i) {
    graph& g = fg_.g;
    if (!node_value.is_object()) return;
    const auto index = static_cast<std::uint32_t>(i);
    graph_node& n = g.nodes[i];
    n.first_input = static_cast<std::uint32_t>(g.bindings.size());
    const members node(node_value);
    const value inputs_value = node.find("inputs");
    if (!inputs_value.present() && options_.whole_file) {
      problem("node " + fg_.id(index) + ": no \"inputs\" object");
      return;
    }
    if (inputs_value.present() && !inputs_value.is_object()) {
      problem("node " + fg_.id(index) + ": \"inputs\" must be an object");
      return;
    }
    const members inputs(inputs_value);  // (absent: none)
    const futures_entity* entry = fg_.entities[i];
    if (entry == nullptr || !entry->has_interface) {
      // Undeclared (already a problem): still follow the references, for the graph's shape.
      n.input_count = static_cast<std::uint32_t>(inputs.size());
      std::uint32_t k = 0;
      inputs.each([&](std::string_view port, const value& b) {
        g.bindings.push_back(read_binding(b, nullptr, binding_site{fg_, index, port, {}}, index, k++));
      });
      return;
    }
    const auto& ports = entry->interface.inputs;
    n.input_count = static_cast<std::uint32_t>(ports.size());
    const map_spec* spec = fg_.map_of(index);
    for (std::size_t k = 0; k < ports.size(); ++k) {
      const port& p = ports[k];
      const value b = inputs.find(p.name);
      if (!b.present()) {
        problem("node " + fg_.id(index) + " input '" + p.name + "': no binding (expected " + p.type.to_string() + ")");
        g.bindings.push_back({});
        continue;
      }
      if (spec != nullptr && ((spec->mapped >> k) & 1U)) {
        const type_descriptor list(type_kind::list, {p.type});
        g.bindings.push_back(read_binding(b, &list, binding_site{fg_, index, p.name, {}}, index, static_cast<std::uint32_t>(k)));
      } else {
        g.bindings.push_back(read_binding(b, &p.type, binding_site{fg_, index, p.name, {}}, index, static_cast<std::uint32_t>(k)));
      }
    }
    inputs.each([&](std::string_view name, const value&) {
      const bool known = std::any_of(ports.begin(), ports.end(), [&](const port& p) { return p.name == name; });
      if (!known) problem("node " + fg_.id(index) + ": unknown input '" + std::string(name) + "' for " + std::string(n.name));
    });
  }

  /// A node's "map": {"mapped": [input names], "concurrency": n, "partial": bool,
  /// "min_success_ratio": r, "min_successes": k or null}.
  void read_map(const value& map_value, const futures_entity* entry, std::uint32_t i) {
    const std::string entity(fg_.g.nodes[i].name);
    const auto bad = [&](const std::string& what) { problem("node " + fg_.id(i) + ": \"map\": " + what); };
    if (entry != nullptr && !entry->kind.empty() && entry->kind != "task") {
      return bad(entity + " is a " + entry->kind + ", not a task");
    }
    if (!map_value.is_object()) return bad("must be an object");
    const members m(map_value);
    if (options_.whole_file) {
      m.each([&](std::string_view key, const value&) {
        if (key != "mapped" && key != "concurrency" && key != "partial" && key != "min_success_ratio" &&
            key != "min_successes") {
          bad("unknown field \"" + std::string(key) + "\"");
        }
      });
    }
    map_spec spec;
    std::vector<std::string> names;
    const value mapped = m.find("mapped");
    if (!mapped.present() || !mapped.is_array() || mapped.items() == 0) {
      return bad("needs \"mapped\": a non-empty list of input names");
    }
    const bool typed = entry != nullptr && entry->has_interface;
    bool ok = true;
    mapped.each_item([&](const value& input) {
      if (!ok) return;
      if (typed) {
        const auto& inputs = entry->interface.inputs;
        const auto at = std::find_if(inputs.begin(), inputs.end(),
                                     [&](const port& p) { return input.is_string() && p.name == input.str(); });
        if (at == inputs.end()) {
          ok = false;
          return bad("mapped input " + input.dump() + " is not an input of " + entity);
        }
        spec.mapped |= std::uint64_t{1} << static_cast<std::size_t>(at - inputs.begin());
      } else if (!input.is_string()) {
        ok = false;
        return bad("\"mapped\" must hold input names");
      }
      names.emplace_back(input.str());
    });
    if (!ok) return;
    const value concurrency = m.find("concurrency");
    if (concurrency.present()) {
      if (!concurrency.is_number_unsigned()) return bad("\"concurrency\" must be a non-negative integer");
      spec.concurrency = static_cast<std::size_t>(concurrency.unsigned_number());
    }
    const value partial = m.find("partial");
    if (partial.present()) {
      if (!partial.is_boolean()) return bad("\"partial\" must be true or false");
      spec.partial = partial.boolean();
    }
    const value ratio = m.find("min_success_ratio");
    if (ratio.present()) {
      if (!ratio.is_number() || ratio.number() < 0.0 || ratio.number() > 1.0) {
        return bad("\"min_success_ratio\" must be a number from 0 to 1");
      }
      spec.min_success_ratio = ratio.number();
    }
    const value at_least = m.find("min_successes");
    if (at_least.present() && !at_least.is_null()) {
      if (!at_least.is_number_unsigned()) return bad("\"min_successes\" must be a non-negative integer or null");
      spec.min_successes = at_least.signed_number();
    }
    graph_node& n = fg_.g.nodes[i];
    n.kind = node_kind::map;
    n.map = static_cast<std::uint32_t>(fg_.g.maps.size());
    fg_.g.maps.push_back(spec);
    fg_.mapped.push_back(std::move(names));
  }

  /// A node's "when" (inside a branch of a wf.when): its branch node, an earlier node of
  /// the same graph, and its side.
  void read_when(const value& when_value, std::uint32_t i) {
    const std::string where = "node " + fg_.id(i) + ": \"when\"";
    if (!when_value.is_object()) return problem(where + " must be an object {\"branch\": id, \"side\": \"then\"|\"else\"}");
    const members when(when_value);
    when.each([&](std::string_view key, const value&) {
      if (key != "branch" && key != "side") problem(where + ": unknown field \"" + std::string(key) + "\"");
    });
    graph_node& n = fg_.g.nodes[i];
    const value branch = when.find("branch");
    // The branch node's index, kept in a plain integer: g++ 12 at -O3 warns that an
    // optional's value may be read uninitialized below (-Wmaybe-uninitialized), wrongly.
    std::uint32_t at = 0;
    bool named = false;
    if (branch.present() && branch.is_string()) {
      if (const auto found = fg_.find(branch.str())) {
        at = *found;
        named = true;
      }
    }
    bool ok = true;
    if (!named || at >= i) {
      problem(where + ": \"branch\" must name an earlier node");
      ok = false;
    } else if (const std::string kind = kind_of(at); !kind.empty() && kind != "branch") {
      problem(where + ": \"branch\" names " + std::string(branch.str()) + ", a " + kind + " node, not a branch node");
      ok = false;
    }
    const value side = when.find("side");
    if (!side.present() || !side.is_string() || (side.str() != "then" && side.str() != "else")) {
      return problem(where + ": \"side\" must be \"then\" or \"else\"");
    }
    if (!ok) return;
    n.guard = at;
    n.side = side.str() == "then" ? branch_side::then_side : branch_side::else_side;
  }

  /// A node's kind as written: "map" for a map node, else its entity's ("" if undeclared).
  [[nodiscard]] std::string kind_of(std::uint32_t i) const {
    if (fg_.g.nodes[i].kind == node_kind::map) return "map";
    return fg_.entities[i] != nullptr ? fg_.entities[i]->kind : std::string();
  }

  void read_outputs(const value& outputs_value, const entity_interface* self, const std::string& self_name) {
    graph& g = fg_.g;
    if (!outputs_value.present() || !outputs_value.is_object()) return problem("no \"outputs\" object");
    const members outputs(outputs_value);
    constexpr auto none = literal_place::no_node;
    if (self != nullptr) {
      for (std::size_t o = 0; o < self->outputs.size(); ++o) {
        const port& p = self->outputs[o];
        fg_.output_names.push_back(p.name);
        const value b = outputs.find(p.name);
        if (!b.present()) {
          problem("output '" + p.name + "': no binding (expected " + p.type.to_string() + ")");
          g.outputs.push_back({});
          continue;
        }
        g.outputs.push_back(read_binding(b, &p.type, binding_site{fg_, binding_site::output, p.name, {}}, none,
                                         static_cast<std::uint32_t>(o)));
      }
      outputs.each([&](std::string_view name, const value&) {
        const bool known =
            std::any_of(self->outputs.begin(), self->outputs.end(), [&](const port& p) { return p.name == name; });
        if (!known) problem("unknown output '" + std::string(name) + "' for " + self_name);
      });
      return;
    }
    std::uint32_t o = 0;
    outputs.each([&](std::string_view name, const value& b) {
      if (options_.whole_file && !is_node_id(name, "o")) {
        problem("output '" + std::string(name) + "': outputs are named o0, o1, ...");
      }
      fg_.output_names.emplace_back(name);
      g.outputs.push_back(read_binding(b, nullptr, binding_site{fg_, binding_site::output, name, {}}, none, o++));
    });
    if (options_.whole_file) {
      for (std::size_t k = 0; k < outputs.size(); ++k) {
        if (!outputs.contains("o" + std::to_string(k))) {
          problem("outputs: o" + std::to_string(k) + " is missing (outputs are o0, o1, ... without gaps)");
        }
      }
    }
  }

  /// One binding, of `type` (null: undeclared, only its shape is read); `item` reads an
  /// element of a collection. `node`/`port`: where it is, for the resolver.
  binding read_binding(const value& b, const type_descriptor* type, const binding_site& site, std::uint32_t node,
                       std::uint32_t port, bool item = false) {
    const members one = b.is_object() ? members(b) : members(value());
    if (!b.is_object() || one.size() != 1) {
      problem(site.str() + ": not a binding (expected one of literal, ref, " + (allow_inputs_ ? "input, " : "") +
              "list, map, stored): " + clip(b));
      return {};
    }
    const auto [kind, content] = one.front();
    // The type of one item where a collection item is read.
    const type_descriptor* wanted = type;
    if (item && type != nullptr) {
      wanted = type->kind() == type_kind::list || type->kind() == type_kind::map ? &type->elements().at(0) : nullptr;
    }
    if (kind == "literal") return literal(content, wanted, site, node, port, item, nullptr);
    if (kind == "stored") return stored(content, wanted, site, node, port, item);
    if (kind == "ref") return ref(content, wanted, site);
    if (kind == "input") return input(content, site);
    if ((kind == "list" || kind == "map") && !item) {
      const bool is_map = kind == "map";
      if (type != nullptr && type->kind() != (is_map ? type_kind::map : type_kind::list)) {
        problem(site.str() + ": a " + std::string(kind) + " of bindings cannot feed " + type->to_string());
        return {};
      }
      if (is_map ? !content.is_object() : !content.is_array()) {
        problem(site.str() + ": \"" + std::string(kind) + "\" must hold " + (is_map ? "an object" : "a list") +
                " of bindings");
        return {};
      }
      graph& g = fg_.g;
      collection c;
      c.is_map = is_map;
      std::vector<binding> items;
      std::vector<std::string> keys;
      const auto one_item = [&](std::string suffix, const value& entry) {
        const binding_site item_site{site.fg, site.node, site.port, site.suffix + suffix};
        items.push_back(read_binding(entry, type, item_site, node, port, true));
      };
      if (is_map) {
        members(content).each([&](std::string_view key, const value& entry) {
          one_item("[\"" + std::string(key) + "\"]", entry);
          keys.emplace_back(key);
        });
      } else {
        std::size_t k = 0;
        content.each_item([&](const value& entry) {
          // Appended, not "[" + ... + "]": g++ 12 at -O3 warns of an overlap in the
          // inlined concatenation (-Wrestrict, GCC bug 105329).
          std::string index = "[";
          index += std::to_string(k++);
          index += ']';
          one_item(index, entry);
        });
      }
      c.first_item = static_cast<std::uint32_t>(g.items.size());
      c.item_count = static_cast<std::uint32_t>(items.size());
      c.first_key = static_cast<std::uint32_t>(g.keys.size());
      g.items.insert(g.items.end(), items.begin(), items.end());
      g.keys.insert(g.keys.end(), std::make_move_iterator(keys.begin()), std::make_move_iterator(keys.end()));
      const auto index = static_cast<std::uint32_t>(g.collections.size());
      g.collections.push_back(c);
      return {source_kind::collection, 0, index, 0};
    }
    problem(site.str() + ": not a binding here: \"" + std::string(kind) + "\"");
    return {};
  }

  binding literal(const value& content, const type_descriptor* wanted, const binding_site& site, std::uint32_t node,
                  std::uint32_t port, bool item, const std::string* stored_key) {
    if (wanted == nullptr) return {source_kind::literal, 0, 0, 0};  // undeclared: nothing to check it against
    std::uint32_t index = 0;
    const literal_place place{fg_, node, port, item, *wanted, site.port, site.suffix};
    if (auto why = with_json(content, [&](const json& j) { return resolver_.literal(j, place, index); })) {
      problem(site.str() + (stored_key != nullptr ? ": stored object '" + *stored_key + "' does not match "
                                                  : std::string(": literal does not match ")) +
              wanted->to_string() + ": " + *why);
      return {};
    }
    return {source_kind::literal, 0, index, 0};
  }

  binding stored(const value& content, const type_descriptor* wanted, const binding_site& site, std::uint32_t node,
                 std::uint32_t port, bool item) {
    if (!content.is_string()) {
      problem(site.str() + ": \"stored\" needs an object store key");
      return {};
    }
    const std::string key(content.str());
    try {
      object_store::check_key(key);
    } catch (const std::exception& e) {
      problem(site.str() + ": stored object '" + key + "': " + e.what());
      return {};
    }
    if (!options_.stored_prefix.empty() && key.rfind(options_.stored_prefix + "/", 0) != 0) {
      problem(site.str() + ": stored object '" + key + "' is outside this node's keys (" + options_.stored_prefix +
              "/...)");
      return {};
    }
    if (options_.store == nullptr) {
      if (options_.stored_needs_store) {
        problem(site.str() + ": refers to stored object '" + key + "' but no object store is given");
      }
      return {};
    }
    json loaded;
    try {
      const auto bytes = options_.store->get(key);
      if (!bytes) {
        problem(site.str() + ": stored object '" + key + "' does not exist");
        return {};
      }
      if (bytes->size() > options_.max_bytes) {
        problem(site.str() + ": stored object '" + key + "' is oversized: " + std::to_string(bytes->size()) +
                " bytes, over the limit of " + std::to_string(options_.max_bytes));
        return {};
      }
      loaded = json::parse(*bytes);
    } catch (const std::exception& e) {
      problem(site.str() + ": stored object '" + key + "': " + e.what());
      return {};
    }
    return literal(value(loaded), wanted, site, node, port, item, &key);
  }

  binding ref(const value& content, const type_descriptor* wanted, const binding_site& site) {
    if (!content.is_string()) {
      problem(site.str() + ": \"ref\" must be \"<node id>.<output>\"");
      return {};
    }
    const std::string_view text = content.str();
    const auto dot = text.rfind('.');
    if (dot == std::string_view::npos) {
      problem(site.str() + ": \"ref\" must be \"<node id>.<output>\", got \"" + std::string(text) + "\"");
      return {};
    }
    const std::string_view node = text.substr(0, dot);
    const std::string_view output = text.substr(dot + 1);
    const auto producer = fg_.find(node);
    if (!producer) {
      problem(site.str() + ": dangling reference to node " + std::string(node) + " (no such node)");
      return {};
    }
    const binding edge{source_kind::node_output, *producer, futures_graph::unknown_output, 0};
    const futures_entity* entry = fg_.entities[*producer];
    if (entry == nullptr || !entry->has_interface) return edge;  // already reported
    const auto& outs = entry->interface.outputs;
    const auto o = std::find_if(outs.begin(), outs.end(), [&](const port& p) { return p.name == output; });
    if (o == outs.end()) {
      problem(site.str() + ": dangling reference: node " + std::string(node) + " (" +
              std::string(fg_.g.nodes[*producer].name) + ") has no output '" + std::string(output) + "'");
      return edge;
    }
    const auto index = static_cast<std::uint32_t>(o - outs.begin());
    if (wanted != nullptr) {
      // A map node's outputs are lists (of optionals when partial).
      const map_spec* spec = fg_.map_of(*producer);
      const auto mismatch = [&](const type_descriptor& found) {
        problem(site.str() + ": type mismatch: expected " + wanted->to_string() + ", found " + found.to_string() +
                " (output " + std::string(output) + " of node " + std::string(node) + ", " +
                std::string(fg_.g.nodes[*producer].name) + (spec != nullptr ? " mapped" : "") + ")");
      };
      if (spec == nullptr) {
        if (o->type != *wanted) mismatch(o->type);
      } else {
        type_descriptor found = o->type;
        if (spec->partial) found = type_descriptor(type_kind::optional, {found});
        found = type_descriptor(type_kind::list, {found});
        if (found != *wanted) mismatch(found);
      }
    }
    return {source_kind::node_output, *producer, index, 0};
  }

  binding input(const value& content, const binding_site& site) {
    if (!allow_inputs_) {
      problem(site.str() + ": not a binding here: \"input\" (only in a static workflow's graph)");
      return {};
    }
    if (!content.is_string() || content.str().empty()) {
      problem(site.str() + ": \"input\" must name an input of the workflow");
      return {};
    }
    const std::string name(content.str());
    if (allowed_inputs_ != nullptr &&
        std::find(allowed_inputs_->begin(), allowed_inputs_->end(), name) == allowed_inputs_->end()) {
      std::string known;
      for (const auto& n : *allowed_inputs_) known += (known.empty() ? "" : ", ") + n;
      problem(site.str() + ": no input '" + name + "' in this workflow (its inputs: " + (known.empty() ? "none" : known) +
              ")");
      return {};
    }
    auto& names = fg_.input_names;
    auto at = std::find(names.begin(), names.end(), name);
    if (at == names.end()) at = names.insert(names.end(), name);
    return {source_kind::input, 0, static_cast<std::uint32_t>(at - names.begin()), 0};
  }

  /// Kahn's order over the refs: the nodes it cannot place wait on each other. The
  /// consumers of each node are one array (counted, then placed), not a vector per node.
  void check_acyclic() {
    const graph& g = fg_.g;
    const std::size_t count = g.nodes.size();
    std::vector<std::uint32_t> waiting(count, 0);
    std::vector<std::uint32_t> first(count + 1, 0);  // node i's consumers: consumers[first[i], first[i + 1])
    std::vector<std::uint32_t> consumers;
    const auto each_edge = [&](auto&& edge) {
      for (std::uint32_t i = 0; i < count; ++i) {
        const graph_node& n = g.nodes[i];
        for (std::uint32_t k = 0; k < n.input_count; ++k) {
          const binding& b = g.input_of(n, k);
          if (b.from == source_kind::collection) {
            const collection& c = g.collections[b.index];
            for (std::uint32_t j = 0; j < c.item_count; ++j) {
              const binding& item = g.items[c.first_item + j];
              if (item.from == source_kind::node_output) edge(item.node, i);
            }
          } else if (b.from == source_kind::node_output) {
            edge(b.node, i);
          }
        }
      }
    };
    each_edge([&](std::uint32_t producer, std::uint32_t consumer) {
      ++first[producer + 1];
      ++waiting[consumer];
    });
    for (std::size_t i = 0; i < count; ++i) first[i + 1] += first[i];
    consumers.resize(first[count]);
    std::vector<std::uint32_t> next(first.begin(), first.end() - 1);
    each_edge([&](std::uint32_t producer, std::uint32_t consumer) { consumers[next[producer]++] = consumer; });
    std::vector<std::uint32_t> ready;
    for (std::uint32_t i = 0; i < count; ++i) {
      if (waiting[i] == 0) ready.push_back(i);
    }
    std::size_t placed = 0;
    while (!ready.empty()) {
      const auto n = ready.back();
      ready.pop_back();
      ++placed;
      for (std::uint32_t c = first[n]; c < first[n + 1]; ++c) {
        if (--waiting[consumers[c]] == 0) ready.push_back(consumers[c]);
      }
    }
    if (placed == count) return;
    std::string members;
    std::size_t listed = 0;
    for (std::uint32_t i = 0; i < count && listed < 10; ++i) {
      if (waiting[i] == 0) continue;
      members += (listed++ == 0 ? "" : ", ") + fg_.id(i);
    }
    problem("cycle: " + std::to_string(count - placed) + " nodes wait on each other, among them " + members);
  }

  futures_document& doc_;
  const futures_document_options& options_;
  futures_resolver& resolver_;
  futures_graph& fg_;
  std::string at_;  // "" at the top, "subworkflow 'NAME': " in one
  bool allow_inputs_;
  const std::vector<std::string>* allowed_inputs_;  // null: any name (when allowed)
  std::unordered_map<std::string_view, const futures_entity*> entities_;  // doc_.entities by name
};

}  // namespace futures_structure

namespace futures_structure {

/// One simdjson parser kept between reads. A parser's buffers (the padded text, its
/// structural indexes, the tape and the strings: about five times the text) are fresh
/// memory when it is new, and touching that memory the first time (page faults) costs
/// more than the parse itself: ten times more on the benchmarks' VM. Reused, the pages
/// are there. A process keeps at most one, of at most `kept_capacity` bytes of text
/// (a larger one is freed after its read): about what the heap kept of nlohmann's
/// document of the same file before.
class parser_cache {
 public:
  static constexpr std::size_t kept_capacity = std::size_t{32} << 20;

  static std::unique_ptr<simdjson::dom::parser> take() {
    auto& c = instance();
    {
      const std::lock_guard lock(c.mutex_);
      if (c.idle_) return std::move(c.idle_);
    }
    return std::make_unique<simdjson::dom::parser>();
  }
  static void give_back(std::unique_ptr<simdjson::dom::parser> parser) {
    if (parser == nullptr || parser->capacity() > kept_capacity) return;
    auto& c = instance();
    const std::lock_guard lock(c.mutex_);
    if (!c.idle_) c.idle_ = std::move(parser);
  }

 private:
  static parser_cache& instance() {
    static auto* const cache = new parser_cache;  // never destroyed: a read may end during exit
    return *cache;
  }
  std::mutex mutex_;
  std::unique_ptr<simdjson::dom::parser> idle_;
};

}  // namespace futures_structure

/// The text as read: simdjson's DOM (in a parser lent by parser_cache), or nlohmann's
/// document (futures_document::document).
struct futures_document::parsed_text {
  std::unique_ptr<simdjson::dom::parser> parser;
  futures_structure::value root;
  parsed_text() = default;
  parsed_text(const parsed_text&) = delete;
  parsed_text& operator=(const parsed_text&) = delete;
  ~parsed_text() { futures_structure::parser_cache::give_back(std::move(parser)); }
};

LOOM_FUNC futures_document::futures_document(futures_document_options options_) : options(std::move(options_)) {}
LOOM_FUNC futures_document::~futures_document() = default;

namespace futures_structure {

/// Whether the text holds the integer -0, which nlohmann reads as signed and simdjson as
/// 0 (a "-0" in a string counts too: the text is then only read the slower way).
inline bool has_negative_zero(std::string_view text) {
  const char* at = text.data();
  const char* const end = text.data() + text.size();
  while ((at = static_cast<const char*>(std::memchr(at, '-', static_cast<std::size_t>(end - at)))) != nullptr) {
    ++at;
    if (at == end || *at != '0') continue;
    const char next = at + 1 < end ? at[1] : ' ';
    if (!(next >= '0' && next <= '9') && next != '.' && next != 'e' && next != 'E') return true;
  }
  return false;
}

}  // namespace futures_structure

LOOM_FUNC bool futures_document::read_frame(std::string_view text) {
  using futures_structure::members;
  using futures_structure::value;
  const auto fatal = [this](std::string problem) {
    problems.push_back(std::move(problem));
    return false;
  };
  if (text.size() > options.max_bytes) {
    return fatal("oversized: " + std::to_string(text.size()) + " bytes, over the limit of " +
                 std::to_string(options.max_bytes));
  }
  if (options.max_depth != 0) {
    if (const auto depth = json_depth(text); depth > options.max_depth) {
      return fatal("nested " + std::to_string(depth) + " levels deep, over the limit of " +
                   std::to_string(options.max_depth));
    }
  }
  // simdjson's DOM when it reads the text as nlohmann does; otherwise (text it refuses:
  // not JSON, numbers beyond 64 bits, a byte order mark, nesting over 1024; or a -0)
  // nlohmann's document, whose parse error is the message.
  parsed = std::make_unique<parsed_text>();
  simdjson::dom::element root;
  if (!futures_structure::has_negative_zero(text) &&
      (parsed->parser = futures_structure::parser_cache::take())->parse(text.data(), text.size()).get(root) ==
          simdjson::SUCCESS) {
    parsed->root = value(root);
    if (options.keep_document) document = json::parse(text);
  } else {
    try {
      document = json::parse(text);
    } catch (const json::parse_error& e) {
      document = nullptr;
      return fatal(std::string("not valid JSON (truncated or corrupt?): ") + e.what());
    }
    parsed->root = value(document);
  }
  const value& doc = parsed->root;
  if (!doc.is_object()) return fatal("the file must be a JSON object, not " + std::string(doc.kind_name()));
  const members fields(doc);
  if (futures_structure::text_field(fields, "format") != "loom-futures") {
    return fatal("not a futures file: \"format\" is not \"loom-futures\"");
  }
  const value version = fields.find("version");
  if (!version.present() || !version.is_number_integer()) return fatal("no integer \"version\"");
  if (version.signed_number() != futures_format_version) {
    return fatal("unsupported version " + version.dump() + " (this reader knows version " +
                 std::to_string(futures_format_version) + ")");
  }
  workflow = futures_structure::text_field(fields, "workflow");
  if (workflow.empty()) return fatal("no \"workflow\" name");
  if (options.whole_file) {
    static const std::set<std::string, std::less<>> known = {"format", "version", "workflow", "entities",
                                                             "nodes",  "outputs", "subworkflows"};
    fields.each([&](std::string_view key, const value&) {
      if (known.count(key) == 0) {
        problems.push_back("unknown field \"" + std::string(key) + "\" (version 1 has no such field)");
      }
    });
  }
  return true;
}

LOOM_FUNC bool futures_document::read_entities() {
  using futures_structure::members;
  using futures_structure::value;
  const value table = members(parsed->root).find("entities");
  if (!table.present() || !table.is_object()) {
    problems.push_back("no \"entities\" table");
    return false;
  }
  const bool whole = options.whole_file;
  members(table).each([&](std::string_view name_view, const value& spec_value) {
    const std::string name(name_view);
    futures_entity e;
    const std::string at = "entity '" + name + "'";
    if (whole && name.empty()) problems.push_back("an entity with an empty name");
    if (!spec_value.is_object()) {
      problems.push_back(at + ": the entry must be an object");
      entities.emplace(name, std::move(e));
      return;
    }
    const members spec(spec_value);
    e.is_object = true;
    e.kind = futures_structure::text_field(spec, "kind");
    e.version = futures_structure::text_field(spec, "version");
    const value interface = spec.find("interface");
    if (whole) {
      spec.each([&](std::string_view key, const value&) {
        if (key != "kind" && key != "version" && key != "interface") {
          problems.push_back(at + ": unknown field \"" + std::string(key) + "\"");
        }
      });
      static const std::set<std::string> kinds = {"task", "workflow", "dynamic", "branch", "merge"};
      if (kinds.count(e.kind) == 0) {
        problems.push_back(at + ": \"kind\" must be \"task\", \"workflow\", \"dynamic\", \"branch\" or \"merge\"");
        e.kind.clear();
      }
      const value version = spec.find("version");
      if (!version.present() || !version.is_string()) problems.push_back(at + ": no \"version\" string");
      if (!interface.present() || !interface.is_object()) {
        problems.push_back(at + ": no \"interface\" object");
        entities.emplace(name, std::move(e));
        return;
      }
    }
    try {
      e.interface = entity_interface::from_json(interface.present() ? interface.to_json() : json());
      e.has_interface = true;
    } catch (const std::exception& ex) {
      problems.push_back(at + ": bad interface: " + ex.what());
    }
    if (whole && e.has_interface) {
      std::set<std::string> seen;
      for (const auto& p : e.interface.inputs) {
        if (p.name.empty()) problems.push_back(at + ": an input with an empty name");
        if (!seen.insert(p.name).second) problems.push_back(at + ": two inputs named '" + p.name + "'");
      }
      for (std::size_t o = 0; o < e.interface.outputs.size(); ++o) {
        if (e.interface.outputs[o].name != positional_name('o', o)) {
          problems.push_back(at + ": output " + std::to_string(o) + " is named '" + e.interface.outputs[o].name +
                             "', expected 'o" + std::to_string(o) + "'");
        }
      }
    }
    entities.emplace(name, std::move(e));
  });
  return true;
}

LOOM_FUNC bool futures_document::read_graphs(futures_resolver& resolver, const entity_interface* self) {
  using futures_structure::graph_reader;
  using futures_structure::members;
  using futures_structure::value;
  const members doc(parsed->root);
  const value nodes = doc.find("nodes");
  if (!nodes.present() || !nodes.is_array()) {
    problems.push_back("no \"nodes\" list");
    return false;
  }
  if (nodes.items() > options.max_nodes) {
    problems.push_back("too many nodes: " + std::to_string(nodes.items()) + ", over the limit of " +
                       std::to_string(options.max_nodes));
    return false;
  }
  const bool whole = options.whole_file;
  // The id scheme: `dn` in a dynamic sub-DAG, `n` in a static workflow's graph (read whole).
  if (whole && nodes.items() != 0 && nodes.front().is_object()) {
    const value id = members(nodes.front()).find("id");
    static_ids = id.present() && id.is_string() && futures_structure::is_node_id(id.str(), "n");
  }
  top.g.name = workflow;
  top.g.node_prefix = static_ids ? "n" : "dn";
  // A static graph's own inputs, when its entity is declared (a root graph's is).
  std::optional<std::vector<std::string>> top_inputs;
  if (static_ids && self != nullptr) {
    top_inputs.emplace();
    for (std::size_t i = 0; i < self->inputs.size(); ++i) {
      top_inputs->push_back(positional_name('i', i));
      top_inputs->push_back(self->inputs[i].name);
    }
  }
  graph_reader(*this, resolver, top, "", static_ids, top_inputs ? &*top_inputs : nullptr)
      .read(nodes, doc.find("outputs"), self, workflow);
  if (!whole) return true;
  const value subs = doc.find("subworkflows");
  if (!subs.present()) {
    problems.push_back("no \"subworkflows\" table");
    return true;
  }
  if (!subs.is_object()) {
    problems.push_back("\"subworkflows\" must be an object");
    return true;
  }
  members(subs).each([&](std::string_view name_view, const value& spec_value) {
    const std::string name(name_view);
    const std::string at = "subworkflow '" + name + "'";
    futures_graph& fg = subworkflows[name];
    fg.g.name = name;
    fg.g.node_prefix = "n";
    if (!spec_value.is_object()) {
      problems.push_back(at + ": must be an object");
      return;
    }
    const members spec(spec_value);
    spec.each([&](std::string_view key, const value&) {
      if (key != "inputs" && key != "nodes" && key != "outputs") {
        problems.push_back(at + ": unknown field \"" + std::string(key) + "\"");
      }
    });
    const auto entry = entities.find(name);
    const futures_entity* own = entry != entities.end() ? &entry->second : nullptr;
    if (own == nullptr) {
      problems.push_back(at + ": no entity '" + name + "' in the entities table");
    } else if (!own->kind.empty() && own->kind != "workflow") {
      problems.push_back(at + ": entity '" + name + "' is a " + own->kind + ", not a workflow");
    }
    const entity_interface* interface = own != nullptr && own->has_interface ? &own->interface : nullptr;
    const value inputs = spec.find("inputs");
    if (!inputs.present() || !inputs.is_array()) {
      problems.push_back(at + ": no \"inputs\" list");
    } else {
      inputs.each_item([&](const value& input) {
        if (!input.is_string() || input.str().empty()) {
          problems.push_back(at + ": an input name must be a non-empty string, got " + futures_structure::clip(input));
          return;
        }
        fg.inputs.emplace_back(input.str());
      });
      if (interface != nullptr && fg.inputs.size() != interface->inputs.size()) {
        problems.push_back(at + ": " + std::to_string(fg.inputs.size()) + " inputs, its entity declares " +
                           std::to_string(interface->inputs.size()));
      }
    }
    const value sub_nodes = spec.find("nodes");
    if (!sub_nodes.present() || !sub_nodes.is_array()) {
      problems.push_back(at + ": no \"nodes\" list");
      return;
    }
    if (sub_nodes.items() > options.max_nodes) {
      problems.push_back(at + ": too many nodes: " + std::to_string(sub_nodes.items()) + ", over the limit of " +
                         std::to_string(options.max_nodes));
      return;
    }
    graph_reader(*this, resolver, fg, at + ": ", true, &fg.inputs).read(sub_nodes, spec.find("outputs"), interface, name);
  });
  return true;
}

}  // namespace loom::detail
