// src/graph_recorder.cpp — recording nodes and literals into a graph at run time
// (loom/detail/graph_recorder.hpp): the part that does not depend on the entity's
// types, compiled once.
#include <loom/detail/graph_recorder.hpp>
#include <loom/detail/huge_pages.hpp>

#include <cstdint>
#include <string_view>
#include <utility>

namespace loom::detail {

LOOM_FUNC std::uint32_t graph_recorder::append_node(node_kind kind, std::string_view name, const void* entity,
                                                    const entity_info& info, std::uint32_t output_count,
                                                    const binding* inputs, std::uint32_t input_count) {
  graph& g = *graph_;
  const auto index = static_cast<std::uint32_t>(g.nodes.size());
  graph_node n;
  n.kind = kind;
  n.name = name;
  n.entity = entity;
  n.info = &info;
  n.run = info.run;
  n.subgraph = info.subgraph;
  n.expand = info.expand;
  n.output_count = output_count;
  n.input_count = input_count;
  n.first_input = static_cast<std::uint32_t>(g.bindings.size());
  // A body may record hundreds of thousands of nodes: once large, these grow in huge
  // pages (loom/detail/huge_pages.hpp), else each doubling faults its fresh pages in.
  make_room_in_huge_pages(g.bindings, input_count);
  make_room_in_huge_pages(g.nodes, 1);
  g.bindings.insert(g.bindings.end(), inputs, inputs + input_count);
  g.nodes.push_back(n);
  return index;
}

LOOM_FUNC binding graph_recorder::add_literal(any_value value) {
  graph& g = *graph_;
  const auto index = static_cast<std::uint32_t>(g.literals.size());
  make_room_in_huge_pages(g.literals, 1);
  g.literals.push_back(std::move(value));
  return {source_kind::literal, 0, index, 0};
}

}  // namespace loom::detail
