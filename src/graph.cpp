// src/graph.cpp — the executable form of a workflow (loom/detail/graph.hpp): resolving
// slots, successors, predecessor and reader counts, join groups and branch scopes, and
// reading bindings type-erased. Compiled once; every workflow's graph goes through it.
#include <loom/detail/graph.hpp>

#include <loom/detail/huge_pages.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace loom::detail {

LOOM_FUNC std::size_t map_spec::required(std::size_t n) const {
  if (!partial) return n;
  if (min_successes >= 0) return static_cast<std::size_t>(min_successes);
  const double r = std::ceil(min_success_ratio * static_cast<double>(n) - 1e-9);
  return r <= 0 ? 0 : static_cast<std::size_t>(r);
}

LOOM_FUNC void graph::finalize() {
  slot_count = input_count;
  for (auto& n : nodes) {
    n.first_slot = slot_count;
    slot_count += n.output_count;
  }
  reserve_in_huge_pages(readers, slot_count);  // (a read futures file's graph: large and fresh)
  readers.assign(slot_count, 0);
  literal_readers.assign(literals.size(), 0);
  auto resolve = [this](binding& b) {
    if (b.from == source_kind::input) b.slot = b.index;
    if (b.from == source_kind::node_output) b.slot = nodes[b.node].first_slot + b.index;
    if (b.from == source_kind::input || b.from == source_kind::node_output) ++readers[b.slot];
    if (b.from == source_kind::literal && b.index < literals.size()) ++literal_readers[b.index];
  };
  for (auto& b : items) resolve(b);
  for (auto& b : bindings) resolve(b);
  for (auto& b : outputs) resolve(b);

  // Distinct producers of each node, then successors in one flat array.
  std::vector<std::uint32_t> producer_start(nodes.size() + 1, 0);
  std::vector<std::uint32_t> producers;
  std::vector<std::uint32_t> scratch;
  std::vector<std::uint32_t> consumer_count(nodes.size(), 0);
  for (std::uint32_t i = 0; i < nodes.size(); ++i) {
    scratch.clear();
    const auto& n = nodes[i];
    for (std::uint32_t k = 0; k < n.input_count; ++k) {
      const binding& b = bindings[n.first_input + k];
      if (b.from == source_kind::node_output) {
        scratch.push_back(b.node);
      } else if (b.from == source_kind::collection) {
        const collection& c = collections[b.index];
        for (std::uint32_t j = 0; j < c.item_count; ++j) {
          const binding& item = items[c.first_item + j];
          if (item.from == source_kind::node_output) scratch.push_back(item.node);
        }
      }
    }
    if (n.side != branch_side::none) {
      scratch.push_back(n.guard);  // waits for its branch node's decision, and reads it
      ++readers[nodes[n.guard].first_slot];
    }
    if (scratch.size() > 1) {
      std::sort(scratch.begin(), scratch.end());
      scratch.erase(std::unique(scratch.begin(), scratch.end()), scratch.end());
    }
    nodes[i].predecessor_count = static_cast<std::uint32_t>(scratch.size());
    for (auto p : scratch) ++consumer_count[p];
    producers.insert(producers.end(), scratch.begin(), scratch.end());
    producer_start[i + 1] = static_cast<std::uint32_t>(producers.size());
  }
  std::uint32_t offset = 0;
  for (std::uint32_t i = 0; i < nodes.size(); ++i) {
    nodes[i].first_successor = offset;
    nodes[i].successor_count = 0;
    offset += consumer_count[i];
  }
  reserve_in_huge_pages(successors, offset);
  successors.assign(offset, 0);
  successor_groups.clear();
  join_group_sizes.clear();
  grouped_joins.clear();
  for (std::uint32_t i = 0; i < nodes.size(); ++i) {
    const std::uint32_t count = producer_start[i + 1] - producer_start[i];
    const bool grouped = count >= join_grouped_from;
    const auto first_group = static_cast<std::uint32_t>(join_group_sizes.size());
    if (grouped) {
      if (successor_groups.empty()) successor_groups.assign(offset, no_join_group);
      const std::uint32_t groups = (count + join_group_span - 1) / join_group_span;
      grouped_joins.emplace_back(i, groups);
      for (std::uint32_t g = 0; g < groups; ++g) {
        join_group_sizes.push_back(std::min(join_group_span, count - g * join_group_span));
      }
    }
    for (std::uint32_t k = producer_start[i]; k < producer_start[i + 1]; ++k) {
      auto& producer = nodes[producers[k]];
      const std::uint32_t edge = producer.first_successor + producer.successor_count++;
      successors[edge] = i;
      if (grouped) successor_groups[edge] = first_group + (k - producer_start[i]) / join_group_span;
    }
  }
  if (std::any_of(nodes.begin(), nodes.end(), [](const graph_node& n) { return n.side != branch_side::none; })) {
    check_branch_scopes();
  }
}

