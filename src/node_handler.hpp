// src/node_handler.hpp — the node handlers: what running a node of each kind means,
// one file each (task_node.cpp, dynamic_node.cpp, workflow_node.cpp, map_node.cpp,
// when_node.cpp), as flytepropeller's node handlers. A handler does its node's work
// through the run's backend and context, and returns an outcome; it never calls back
// into the scheduler, which completes, fails, retries or expands the node from it.
#pragma once

#include "run_state.hpp"

#include <loom/policy.hpp>

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <utility>

namespace loom::detail {

/// One attempt at one node, as a handler sees it.
struct node_call {
  frame& f;
  std::uint32_t node;
  std::uint32_t attempt;     // 0 for the first
  const node_policy& policy;
  std::string cache_key;     // a cached node's key: its outputs are kept under it
  std::uint32_t job = 0;     // the attempt's job has succeeded: collect what it wrote

  [[nodiscard]] const graph_node& n() const { return f.g->nodes[node]; }
  [[nodiscard]] run_state& run() const { return *f.run; }
};

/// What became of a node (or of a chunk of a map node's items).
struct node_outcome {
  enum class kind : std::uint8_t {
    succeeded,       // its outputs are in its slots (and kept)
    attempt_failed,  // this attempt failed: retried while the policy allows, else the node fails
    failed,          // the node fails, with no retry
    enter_graph,     // its graph runs in a child frame; the node completes when the frame does
    fan_out,         // a map's items run in `chunks` chunks; the last to finish completes it
    pending,         // nothing to do yet (a chunk of a map that was not the last)
    submitted,       // the attempt (or map chunk) runs as job `job` of the backend: polled until it ends
  };
  kind what = kind::succeeded;
  std::string message;                  // attempt_failed, failed
  const graph* child = nullptr;         // enter_graph
  std::shared_ptr<const graph> owned;   // enter_graph: a dynamic node's sub-DAG
  map_run* map = nullptr;               // fan_out (owned by its chunks from here on)
  std::uint32_t chunks = 0;             // fan_out
  std::uint32_t job = 0;                // submitted
  std::chrono::milliseconds again{0};   // submitted: when to look next (0: the first look's delay)

  static node_outcome done() { return {}; }
  static node_outcome pending() { return of(kind::pending); }
  static node_outcome attempt_failed(std::string message) { return of(kind::attempt_failed, std::move(message)); }
  static node_outcome failed(std::string message) { return of(kind::failed, std::move(message)); }
  static node_outcome enter(const graph& g, std::shared_ptr<const graph> owned = nullptr) {
    node_outcome o = of(kind::enter_graph);
    o.child = &g;
    o.owned = std::move(owned);
    return o;
  }
  static node_outcome submitted(std::uint32_t ticket, std::chrono::milliseconds again = {}) {
    node_outcome o = of(kind::submitted);
    o.job = ticket;
    o.again = again;
    return o;
  }
  static node_outcome fan_out(map_run* map, std::uint32_t chunks) {
    node_outcome o = of(kind::fan_out);
    o.map = map;
    o.chunks = chunks;
    return o;
  }

 private:
  static node_outcome of(kind what, std::string message = {}) {
    node_outcome o;
    o.what = what;
    o.message = std::move(message);
    return o;
  }
};

node_outcome run_task_node(node_call& call);       // task_node.cpp
node_outcome run_dynamic_node(node_call& call);    // dynamic_node.cpp
node_outcome run_workflow_node(node_call& call);   // workflow_node.cpp
node_outcome run_when_node(node_call& call);       // when_node.cpp: branch and merge nodes
node_outcome start_map_node(node_call& call);      // map_node.cpp
/// One chunk of a map node's items; the last chunk to finish gives the node's outcome
/// (and frees the map run), the others `pending`.
node_outcome run_map_chunk(const work_item& item);  // map_node.cpp

/// A workflow or dynamic node opens a frame one level deeper than its own: the
/// message of a node that would go over the run's depth limit, else empty.
std::string depth_exceeded(const frame& f);

}  // namespace loom::detail
