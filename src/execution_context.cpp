// src/execution_context.cpp — the one owner of a run's persistence: see
// execution_context.hpp.
#include "execution_context.hpp"

#include <loom/detail/strings.hpp>

#include <charconv>
#include <iostream>
#include <string_view>
#include <utility>

namespace loom::detail {

LOOM_FUNC json binding_literal(const graph& g, const binding& b, any_value* slots) {
  switch (b.from) {
    case source_kind::literal: return g.literals[b.index].to_json();
    case source_kind::collection: return copy_binding(g, b, slots).to_json();
    default: return slots[b.slot].to_json();
  }
}

LOOM_FUNC execution_context::execution_context(const run_options& options) : options_(options) {
  // The process backend passes values through a store: a private one when none is given.
  if (options_.backend == execution_backend::process && options_.store == nullptr) {
    scratch_.emplace();
    options_.store = &scratch_->store();
  }
  if (options_.backend == execution_backend::slurm && options_.store == nullptr) {
    throw error("the Slurm backend needs a store on a directory the cluster's nodes share (--store DIR, "
                "run_options::store): its jobs read their inputs from it and write their outputs to it");
  }
  if (options_.resume && (options_.store == nullptr || scratch_)) {
    throw error("resume needs the store the execution was recorded in (run_options::store)");
  }
  if (options_.store != nullptr && options_.execution_id.empty()) options_.execution_id = executor::new_execution_id();
  // An id is a directory right under the store's root: one that reaches elsewhere
  // ("../x", "a/b") is refused before anything is written.
  if (!options_.execution_id.empty()) object_store::check_execution_id(options_.execution_id);
}

LOOM_FUNC execution_context::~execution_context() = default;

LOOM_FUNC void execution_context::begin(const frame& root) {
  if (options_.store == nullptr) return;
  if (scratch_) {  // not recorded: the inputs are all a node process needs
    store_inputs(root);
    return;
  }
  // A stored run is recorded: the execution, then every node's events, in batches.
  const graph& g = *root.g;
  states_ = options_.state;
  if (states_ == nullptr) states_ = &own_state_.emplace(state_store::default_path(options_.store->root()));
  execution_record e;
  e.id = options_.execution_id;
  e.workflow = g.name;
  e.status = "running";
  e.started_us = now_us();
  e.owner = state_store::this_owner();
  e.heartbeat_us = e.started_us;
  e.backend = std::string(backend_name(options_.backend));
  if (options_.resume) {
    states_->claim_execution(e);
  } else {
    // The inputs first: an execution on record can always be resumed.
    store_inputs(root);
    // The root graph, in the futures-file format: what `loom graph` draws from.
    options_.store->put(options_.execution_id + "/workflow.json", write_futures_text(g, g.name), false);
    states_->create_execution(e);
  }
  recorder_.emplace(*options_.store, *states_, options_.execution_id);
}

LOOM_FUNC void execution_context::succeeded(const frame& root) {
  if (options_.store == nullptr) return;
  const graph& g = *root.g;
  json outputs = json::object();
  for (std::size_t o = 0; o < g.outputs.size(); ++o) {
    outputs[positional_name('o', o)] = copy_binding(g, g.outputs[o], root.slots.get()).to_json();
  }
  options_.store->put(options_.execution_id + "/outputs.json", outputs.dump());
  if (recorder_) {
    recorder_->close();
    states_->finish_execution(options_.execution_id, "succeeded", "");
  }
}

LOOM_FUNC void execution_context::failed(const std::string& message) {
  if (!recorder_) return;
  try {
    recorder_->close();
  } catch (const std::exception& also) {
    warn(std::string("recording the execution failed too: ") + also.what());
  }
  try {
    states_->finish_execution(options_.execution_id, "failed", message);
  } catch (const std::exception& also) {
    warn(std::string("cannot record the execution as failed: ") + also.what());
  }
}

LOOM_FUNC void execution_context::warn(const std::string& message) const {
  if (options_.warn) {
    options_.warn(message);
  } else {
    std::cerr << "loom: warning: " << message << '\n';
  }
}

LOOM_FUNC node_keys execution_context::keys_of(const frame& f, std::uint32_t node) const {
  return {options_.execution_id + "/" + f.path_of(node)};
}

LOOM_FUNC void execution_context::store_inputs(const frame& root) {
  json inputs = json::object();
  for (std::uint32_t i = 0; i < root.g->input_count; ++i) inputs[positional_name('i', i)] = root.slots[i].to_json();
  options_.store->put(options_.execution_id + "/inputs.json",
                      json{{"entity", root.g->name}, {"inputs", std::move(inputs)}}.dump());
}

// ---- A node's outputs ----

LOOM_FUNC json execution_context::outputs_json(const frame& f, std::uint32_t node) const {
  const graph_node& n = f.g->nodes[node];
  json out = json::object();
  for (std::uint32_t o = 0; o < n.output_count; ++o) {
    out[n.info != nullptr ? n.info->interface.outputs[o].name : positional_name('o', o)] =
        f.slots[n.first_slot + o].to_json();
  }
  return out;
}

LOOM_FUNC std::string execution_context::outputs_text(const frame& f, std::uint32_t node) const {
  std::string out;
  append_outputs_text(out, f, node);
  return out;
}

namespace {

/// A node's first output's name: its task's, or positional for a node with no task.
const std::string& first_output_name(const graph_node& n) {
  static const std::string positional = positional_name('o', 0);
  return n.info != nullptr ? n.info->interface.outputs[0].name : positional;
}

}  // namespace

LOOM_FUNC void execution_context::append_outputs_text(std::string& out, const frame& f, std::uint32_t node) const {
  const graph_node& n = f.g->nodes[node];
  if (n.output_count != 1) {
    out += outputs_json(f, node).dump();
    return;
  }
  out += '{';
  const std::string& name = first_output_name(n);
  const std::size_t size = out.size();
  if (!json_text_of(out, name)) {  // (a name that needs escapes)
    out.resize(size);
    out += json(name).dump();
  }
  out += ':';
  f.slots[n.first_slot].append_json_text(out);
  out += '}';
}

LOOM_FUNC void execution_context::append_outputs_record(std::string& out, const frame& f, std::uint32_t node) const {
  const graph_node& n = f.g->nodes[node];
  if (n.output_count == 1) {  // (the text of several is nlohmann's, its names sorted: left as text)
    const std::size_t start = out.size();
    begin_compact_object(out, 1);
    if (append_compact_name(out, first_output_name(n)) &&
        f.slots[n.first_slot].append_compact(out)) {
      return;
    }
    out.resize(start);
  }
  append_outputs_text(out, f, node);
}

LOOM_FUNC void execution_context::outputs_ready(const frame& f, std::uint32_t node) {
  if (options_.store == nullptr) return;
  const graph_node& n = f.g->nodes[node];
  if (f.compact != nullptr) {  // (a recorded run's large sub-DAG: its phase byte, no event)
    recorder_->keep_outputs(f.path_prefix, node, [&](std::string& out) { append_outputs_record(out, f, node); });
    if (phase_needs_event(f, node, node_phase::succeeded)) {
      recorder_->succeeded(f.path_of(node), n.name, static_cast<int>(n.kind), std::nullopt);
    }
    return;
  }
  if (recorder_) {
    recorder_->succeeded(f.path_of(node), n.name, static_cast<int>(n.kind), outputs_text(f, node));
    return;
  }
  options_.store->put(options_.execution_id + "/" + f.path_of(node) + "/outputs.json", outputs_text(f, node));
}

LOOM_FUNC void execution_context::outputs_stored(const frame& f, std::uint32_t node) {
  if (!recorder_) return;
  const graph_node& n = f.g->nodes[node];
  if (!phase_needs_event(f, node, node_phase::succeeded)) return;
  recorder_->succeeded(f.path_of(node), n.name, static_cast<int>(n.kind), std::nullopt);
}

LOOM_FUNC bool execution_context::read_outputs(frame& f, std::uint32_t node, const std::string& key) const {
  const auto outputs = read_json_object(*options_.store, key);
  if (!outputs) return false;
  decode_outputs(f, node, *outputs, key);
  return true;
}

LOOM_FUNC void execution_context::decode_outputs(frame& f, std::uint32_t node, const json& outputs,
                                                 const std::string& where) const {
  const graph_node& n = f.g->nodes[node];
  if (!outputs.is_object()) throw error(where + ": expected a JSON object of outputs");
  const map_spec* map = n.kind == node_kind::map ? &f.g->maps[n.map] : nullptr;
  for (std::uint32_t o = 0; o < n.output_count; ++o) {
    const port& p = n.info->interface.outputs[o];
    const auto it = outputs.find(p.name);
    if (it == outputs.end()) throw error(where + ": no output '" + p.name + "'");
    try {
      f.slots[n.first_slot + o] = n.info->output_codec(o, map).decode(*it, p.name);
    } catch (const literal_error& e) {
      throw error(where + ": " + e.what());
    }
  }
}

LOOM_FUNC bool execution_context::reuse_outputs(frame& f, std::uint32_t node) {
  const graph_node& n = f.g->nodes[node];
  const std::string path = f.path_of(node);
  try {
    if (!read_outputs(f, node, options_.execution_id + "/" + path + "/outputs.json")) return false;
  } catch (const std::exception& e) {
    warn(std::string(e.what()) + "; node " + path + " runs again");
    return false;
  }
  if (!phase_needs_event(f, node, node_phase::succeeded)) return true;
  recorder_->succeeded(path, n.name, static_cast<int>(n.kind), std::nullopt);
  return true;
}

// ---- The cache ----

LOOM_FUNC std::string execution_context::cache_key(const frame& f, std::uint32_t node) const {
  const graph_node& n = f.g->nodes[node];
  json inputs = json::object();
  for (std::uint32_t k = 0; k < n.input_count; ++k) {
    inputs[n.info->interface.inputs[k].name] = binding_literal(*f.g, f.g->input_of(n, k), f.slots.get());
  }
  std::string map;  // a map node: which inputs it maps, and what it tolerates
  if (n.kind == node_kind::map) {
    const map_spec& spec = f.g->maps[n.map];
    map = "\nmap " + std::to_string(spec.mapped) + " " + (spec.partial ? "partial " : "whole ") +
          std::to_string(spec.min_success_ratio) + " " + std::to_string(spec.min_successes);
  }
  return sha256_hex(n.info->name + "\n" + n.info->version + "\n" + inputs.dump() + map);
}

LOOM_FUNC bool execution_context::reuse_cached(frame& f, std::uint32_t node, const std::string& key) {
  const graph_node& n = f.g->nodes[node];
  const auto entry = states_->cached(key);
  if (!entry) return false;
  try {
    if (!read_outputs(f, node, entry->outputs)) return false;
  } catch (const std::exception& e) {
    warn(std::string("cache entry of '") + n.info->name + "' not used: " + e.what());
    return false;
  }
  // (A node of a compact sub-DAG gets a row: it says where its outputs are.)
  if (f.compact != nullptr) f.compact->mark_row(node);
  recorder_->cached(f.path_of(node), n.name, static_cast<int>(n.kind), entry->outputs);
  if (f.compact != nullptr) f.compact->set(node, node_phase::cached);
  return true;
}

LOOM_FUNC void execution_context::keep_cached(const frame& f, std::uint32_t node, const std::string& key) {
  const graph_node& n = f.g->nodes[node];
  const std::string object = "cache/" + key + ".json";
  options_.store->put(object, outputs_json(f, node).dump());
  states_->put_cache({key, n.info->name, n.info->version, object, now_us()});
}

LOOM_FUNC void execution_context::remember_cache_key(const frame& f, std::uint32_t node, std::string key) {
  std::lock_guard lock(mutex_);
  dynamic_cache_keys_[f.path_of(node)] = std::move(key);
}

LOOM_FUNC void execution_context::keep_remembered(const frame& f, std::uint32_t node) {
  std::string key;
  {
    std::lock_guard lock(mutex_);
    if (dynamic_cache_keys_.empty()) return;
    const auto it = dynamic_cache_keys_.find(f.path_of(node));
    if (it == dynamic_cache_keys_.end()) return;
    key = std::move(it->second);
    dynamic_cache_keys_.erase(it);
  }
  try {
    keep_cached(f, node, key);
  } catch (const std::exception& e) {
    warn(std::string("cannot keep the outputs of node ") + f.path_of(node) + " in the cache: " + e.what());
  }
}

// ---- Dynamic nodes ----

LOOM_FUNC futures_read_options execution_context::read_options(const std::string& prefix) const {
  futures_read_options read;
  read.max_nodes = options_.limits.max_dynamic_nodes;
  read.store = options_.store;
  read.stored_prefix = prefix;
  return read;
}

LOOM_FUNC std::unique_ptr<graph> execution_context::stored_futures(const frame& f, std::uint32_t node) {
  const node_keys keys = keys_of(f, node);
  std::optional<std::string> text;
  try {
    text = options_.store->get(keys.futures());
  } catch (const std::exception& e) {
    warn(std::string(e.what()) + "; the body of node " + f.path_of(node) + " runs again");
    return nullptr;
  }
  if (!text) return nullptr;
  return read_futures_file(*text, keys.futures(), read_options(keys.prefix), f.g->nodes[node].info);
}

LOOM_FUNC std::shared_ptr<const graph> execution_context::through_futures_file(const frame& f, std::uint32_t node,
                                                                               std::unique_ptr<graph> sub) {
  if (options_.store == nullptr && !options_.verify_futures) return sub;
  const std::string prefix = options_.execution_id.empty() ? f.path_of(node) : options_.execution_id + "/" + f.path_of(node);
  futures_write_options write;
  write.store = options_.store;
  write.store_prefix = prefix;
  write.inline_literal_bytes = options_.inline_literal_bytes;
  const std::string key = prefix + "/futures.json";
  const std::string_view name = f.g->nodes[node].name;
  if (recorder_ && !options_.verify_futures) {
    // A recorded run writes the file on the recorder's thread while the sub-DAG runs.
    // A kill before it is written leaves outputs of its nodes without it: a resume runs
    // the body again, and reuses those outputs by their paths, as after a damaged
    // futures file. Until it is written the graph is shared with the writer: its
    // literals are copied, not moved (frame::graph_is_private).
    std::shared_ptr<const graph> shared(std::move(sub));
    auto writing = std::make_shared<std::atomic<bool>>(true);
    {
      std::lock_guard lock(mutex_);
      futures_writing_[shared.get()] = writing;
    }
    recorder_->write_later([this, shared, writing, write, key, name = std::string(name)]() mutable {
      struct done_writing {  // (also when the write throws: the run fails, the graph is the frame's)
        std::atomic<bool>& flag;
        ~done_writing() { flag.store(false, std::memory_order_release); }
      } done{*writing};
      options_.store->put(key, write_futures_text(*shared, name, write));
      shared.reset();
    });
    return shared;
  }
  const std::string text = write_futures_text(*sub, name, write);
  if (options_.store != nullptr) options_.store->put(key, text);
  // Without verify_futures the sub-DAG the body built runs; the file is what a resume,
  // or another process, reads and validates.
  if (!options_.verify_futures) return sub;
  return read_futures_file(text, key, read_options(prefix), f.g->nodes[node].info);
}

LOOM_FUNC std::unique_ptr<graph> execution_context::read_futures(const frame& f, std::uint32_t node,
                                                                 const std::string& key) const {
  const auto text = options_.store->get(key);
  if (!text) throw error("its futures file " + key + " disappeared");
  return read_futures_file(*text, key, read_options(keys_of(f, node).prefix), f.g->nodes[node].info);
}

// ---- Map nodes ----

LOOM_FUNC void execution_context::track_items(const frame& f, std::uint32_t node, map_run& run) {
  if (!recorder_) return;
  run.path = f.path_of(node);
  run.phase.reset(new std::atomic<std::uint8_t>[run.length]());
  if (!options_.resume) return;
  // The items a run before kept (`<path>/items/<k>.json`, each {"items": [indices],
  // "o0": [outputs], ...}) are done; their outputs go into the lists. A damaged record
  // is reported and not used: its items run again.
  const graph_node& n = f.g->nodes[node];
  const map_spec& spec = f.g->maps[n.map];
  const std::string prefix = options_.execution_id + "/" + run.path + "/items/";
  std::uint32_t next = 0;
  std::size_t reused = 0;
  for (const std::string& key : options_.store->list(options_.execution_id + "/" + run.path + "/items")) {
    if (key.compare(0, prefix.size(), prefix) != 0) continue;
    const std::string name = key.substr(prefix.size());
    std::uint32_t number = 0;
    const auto [end, ec] = std::from_chars(name.data(), name.data() + name.size(), number);
    if (ec != std::errc() || std::string_view(end, name.data() + name.size() - end) != ".json") continue;
    next = std::max(next, number + 1);
    try {
      const auto doc = read_json_object(*options_.store, key);
      if (!doc || !doc->is_object() || !doc->contains("items") || !(*doc)["items"].is_array()) {
        throw error(key + ": expected {\"items\": [...], \"o0\": [...], ...}");
      }
      const json& items = (*doc)["items"];
      for (std::uint32_t o = 0; o < n.output_count; ++o) {
        const auto it = doc->find(positional_name('o', o));
        if (it == doc->end() || !it->is_array() || it->size() != items.size()) {
          throw error(key + ": \"o" + std::to_string(o) + "\" must be a list as long as \"items\"");
        }
      }
      for (std::size_t j = 0; j < items.size(); ++j) {
        if (!items[j].is_number_unsigned() || items[j].get<std::size_t>() >= run.length) {
          throw error(key + ": item " + items[j].dump() + " is not an index of the " + std::to_string(run.length) +
                      " items");
        }
        const auto k = items[j].get<std::size_t>();
        if (run.reused(k)) continue;
        for (std::uint32_t o = 0; o < n.output_count; ++o) {
          n.info->map->put_literal(o, run.outputs[o], k, spec.partial, (*doc)[positional_name('o', o)][j],
                                   n.info->interface.outputs[o].name);
        }
        run.phase[k].store(map_run::reused_item, std::memory_order_relaxed);
        ++reused;
      }
    } catch (const std::exception& e) {
      warn("a kept record of map items, " + key + ", is not used: " + e.what() +
           "; its items run again (those not read from it before the problem)");
    }
  }
  run.checkpoints.store(next);
  run.succeeded.store(reused);
}

namespace {

/// The item row of a map node: each item's phase in 2 bits, the items tried more than
/// once and the errors of the failed ones.
LOOM_FUNC std::shared_ptr<const map_items_record> items_row(map_run& run) {
  auto row = std::make_shared<map_items_record>();
  row->path = run.path;
  row->length = static_cast<std::int64_t>(run.length);
  row->succeeded = static_cast<std::int64_t>(run.succeeded.load());
  row->failed = static_cast<std::int64_t>(run.failed.load());
  row->phases.assign((run.length + 3) / 4, '\0');
  for (std::size_t k = 0; k < run.length; ++k) {
    const int p = run.phase[k].load(std::memory_order_relaxed);
    row->set_phase(k, p == map_run::reused_item ? map_items_record::succeeded_item : p);
  }
  json attempts = json::object();
  json errors = json::object();
  {
    std::lock_guard lock(run.mutex);
    for (const auto& [k, count] : run.attempts) attempts[std::to_string(k)] = count;
    for (const auto& [k, message] : run.errors) errors[std::to_string(k)] = message;
  }
  row->attempts = attempts.dump();
  row->errors = errors.dump(-1, ' ', false, json::error_handler_t::replace);  // (messages may not be UTF-8)
  return row;
}

}  // namespace

LOOM_FUNC void execution_context::keep_items(const frame& f, std::uint32_t node, map_run& run, std::size_t from,
                                             std::size_t to) {
  if (run.phase == nullptr) return;
  try {
    write_items(f, node, run, from, to);
  } catch (const std::exception& e) {  // keeping items spares work on resume; the run goes on without it
    warn("cannot keep finished items " + std::to_string(from) + ".." + std::to_string(to) + " of map node " +
         run.path + ": " + e.what());
  }
}

LOOM_FUNC void execution_context::write_items(const frame& f, std::uint32_t node, map_run& run, std::size_t from,
                                              std::size_t to) {
  const graph_node& n = f.g->nodes[node];
  const map_spec& spec = f.g->maps[n.map];
  json items = json::array();
  std::vector<json> outputs(n.output_count, json::array());
  for (std::size_t k = from; k < to; ++k) {
    if (run.phase[k].load(std::memory_order_relaxed) != map_run::succeeded_item) continue;
    items.push_back(k);
    for (std::uint32_t o = 0; o < n.output_count; ++o) {
      n.info->map->item_literal(outputs[o].emplace_back(), o, run.outputs[o], k, spec.partial);
    }
  }
  if (items.empty()) return;
  json doc = json::object();
  doc["items"] = std::move(items);
  for (std::uint32_t o = 0; o < n.output_count; ++o) doc[positional_name('o', o)] = std::move(outputs[o]);
  const std::uint32_t number = run.checkpoints.fetch_add(1);
  recorder_->checkpoint(run.path + "/items/" + std::to_string(number) + ".json",
                        doc.dump(-1, ' ', false, json::error_handler_t::replace));
  // The item row (O(items) to build) at most every 100 ms: the records are what a
  // resume reads; the row is for `loom show`, and is written whole when the map ends.
  const std::int64_t now = now_us();
  std::int64_t last = run.last_row_us.load(std::memory_order_relaxed);
  if (now - last >= 100'000 && run.last_row_us.compare_exchange_strong(last, now)) recorder_->map_items(items_row(run));
}

LOOM_FUNC void execution_context::items_done(map_run& run) {
  if (run.phase != nullptr) recorder_->map_items(items_row(run));
}

LOOM_FUNC void execution_context::map_aborted(const frame& f, std::uint32_t node, map_run& run) {
  if (!recorder_) return;
  try {
    recorder_->map_items(items_row(run));
    record_failed(f, node, "stopped: the run failed elsewhere", node_phase::aborted);
  } catch (const std::exception&) {  // the run has failed already; this is its record only
  }
}

// ---- The recorder's node events ----

LOOM_FUNC void execution_context::graph_entered(const std::string& path, const graph& g,
                                                const std::shared_ptr<const graph>& owned) {
  if (!recorder_) return;
  recorder_->added(static_cast<std::int64_t>(g.nodes.size()));
  if (path.empty() || owned) return;
  // A recorded run keeps the graph of every static workflow it enters, once, as
  // `<execution>/specs/<workflow>.json` (futures-file format), for `loom graph`.
  {
    std::lock_guard lock(mutex_);
    if (!stored_specs_.insert(g.name).second) return;
  }
  try {
    options_.store->put(options_.execution_id + "/specs/" + g.name + ".json", write_futures_text(g, g.name), false);
  } catch (const std::exception& e) {
    warn(std::string("cannot keep the graph of workflow ") + g.name + ": " + e.what());
  }
}

LOOM_FUNC void execution_context::subdag_entered(frame& child) {
  if (!recorder_) return;
  {
    std::lock_guard lock(mutex_);
    if (const auto it = futures_writing_.find(child.g); it != futures_writing_.end()) {
      child.futures_writing = std::move(it->second);
      futures_writing_.erase(it);
    }
  }
  child.compact = compact_subdag(child);
}

LOOM_FUNC std::shared_ptr<subdag_progress> execution_context::compact_subdag(const frame& child) {
  const graph& g = *child.g;
  const std::size_t length = g.nodes.size();
  if (!recorder_ || child.parent == nullptr || length == 0 || length < options_.compact_subdag_nodes) return nullptr;
  auto progress = std::make_shared<subdag_progress>();
  subdag_record& row = progress->row;
  row.path = child.parent->path_of(child.parent_node);
  row.prefix = child.path_prefix;
  row.length = static_cast<std::int64_t>(length);
  row.task_of.resize(2 * length);
  // The distinct (task, kind) of the nodes: few, so looked up in order (the last one
  // found first: a sub-DAG's nodes often come in runs of one task).
  std::size_t last = 0;
  for (std::size_t k = 0; k < length; ++k) {
    const graph_node& n = g.nodes[k];
    const int kind = static_cast<int>(n.kind);
    auto same = [&](std::size_t t) { return row.tasks[t].second == kind && row.tasks[t].first == n.name; };
    std::size_t t = last;
    if (t >= row.tasks.size() || !same(t)) {
      t = 0;
      while (t < row.tasks.size() && !same(t)) ++t;
      if (t == row.tasks.size()) {
        if (t == 0x10000) return nullptr;  // (65,536 tasks in one sub-DAG: rows per node)
        row.tasks.emplace_back(std::string(n.name), kind);
      }
      last = t;
    }
    row.task_of[2 * k] = static_cast<char>(t & 0xFFU);
    row.task_of[2 * k + 1] = static_cast<char>((t >> 8U) & 0xFFU);
  }
  progress->phase.reset(new std::atomic<std::uint8_t>[length]());
  // A resumed sub-DAG: its nodes that have rows from the runs before keep them up to date.
  if (options_.resume) {
    for (const std::uint32_t k : states_->node_rows_under(options_.execution_id, row.prefix)) {
      if (k < length) progress->phase[k].store(subdag_progress::has_row, std::memory_order_relaxed);
    }
  }
  recorder_->track(progress);
  return progress;
}

LOOM_FUNC bool execution_context::phase_needs_event(const frame& f, std::uint32_t node, node_phase phase) {
  return f.compact == nullptr || f.compact->set(node, phase);
}

LOOM_FUNC void execution_context::record_failed(const frame& f, std::uint32_t node, std::string message,
                                                node_phase phase) {
  const graph_node& n = f.g->nodes[node];
  bool counts_start = false;
  if (f.compact != nullptr) {
    // A row from now on; the start it had without one is counted by this event.
    const std::uint8_t before = f.compact->mark_row(node);
    counts_start = (before & subdag_progress::has_row) == 0 &&
                   (before & ~subdag_progress::has_row) == subdag_progress::running_code;
  }
  recorder_->failed(f.path_of(node), n.name, static_cast<int>(n.kind), std::move(message), phase, counts_start);
  if (f.compact != nullptr) f.compact->set(node, phase);
}

LOOM_FUNC void execution_context::attempt_started(const frame& f, std::uint32_t node) {
  if (!recorder_) return;
  if (!phase_needs_event(f, node, node_phase::running)) return;
  const graph_node& n = f.g->nodes[node];
  recorder_->started(f.path_of(node), n.name, static_cast<int>(n.kind));
}

LOOM_FUNC void execution_context::attempt_failed(const frame& f, std::uint32_t node, std::uint32_t attempt,
                                                 std::uint32_t retries, const std::string& message) {
  if (!recorder_) return;
  record_failed(f, node,
                "attempt " + std::to_string(attempt + 1) + " of " + std::to_string(retries + 1) + " failed: " + message,
                node_phase::failed);
}

LOOM_FUNC void execution_context::node_skipped(const frame& f, std::uint32_t node) {
  if (!recorder_) return;
  if (!phase_needs_event(f, node, node_phase::skipped)) return;
  const graph_node& n = f.g->nodes[node];
  recorder_->skipped(f.path_of(node), n.name, static_cast<int>(n.kind));
}

LOOM_FUNC void execution_context::node_failed(const frame& f, std::uint32_t node, const std::string& message) {
  if (!recorder_) return;
  const std::string path = f.path_of(node);
  record_failed(f, node, message, node_phase::failed);
  // The workflow and dynamic nodes around it end with it: none of them completes.
  for (const frame* inner = &f; inner->parent != nullptr; inner = inner->parent) {
    record_failed(*inner->parent, inner->parent_node, "node " + path + " inside it failed", node_phase::failed);
  }
}

}  // namespace loom::detail
