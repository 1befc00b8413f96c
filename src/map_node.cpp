// src/map_node.cpp — the handler of map nodes (loom/map.hpp): a task over the items of
// lists, as one node. Starting it takes its inputs and splits its items into chunks;
// each chunk runs through the run's backend (each item with its task's attempts); the
// last chunk to finish gives the node's outcome.
#include "execution_context.hpp"
#include "node_backend.hpp"
#include "node_handler.hpp"

#include <algorithm>
#include <memory>
#include <string>
#include <utility>

namespace loom::detail {

namespace {

/// A map node's inputs, the length of its lists, its empty output lists; or the
/// message of why it cannot run (lists of different lengths).
std::unique_ptr<map_run> prepare_map(frame& f, std::uint32_t node, std::string& problem) {
  const graph& g = *f.g;
  const graph_node& n = g.nodes[node];
  const map_spec& spec = g.maps[n.map];
  const map_ops& ops = *n.info->map;
  auto run = std::make_unique<map_run>();
  run->inputs.resize(n.input_count);
  std::uint32_t first_list = n.input_count;
  for (std::uint32_t i = 0; i < n.input_count; ++i) {
    // Moved out of their slots when this node is their only reader: no copy of a
    // million items.
    run->inputs[i] = take_binding(g, g.input_of(n, i), f.slots.get(), f.graph_is_private());
    if (((spec.mapped >> i) & 1U) == 0) continue;
    const std::size_t size = ops.list_size(i, run->inputs[i]);
    if (first_list == n.input_count) {
      first_list = i;
      run->length = size;
    } else if (size != run->length) {
      const auto& names = n.info->interface.inputs;
      problem = "map over lists of different lengths: " + names[first_list].name + " has " +
                std::to_string(run->length) + " items, " + names[i].name + " has " + std::to_string(size);
      return nullptr;
    }
  }
  run->outputs.resize(n.output_count);
  ops.make_outputs(run->length, spec.partial, run->outputs.data());
  f.run->context->track_items(f, node, *run);
  return run;
}

/// Every chunk is done: the node fails when fewer items succeeded than it requires;
/// otherwise its output lists go to its slots.
node_outcome finish_map(frame& f, std::uint32_t node, map_run& run) {
  execution_context& context = *f.run->context;
  const graph_node& n = f.g->nodes[node];
  const map_spec& spec = f.g->maps[n.map];
  const std::size_t succeeded = run.succeeded.load();
  const std::size_t failed = run.failed.load();
  const std::size_t required = spec.required(run.length);
  try {
    context.items_done(run);
  } catch (const std::exception& e) {
    return node_outcome::failed(e.what());
  }
  if (!spec.partial && failed != 0) {
    return node_outcome::failed("map item " + std::to_string(run.first_failed) + " of " + std::to_string(run.length) +
                                " failed: " + run.first_error);
  }
  if (succeeded < required) {
    std::string message = "map: " + std::to_string(succeeded) + " of " + std::to_string(run.length) +
                          " items succeeded, fewer than the " + std::to_string(required) + " required ";
    // (Appended, not "(" + std::to_string(...): g++ 12 -O2 warns -Wrestrict on that, GCC bug 105329.)
    if (failed == 0) {
      message += "(min_successes is more than the items)";
    } else {
      message += '(';
      message += std::to_string(failed);
      message += " failed; the first, item " + std::to_string(run.first_failed) + ": " + run.first_error + ")";
    }
    return node_outcome::failed(std::move(message));
  }
  try {
    for (std::uint32_t o = 0; o < n.output_count; ++o) {
      f.slots[n.first_slot + o] = n.info->map->finish_output(o, run.outputs[o], spec.partial);
    }
    context.outputs_ready(f, node);
    // (A partial map with failed items is not cached: a later run tries them again.)
    if (!run.cache_key.empty() && failed == 0) context.keep_cached(f, node, run.cache_key);
  } catch (const std::exception& e) {
    return node_outcome::failed(e.what());
  }
  return node_outcome::done();
}

}  // namespace

/// Splits the items into chunks: a few per thread, so that a million trivial items
/// make a handful of scheduler entries, and no more chunks than `concurrency` (a chunk
/// runs its items one after the other). Its inputs are taken (moved) here: a failure
/// before the chunks start fails the node, and nothing retries it (its items retry one
/// by one: the node never does).
LOOM_FUNC node_outcome start_map_node(node_call& call) {
  frame& f = call.f;
  std::unique_ptr<map_run> run;
  std::size_t chunks = 1;
  try {
    std::string problem;
    run = prepare_map(f, call.node, problem);
    if (!run) return node_outcome::failed(std::move(problem));
    run->cache_key = std::move(call.cache_key);
    const map_spec& spec = f.g->maps[call.n().map];
    node_backend& backend = *f.run->backend;
    const std::size_t per_job = backend.items_per_job(run->length);
    if (per_job != 0) {
      // Chunks as jobs (a cluster's): as many as the items ask for; the map's
      // concurrency limits how many run at once, on the cluster's side.
      run->chunk_size = per_job;
    } else {
      chunks = std::max<std::size_t>(1, std::min<std::size_t>(run->length, 4 * f.run->threads));
      if (spec.concurrency != 0) chunks = std::min(chunks, spec.concurrency);
      run->chunk_size = run->length == 0 ? 1 : (run->length + chunks - 1) / chunks;
    }
    chunks = run->length == 0 ? 1 : (run->length + run->chunk_size - 1) / run->chunk_size;
    run->chunks_left.store(static_cast<std::uint32_t>(chunks));
    if (per_job != 0) {
      run->jobs = backend.submit_items(f, call.node, *run, static_cast<std::uint32_t>(chunks), call.policy);
    }
  } catch (const std::exception& e) {
    return node_outcome::failed(e.what());
  } catch (...) {
    return node_outcome::failed("unknown exception (not derived from std::exception)");
  }
  return node_outcome::fan_out(run.release(), static_cast<std::uint32_t>(chunks));
}

LOOM_FUNC node_outcome run_map_chunk(const work_item& item) {
  frame& f = *item.f;
  map_run& run = *item.map;
  execution_context& context = *f.run->context;
  const std::size_t begin = std::min(run.length, static_cast<std::size_t>(item.chunk) * run.chunk_size);
  const std::size_t end = std::min(run.length, begin + run.chunk_size);
  node_backend& backend = *f.run->backend;
  const keep_items_fn keep = [&](std::size_t from, std::size_t to) { context.keep_items(f, item.node, run, from, to); };
  if (item.job == 0) {
    backend.run_items(f, item.node, run, begin, end, item.chunk, keep);
  } else if (run.stop.load() && !f.run->failed.load()) {
    backend.cancel(item.job);  // the map stopped at its first failure: the chunk's items do not run
  } else if (!f.run->failed.load()) {
    // (A failed run's jobs are cancelled with the backend.)
    const job_poll polled = backend.poll_items(item.job, f, item.node, run, begin, end, item.chunk, keep);
    if (polled.what == job_poll::state::running) return node_outcome::submitted(item.job, polled.again);
  }
  if (run.chunks_left.fetch_sub(1, std::memory_order_acq_rel) != 1) return node_outcome::pending();
  std::unique_ptr<map_run> owned(item.map);  // the last chunk: the map run goes with it
  if (f.run->failed.load(std::memory_order_relaxed)) {
    // The run failed elsewhere: the map stopped starting items.
    context.map_aborted(f, item.node, run);
    return node_outcome::pending();
  }
  return finish_map(f, item.node, run);
}

}  // namespace loom::detail
