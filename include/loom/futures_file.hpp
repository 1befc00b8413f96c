// loom/futures_file.hpp — a dynamic node's sub-DAG as data: versioned JSON that one
// process writes and another (or the same) validates and executes. Its format is
// documented in docs/futures-file.md with a JSON Schema (docs/futures-file.schema.json).
//
//   { "format": "loom-futures", "version": 1,
//     "workflow": "count_characters",                  // the dynamic workflow
//     "entities": { "update_list": { "kind": "task", "version": "1",
//                                    "interface": { "inputs": [...], "outputs": [...] } } },
//     "nodes": [ { "id": "dn1", "entity": "update_list",
//                  "inputs": { "freq_list": { "literal": [0, 0, ...] },
//                              "list_index": { "ref": "dn0.o0" } } } ],
//     "outputs": { "o0": { "ref": "dn4.o0" } },
//     "subworkflows": { "name": { "inputs": [...], "nodes": [...], "outputs": {...} } } }
//
// A binding is {"literal": v}, {"ref": "<node id>.<output>"}, {"input": "<name>"} (in a
// subworkflow), {"list": [binding...]}, {"map": {"key": binding}}, or {"stored": "<key>"}
// (a large literal kept in the object store).
//
// Writing and reading (futures_writer, futures_reader) are compiled once into
// loom::runtime (src/futures_file.cpp).
#pragma once

#include <loom/detail/config.hpp>
#include <loom/detail/graph.hpp>
#include <loom/error.hpp>
#include <loom/literal.hpp>

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>

namespace loom {

class object_store;

inline constexpr int futures_format_version = 1;

struct futures_write_options {
  /// Literals whose JSON is longer than this go to the object store (when one is given).
  std::size_t inline_literal_bytes = 64 * 1024;
  const object_store* store = nullptr;
  std::string store_prefix;  // e.g. "<execution>/<node path>"
};

struct futures_read_options {
  std::size_t max_nodes = 1'000'000;
  std::size_t max_bytes = std::size_t{1} << 30;  // the file, and each stored literal it refers to
  const object_store* store = nullptr;           // for {"stored": key} literals
  /// When set, stored literals must be under this key prefix (the node's own keys).
  std::string stored_prefix;
};

/// The futures file of a dynamic node's sub-DAG: its text (what is stored).
std::string write_futures_text(const detail::graph& sub_dag, std::string_view workflow,
                               const futures_write_options& options = {});

/// The same as a JSON document (for tests and tools that look inside).
json write_futures_file(const detail::graph& sub_dag, std::string_view workflow,
                        const futures_write_options& options = {});

/// Validates a futures file and makes it executable; throws loom::futures_error listing
/// every problem. `where` names the file in messages (a path or an object store key).
std::unique_ptr<detail::graph> read_futures_file(std::string_view text, std::string where,
                                                 const futures_read_options& options = {},
                                                 const detail::entity_info* expected = nullptr);

}  // namespace loom
