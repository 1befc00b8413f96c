// src/process_node_backend.cpp — the process backend, the parent's side: one attempt at
// a task node or a dynamic node's body is one process, `PROGRAM exec-node ENTITY ...`
// (the child's side is src/process_backend.cpp); a chunk of a map node's items is one
// process for the whole batch. Values go by reference through the object store. The
// processes are forked by the run's fork server (src/fork_server.hpp) unless it is off
// (run_options::process.fork_server) or the node program does not serve; then spawned.
// A forked process runs run_options::process.nodes_per_process nodes in turn (default 1).
#include "execution_context.hpp"
#include "fork_server.hpp"
#include "node_backend.hpp"

#include <loom/process_backend.hpp>

#include <sys/wait.h>

#include <chrono>
#include <functional>
#include <mutex>
#include <utility>

namespace loom::detail {

namespace {

class process_node_backend final : public node_backend {
 public:
  process_node_backend(std::string program, std::string argv0, bool private_store, const process_options& how)
      : program_(std::move(program)),
        argv0_(std::move(argv0)),
        private_store_(private_store),
        nodes_per_process_(how.nodes_per_process),
        use_fork_server_(how.fork_server) {}

  [[nodiscard]] bool out_of_process() const override { return true; }

  /// The node's process stores its outputs; they are read back into its slots.
  bool run_task(frame& f, std::uint32_t node, const node_policy& policy) override {
    const execution_context& context = *f.run->context;
    const std::string key = context.keys_of(f, node).outputs();
    const process_exit exit = spawn_node(f, node, key, policy);
    try {
      if (!context.read_outputs(f, node, key)) throw error(key + " disappeared");
    } catch (const std::exception& e) {
      throw error("its process (pid " + std::to_string(exit.pid) +
                  ") exited with status 0 but wrote unreadable outputs: " + e.what());
    }
    return true;
  }

  /// The body writes the futures file, read and validated here as any futures file is.
  std::unique_ptr<graph> expand(frame& f, std::uint32_t node, const node_policy& policy) override {
    const std::string key = f.run->context->keys_of(f, node).futures();
    spawn_node(f, node, key, policy);
    return f.run->context->read_futures(f, node, key);
  }

  /// Items [begin, end) as one batch in one node process (a map of a million items makes
  /// a few processes, not a million).
  void run_items(frame& f, std::uint32_t node, map_run& run, std::size_t begin, std::size_t end, std::uint32_t chunk,
                 const keep_items_fn& keep) override {
    run_items_in_batch(f, node, run, begin, end, chunk, keep, private_store_, [&](const node_request& request) {
      // A batch times out item by item, in its process, not as a whole.
      return "its process (pid " + std::to_string(spawn_request(f, node, request, std::chrono::milliseconds(0)).pid) + ")";
    });
  }

 private:
  /// Writes the node's inputs, runs its process, and fails with what went wrong.
  /// `result_key` is what it must write (outputs or futures file).
  process_exit spawn_node(frame& f, std::uint32_t node, const std::string& result_key, const node_policy& policy) {
    return spawn_request(f, node, write_node_request(f, node, result_key, private_store_), policy.timeout);
  }

  /// Runs `request` (its inputs written) in a node process of node `node`; throws what
  /// the task threw (its error object) or what became of the process (how it ended, and
  /// its last lines of output). The process is killed after `timeout`.
  process_exit spawn_request(frame& f, std::uint32_t node, const node_request& request,
                             std::chrono::milliseconds timeout) {
    const object_store& store = f.run->context->store();
    const graph_node& n = f.g->nodes[node];
    const std::string& result_key = request.outputs_key;
    const process_exit exit = start_and_wait(request.arguments(argv0_), timeout);
    const std::string who = "its process (pid " + std::to_string(exit.pid) + ")";
    if (!exit.exited_zero()) {
      // A task that threw: its process stored the message, as the thread backend reports it.
      if (exit.known && WIFEXITED(exit.status)) {
        if (auto message = stored_task_error(store, request.error_key)) throw error(std::move(*message));
      }
      const std::string lines = exit.last_lines();
      throw error(who + " " + exit.describe() + (lines.empty() ? "; it printed nothing" : "; the end of its output:" + lines));
    }
    if (!store.contains(result_key)) {
      const std::string lines = exit.last_lines();
      throw error(who + " exited with status 0 but wrote no " +
                  (n.kind == node_kind::dynamic ? "futures file" : "outputs") + " (" + result_key +
                  " is missing; does the program's main() hand 'exec-node' to loom::main or "
                  "loom::run_node_process?)" +
                  (lines.empty() ? std::string() : "; the end of its output:" + lines));
    }
    return exit;
  }

