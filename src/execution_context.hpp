// src/execution_context.hpp — the one owner of a run's persistence. An in-memory run
// has no store and its context does nothing; a stored run keeps its inputs, every
// node's outputs and every futures file in the object store; a recorded run (a store
// of the caller's, not the process backend's private one) also records the execution
// and its node events in the state store, and is what resume and the cache read from.
// The scheduler and the node handlers ask the context; none of them holds a store.
//
// The recorder of node events watches the run through the observer seam: the context
// is the run_observer that feeds it.
#pragma once

#include "run_observer.hpp"
#include "run_state.hpp"

#include <loom/executor.hpp>
#include <loom/futures_file.hpp>
#include <loom/object_store.hpp>
#include <loom/process_backend.hpp>
#include <loom/recorder.hpp>
#include <loom/state_store.hpp>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <unordered_set>

namespace loom::detail {

/// The value a binding refers to, as a literal (no copy of slot values).
json binding_literal(const graph& g, const binding& b, any_value* slots);

class execution_context final : public run_observer {
 public:
  /// The run's options as it runs them: a process-backend run without a store gets a
  /// private temporary one; a stored run without an execution id gets a new one.
  /// Throws when resume has no store to resume from.
  explicit execution_context(const run_options& options);
  execution_context(const execution_context&) = delete;
  execution_context& operator=(const execution_context&) = delete;
  ~execution_context() override;

  [[nodiscard]] const run_options& options() const { return options_; }
  /// Whether values are kept in a store (the caller's, or the private one).
  [[nodiscard]] bool stored() const { return options_.store != nullptr; }
  /// Whether the run is recorded in a state store (and can be resumed, and caches).
  [[nodiscard]] bool recorded() const { return recorder_.has_value(); }
  [[nodiscard]] bool resuming() const { return options_.resume; }

  [[nodiscard]] bool private_store() const { return scratch_.has_value(); }
  [[nodiscard]] const object_store& store() const { return *options_.store; }
  [[nodiscard]] const std::string& execution_id() const { return options_.execution_id; }

  /// The run begins: a recorded one records its execution (or claims it, resume), its
  /// inputs and its root graph; a stored one keeps its inputs.
  void begin(const frame& root);
  /// The run succeeded: its outputs are kept, its record closed.
  void succeeded(const frame& root);
  /// The run failed: its record says why. Does not throw.
  void failed(const std::string& message);

  /// Where a node's objects go: `<execution>/<node path>/...`.
  [[nodiscard]] node_keys keys_of(const frame& f, std::uint32_t node) const;

  // ---- A node's outputs ----
  /// Keeps a node's outputs (in its slots): in the pack with the node's row, or as a
  /// file of their own when the run is not recorded; nothing in memory.
  void outputs_ready(const frame& f, std::uint32_t node);
  /// A node's outputs were stored by its process: its row says it succeeded.
  void outputs_stored(const frame& f, std::uint32_t node);
  /// Reads stored outputs (`{"o0": ...}`) into a node's slots; false if there are none.
  /// Throws, naming the key, when they are damaged or not of the node's types.
  bool read_outputs(frame& f, std::uint32_t node, const std::string& key) const;
  /// The same from a JSON object of outputs that came another way (`where` names it in
  /// errors).
  void decode_outputs(frame& f, std::uint32_t node, const json& outputs, const std::string& where) const;
  /// Resume: whether the node's outputs are stored (then read into its slots). A
  /// damaged copy is reported and not used: the node runs again.
  bool reuse_outputs(frame& f, std::uint32_t node);

  // ---- The cache (loom/policy.hpp) ----
  /// The cache key of a node: its entity's name and version, and its inputs by name.
  [[nodiscard]] std::string cache_key(const frame& f, std::uint32_t node) const;
  /// A cache hit: the outputs kept under `key`, read into the node's slots.
  bool reuse_cached(frame& f, std::uint32_t node, const std::string& key);
  /// Keeps a node's outputs in the cache.
  void keep_cached(const frame& f, std::uint32_t node, const std::string& key);
  /// A cached dynamic node's key, kept until its sub-DAG is done.
  void remember_cache_key(const frame& f, std::uint32_t node, std::string key);
  /// The node's sub-DAG is done: its outputs go to the cache under the key remembered.
  void keep_remembered(const frame& f, std::uint32_t node);

