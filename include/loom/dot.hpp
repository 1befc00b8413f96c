// loom/dot.hpp — the DAG a run executed, in Graphviz DOT: one box per node, edges from
// producers to consumers, and the sub-DAG of every nested workflow and dynamic node as
// a cluster inside its parent, so a person can see what a dynamic node compiled into.
// The writer is compiled once into loom::runtime (src/dot.cpp).
#pragma once

#include <loom/detail/config.hpp>
#include <loom/executor.hpp>

#include <string>
#include <string_view>

namespace loom {

namespace detail {

/// A node's shape by its kind (shared by loom::to_dot and `loom graph`): a map node is a
/// double box (one node standing for many items), a workflow or dynamic node a 3-D box
/// (a graph inside), a wf.when's branch node a diamond and its merge node a trapezium.
std::string dot_shape(std::string_view kind);

/// The edge from a wf.when's branch node to a node of its `side` ("then", "else").
std::string dot_branch_edge(std::string_view side);

/// `text` as a DOT string: in double quotes, with double quotes and backslashes escaped.
std::string dot_quote(std::string_view text);

}  // namespace detail

/// The executed DAG of a traced run (run_options::trace) in Graphviz DOT.
std::string to_dot(const run_trace& trace);

}  // namespace loom