  /// The node process of `args`, forked by the run's fork server, else spawned.
  process_exit start_and_wait(const std::vector<std::string>& args, std::chrono::milliseconds timeout) {
    if (const std::shared_ptr<fork_server> server = serving()) {
      try {
        return server->run(args, true, timeout);
      } catch (const fork_server_lost&) {
        std::lock_guard lock(server_mutex_);
        if (server_ == server) server_.reset();  // the next node starts another
        throw;
      }
    }
    return spawn_and_wait(program_, args, true, timeout);
  }

  /// The run's fork server, started by the first node that asks; null when it is off or
  /// the node program does not serve.
  std::shared_ptr<fork_server> serving() {
    std::lock_guard lock(server_mutex_);
    if (!use_fork_server_) return nullptr;
    if (!server_) {
      server_ = fork_server::start(program_, argv0_, nodes_per_process_);
      use_fork_server_ = server_ != nullptr;
    }
    return server_;
  }

  std::string program_;
  std::string argv0_;
  bool private_store_;
  std::size_t nodes_per_process_;
  std::mutex server_mutex_;
  bool use_fork_server_;  // (under the mutex, with server_)
  std::shared_ptr<fork_server> server_;
};

}  // namespace

LOOM_FUNC map_batch plan_batch(frame& f, std::uint32_t node, map_run& run, std::size_t begin, std::size_t end,
                               std::uint32_t chunk) {
  const map_spec& spec = f.g->maps[f.g->nodes[node].map];
  map_batch batch;
  batch.begin = begin;
  batch.end = end;
  for (std::size_t k = begin; k < end; ++k) {
    if (!run.reused(k)) batch.items.push_back(k);
  }
  const std::string prefix = f.run->context->keys_of(f, node).prefix + "/batch-" + std::to_string(chunk);
  batch.request.inputs_key = prefix + "/inputs.json";
  batch.request.outputs_key = prefix + "/outputs.json";
  batch.request.error_key = prefix + "/error.json";
  batch.request.map_mapped = spec.mapped;
  batch.request.map_partial = spec.partial;
  return batch;
}

LOOM_FUNC void write_batch(frame& f, std::uint32_t node, map_run& run, map_batch& batch, bool fresh_store) {
  const graph_node& n = f.g->nodes[node];
  const map_spec& spec = f.g->maps[n.map];
  const entity_info& info = *n.info;
  batch.started = std::chrono::steady_clock::now();
  std::call_once(run.literals_once, [&] {
    for (std::uint32_t i = 0; i < n.input_count; ++i) run.literals.push_back(run.inputs[i].to_json());
  });
  json inputs = json::object();
  for (std::uint32_t i = 0; i < n.input_count; ++i) {
    const json& whole = run.literals[i];
    if ((spec.mapped >> i) & 1U) {  // the batch's slice
      json slice = json::array();
      for (const std::size_t k : batch.items) slice.push_back(whole[k]);
      inputs[info.interface.inputs[i].name] = std::move(slice);
    } else {
      inputs[info.interface.inputs[i].name] = whole;
    }
  }
  write_request(f, node, batch.request, std::move(inputs), fresh_store);
}

LOOM_FUNC void fail_batch(frame& f, std::uint32_t node, map_run& run, const map_batch& batch,
                          const std::string& message) {
  const map_spec& spec = f.g->maps[f.g->nodes[node].map];
  for (const std::size_t k : batch.items) run.item_failed(k, message, spec.partial);
}

LOOM_FUNC void collect_batch(frame& f, std::uint32_t node, map_run& run, const map_batch& batch, const std::string& who,
                             const keep_items_fn& keep) {
  const graph_node& n = f.g->nodes[node];
  const map_spec& spec = f.g->maps[n.map];
  const entity_info& info = *n.info;
  const std::string& key = batch.request.outputs_key;
  std::optional<json> result;
  try {
    result = read_json_object(f.run->context->store(), key);
    if (!result || !result->is_object() || !result->contains("done") || !(*result)["done"].is_number_unsigned() ||
        !result->contains("failed") || !(*result)["failed"].is_object()) {
      throw error(who + " wrote no readable batch result (" + key + ")");
    }
  } catch (const std::exception& e) {
    fail_batch(f, node, run, batch, e.what());
    return;
  }
  const json& failed = (*result)["failed"];
  const json& attempts = (*result)["attempts"];
  const std::size_t done = std::min(batch.items.size(), (*result)["done"].get<std::size_t>());
  for (std::size_t j = 0; j < done; ++j) {
    const std::size_t k = batch.items[j];
    const std::string at = std::to_string(j);
    if (attempts.is_object() && attempts.contains(at)) {
      run.item_attempts(k, attempts[at].is_number_unsigned() ? attempts[at].get<std::uint32_t>() : 0);
    }
    if (failed.contains(at)) {
      run.item_failed(k, failed[at].is_string() ? failed[at].get<std::string>() : failed[at].dump(), spec.partial);
      continue;
    }
    try {
      for (std::uint32_t o = 0; o < n.output_count; ++o) {
        const std::string& name = info.interface.outputs[o].name;
        if (!result->contains(name) || !(*result)[name].is_array() || (*result)[name].size() <= j) {
          throw error(key + ": no " + name + " for item " + std::to_string(k));
        }
        info.map->put_literal(o, run.outputs[o], k, spec.partial, (*result)[name][j], name);
      }
    } catch (const std::exception& e) {
      run.item_failed(k, e.what(), spec.partial);
      continue;
    }
    run.item_succeeded(k);
  }
  // A batch that took a while is kept, as a thread's chunk is: a resume runs it again
  // only for the items that did not finish.
  if (run.phase && std::chrono::steady_clock::now() - batch.started >= f.run->options->map_checkpoint_interval) {
    keep(batch.begin, batch.end);
  }
}

LOOM_FUNC void run_items_in_batch(frame& f, std::uint32_t node, map_run& run, std::size_t begin, std::size_t end,
                                std::uint32_t chunk, const keep_items_fn& keep, bool fresh_store,
                                const std::function<std::string(const node_request&)>& execute) {
  map_batch batch = plan_batch(f, node, run, begin, end, chunk);
  if (batch.items.empty() || run.stop.load() || f.run->failed.load()) return;
  std::string who;
  try {
    write_batch(f, node, run, batch, fresh_store);
    who = execute(batch.request);
  } catch (const std::exception& e) {
    fail_batch(f, node, run, batch, e.what());
    return;
  }
  collect_batch(f, node, run, batch, who, keep);
}

LOOM_FUNC std::optional<std::string> stored_task_error(const object_store& store, const std::string& key) {
  std::optional<json> stored;
  try {
    stored = read_json_object(store, key);
  } catch (const std::exception&) {
    return std::nullopt;
  }
  if (stored && stored->is_object() && stored->contains("message") && (*stored)["message"].is_string()) {
    return (*stored)["message"].get<std::string>();
  }
  return std::nullopt;
}

LOOM_FUNC void write_request(frame& f, std::uint32_t node, node_request& request, json inputs, bool fresh_store,
                             json* inputs_here) {
  const execution_context& context = *f.run->context;
  const run_options& options = context.options();
  const object_store& store = context.store();
  const entity_info& info = *f.g->nodes[node].info;
  if (!fresh_store) {  // a kept store may hold an earlier run's objects under these keys
    store.remove(request.outputs_key);
    store.remove(request.error_key);
  }
  json document = {{"entity", info.name}, {"inputs", std::move(inputs)}};
  if (inputs_here != nullptr) {
    *inputs_here = std::move(document);
  } else {
    // Read right away by the node process: no need to wait for the disk.
    store.put(request.inputs_key, document.dump(), false);
  }
  request.entity = info.name;
  request.store_root = store.root().string();
  request.node_path = f.path_of(node);
  request.max_dynamic_nodes = options.limits.max_dynamic_nodes;
  request.inline_literal_bytes = options.inline_literal_bytes;
  request.sync = !fresh_store;
}

LOOM_FUNC node_request write_node_request(frame& f, std::uint32_t node, const std::string& result_key, bool fresh_store,
                                         json* inputs_here) {
  const graph_node& n = f.g->nodes[node];
  json inputs = json::object();
  for (std::uint32_t k = 0; k < n.input_count; ++k) {
    inputs[n.info->interface.inputs[k].name] = binding_literal(*f.g, f.g->input_of(n, k), f.slots.get());
  }
  node_request request;
  const node_keys keys = f.run->context->keys_of(f, node);
  request.inputs_key = keys.inputs();
  request.outputs_key = result_key;
  request.error_key = keys.error();
  write_request(f, node, request, std::move(inputs), fresh_store, inputs_here);
  return request;
}

LOOM_FUNC std::unique_ptr<node_backend> make_process_backend(std::string program, std::string argv0,
                                                             bool private_store, const process_options& how) {
  return std::make_unique<process_node_backend>(std::move(program), std::move(argv0), private_store, how);
}

}  // namespace loom::detail
