// loom/recorder.hpp — how a stored run records itself. A node's outputs are written to
// the execution's pack (loom/object_store.hpp) by the thread that ran it, with one
// write(2), before the node counts as done: from then on they survive a kill of the
// program, and a resume finds them and does not run the node again, whether or not its
// row was written. Node events (started, succeeded, failed) go into a queue; a
// background thread takes them in batches, syncs the pack once (fdatasync), then writes
// the batch's node rows in one transaction of the state store (loom/state_store.hpp).
// The pack is on the disk before the rows that say a node succeeded, so a committed
// "succeeded" has its outputs even after a power loss.
//
// What stays at-least-once: a task killed while it runs (it starts again on resume), and
// the items of a map node that finished since the node's last kept record of items.
//
// The events of one node within a batch collapse into one row, so a fast node costs one
// row, not two.
//
// The recorder's code is compiled once into loom::runtime (src/recorder.cpp).
#pragma once

#include <loom/detail/config.hpp>
#include <loom/object_store.hpp>
#include <loom/state_store.hpp>

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace loom::detail {

struct node_event {
  std::string path;
  std::string task;
  int kind = 0;
  node_phase phase = node_phase::running;
  std::int64_t at_us = 0;
  std::string error;
  std::optional<std::string> outputs;  // an object event's bytes (a node's outputs are written at once)
  std::string outputs_key;             // or: where they already are (not the node's own key)
  bool counts_start = true;            // false: a node found done by resume, not started
  // Not a node's event: an object to pack under `path` (a key within the execution),
  // or the item row of a map node (`path` is the node's).
  enum class what : std::uint8_t { node, object, map_items } is = what::node;
  std::shared_ptr<const map_items_record> items;
};

class execution_recorder {
 public:
  /// Batches are written every `interval`, or sooner when `max_batch` events wait.
  execution_recorder(const object_store& store, state_store& state, std::string execution_id,
                     std::chrono::milliseconds interval = std::chrono::milliseconds(50), std::size_t max_batch = 16384);
  execution_recorder(const execution_recorder&) = delete;
  execution_recorder& operator=(const execution_recorder&) = delete;
  ~execution_recorder();

  void started(std::string path, std::string_view task, int kind);

  /// A node that succeeded; `outputs` (its outputs as JSON) are written to the pack now.
  void succeeded(std::string path, std::string_view task, int kind, std::optional<std::string> outputs,
                 bool counts_start = false, std::string outputs_key = {});

  /// A node not run: its outputs came from the cache (`outputs_key`).
  void cached(std::string path, std::string_view task, int kind, std::string outputs_key);

  /// A node not run: it is in the branch of a wf.when that was not taken.
  void skipped(std::string path, std::string_view task, int kind);

  void failed(std::string path, std::string_view task, int kind, std::string message,
              node_phase phase = node_phase::failed);

  /// The outputs of some items of a map node, packed under `key` (within the execution):
  /// what a resumed map does not run again.
  void checkpoint(std::string key, std::string text);

  /// The item row of a map node (replacing the one before).
  void map_items(std::shared_ptr<const map_items_record> items);

  /// Nodes that became known (a frame started).
  void added(std::int64_t nodes);

  /// Writes everything queued so far and waits until it is written; rethrows the
  /// first error the writer met (a full disk, a damaged database).
  void flush();

  /// Flushes and stops the writer thread.
  void close();

  [[nodiscard]] std::uintmax_t pack_bytes() const { return pack_.bytes_written(); }

 private:
  static node_event event(std::string path, std::string_view task, int kind, node_phase phase);

  void push(node_event e);

  void loop();

  void write(std::vector<node_event>& batch, std::int64_t added);

  state_store* state_;
  std::string execution_;
  pack_writer pack_;
  std::chrono::milliseconds interval_;
  std::size_t max_batch_;
  std::mutex mutex_;
  std::condition_variable wake_;
  std::condition_variable written_;
  std::vector<node_event> queue_;
  std::int64_t added_ = 0;
  std::uint64_t flush_requests_ = 0;
  std::uint64_t flushed_ = 0;
  bool stopping_ = false;
  bool stopped_ = false;
  std::exception_ptr error_;
  std::thread thread_;  // last: starts when everything above is ready
};

}  // namespace loom::detail