  // ---- Dynamic nodes ----
  /// Resume: the futures file the node wrote before, validated; null when there is none
  /// (or it is damaged: reported, not used).
  std::unique_ptr<graph> stored_futures(const frame& f, std::uint32_t node);
  /// The node's sub-DAG goes through its futures file: written to the store (when the
  /// run has one) and, with verify_futures, read back and validated. Returns what to run.
  /// A recorded run writes it in the background (execution_recorder::write_first).
  std::shared_ptr<const graph> through_futures_file(const frame& f, std::uint32_t node, std::unique_ptr<graph> sub);
  /// Reads a futures file a node process wrote, validated as any futures file is.
  std::unique_ptr<graph> read_futures(const frame& f, std::uint32_t node, const std::string& key) const;

  // ---- Map nodes ----
  /// A recorded map tracks its items; on resume the items a run before kept are done.
  void track_items(const frame& f, std::uint32_t node, map_run& run);
  /// Keeps the outputs of the items of [from, to) that succeeded since the last record.
  void keep_items(const frame& f, std::uint32_t node, map_run& run, std::size_t from, std::size_t to);
  /// Every item is done: the map's item row, whole. Throws when it cannot be recorded.
  void items_done(map_run& run);
  /// The run failed elsewhere while the map ran: its rows say so, and which items
  /// finished (instead of a node left "running"). Does not throw.
  void map_aborted(const frame& f, std::uint32_t node, map_run& run);

  /// A warning: run_options::warn, or standard error.
  void warn(const std::string& message) const;

  /// A sub-DAG begins (`child`, a recorded run's): large ones (run_options::
  /// compact_subdag_nodes) are recorded compactly (frame::compact, loom/recorder.hpp);
  /// one whose futures file is being written learns it (frame::futures_writing).
  void subdag_entered(frame& child);

  // ---- run_observer: the recorder's node events ----
  void graph_entered(const std::string& path, const graph& g, const std::shared_ptr<const graph>& owned) override;
  void attempt_started(const frame& f, std::uint32_t node) override;
  void attempt_failed(const frame& f, std::uint32_t node, std::uint32_t attempt, std::uint32_t retries,
                      const std::string& message) override;
  void node_skipped(const frame& f, std::uint32_t node) override;
  void node_failed(const frame& f, std::uint32_t node, const std::string& message) override;

 private:
  void store_inputs(const frame& root);
  std::shared_ptr<subdag_progress> compact_subdag(const frame& child);
  /// A node's failure (or abort) event; a node of a compact sub-DAG gets a row for it.
  void record_failed(const frame& f, std::uint32_t node, std::string message, node_phase phase);
  /// A node of a compact sub-DAG gets its phase byte set; whether the node's event must
  /// be recorded too (it is not in a compact sub-DAG, or it has a row there).
  static bool phase_needs_event(const frame& f, std::uint32_t node, node_phase phase);
  [[nodiscard]] std::string outputs_text(const frame& f, std::uint32_t node) const;
  /// outputs_json(f, node).dump() appended to `out`, without the object in between for
  /// the usual single output (this runs for every recorded node).
  void append_outputs_text(std::string& out, const frame& f, std::uint32_t node) const;
  /// The same outputs in their compact form (loom/detail/compact_value.hpp) when the
  /// node has one output whose value has one, else as append_outputs_text: the bytes of
  /// a compact sub-DAG's node in its pack (the store gives back the text on read).
  void append_outputs_record(std::string& out, const frame& f, std::uint32_t node) const;
  [[nodiscard]] json outputs_json(const frame& f, std::uint32_t node) const;
  void write_items(const frame& f, std::uint32_t node, map_run& run, std::size_t from, std::size_t to);
  [[nodiscard]] futures_read_options read_options(const std::string& prefix) const;

  run_options options_;
  std::optional<temporary_store> scratch_;  // the process backend's store when the caller gave none
  std::optional<state_store> own_state_;    // the store's own database, when run_options::state is null
  state_store* states_ = nullptr;
  std::optional<execution_recorder> recorder_;
  std::mutex mutex_;
  std::unordered_set<std::string> stored_specs_;                     // static workflows whose graph is kept
  std::unordered_map<std::string, std::string> dynamic_cache_keys_;  // cached dynamic nodes running
  // Sub-DAGs whose futures file is written in the background, until their frame starts.
  std::unordered_map<const graph*, std::shared_ptr<std::atomic<bool>>> futures_writing_;
};

}  // namespace loom::detail