LOOM_FUNC bool graph::visible_in(const graph_node& producer, std::uint32_t scope, branch_side side) const {
  if (producer.side == branch_side::none) return true;
  while (side != branch_side::none) {
    if (scope == producer.guard && side == producer.side) return true;
    const graph_node& outer = nodes[scope];
    scope = outer.guard;
    side = outer.side;
  }
  return false;
}

LOOM_FUNC void graph::check_branch_scopes() const {
  auto check = [&](const binding& b, std::uint32_t scope, branch_side side, const std::string& user) {
    if (b.from != source_kind::node_output || visible_in(nodes[b.node], scope, side)) return;
    const graph_node& p = nodes[b.node];
    throw error("loom: workflow " + name + ": " + user + " takes an output of node " + std::string(node_prefix) +
                std::to_string(b.node) + " (" + std::string(p.name) + "), which exists only when the " +
                (p.side == branch_side::then_side ? "then" : "else") + "-branch of the wf.when at node " +
                std::string(node_prefix) + std::to_string(p.guard) +
                " runs; a value leaves a branch only as what the branch returns");
  };
  for (std::uint32_t i = 0; i < nodes.size(); ++i) {
    const graph_node& n = nodes[i];
    const std::string user = "node " + std::string(node_prefix) + std::to_string(i) + " (" + std::string(n.name) + ")";
    for (std::uint32_t k = 0; k < n.input_count; ++k) {
      std::uint32_t scope = n.guard;
      branch_side side = n.side;
      if (n.kind == node_kind::merge && k > 0) {  // then-results, then else-results
        scope = bindings[n.first_input].node;
        side = k <= n.output_count ? branch_side::then_side : branch_side::else_side;
      }
      const binding& b = bindings[n.first_input + k];
      if (b.from == source_kind::collection) {
        const collection& c = collections[b.index];
        for (std::uint32_t j = 0; j < c.item_count; ++j) check(items[c.first_item + j], scope, side, user);
      } else {
        check(b, scope, side, user);
      }
    }
  }
  for (const binding& b : outputs) check(b, 0, branch_side::none, "an output of the workflow");
}

LOOM_FUNC any_value copy_binding(const graph& g, const binding& b, any_value* slots) {
  switch (b.from) {
    case source_kind::literal: return g.literals[b.index];
    case source_kind::collection: {
      const collection& c = g.collections[b.index];
      return c.assemble(g, c, slots);
    }
    default: return slots[b.slot];
  }
}

LOOM_FUNC any_value take_binding(const graph& g, const binding& b, any_value* slots, bool graph_is_private) {
  if ((b.from == source_kind::input || b.from == source_kind::node_output) && g.readers[b.slot] == 1) {
    return std::move(slots[b.slot]);
  }
  if (b.from == source_kind::literal && graph_is_private && g.literal_readers[b.index] == 1) {
    return std::move(const_cast<any_value&>(g.literals[b.index]));
  }
  return copy_binding(g, b, slots);
}

}  // namespace loom::detail
