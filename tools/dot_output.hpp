// tools/dot_output.hpp — `loom graph`: the executed DAG of a stored execution in Graphviz
// DOT, laid out as loom::to_dot (loom/dot.hpp) lays out a traced run — one box per node
// (a 3-D box for workflow and dynamic nodes) labelled with its task and id, edges from
// producers to consumers, each dynamic sub-DAG and static workflow graph as a dashed
// cluster inside its node, dashed edges from a cluster's outputs to its node — and each
// node filled with the colour of its phase.
#pragma once

#include "store_view.hpp"

#include <string>
#include <string_view>

namespace loom_tool {

/// The fill colour of a phase ("succeeded", "failed", "running", "cached", "aborted",
/// "not started").
std::string_view phase_colour(std::string_view phase);

/// The whole execution, or only the subgraph of `top` (a node of `tree`) when given.
std::string execution_dot(const execution_tree& tree, const std::string& workflow, const tree_node* top = nullptr);

}  // namespace loom_tool
