// fuzz_subdag_rows: the state store's sub-DAG rows (loom/state_store.hpp,
// subdag_record: a large dynamic sub-DAG's nodes, one row), written to a scratch SQLite
// database, their tasks column then replaced by the input's own text (what a damaged
// file may hold), and read back as every reader does: state_store::subdags() and
// state_store::nodes(), which lists the sub-DAG's nodes (what `loom show` and loom ui
// read). A damaged row must be read as far as it makes sense, never crash the reader.
//
// Input: length (int64, little-endian), a byte giving the size of the prefix, the
// prefix, two bytes giving the size of the tasks text, the tasks text, two bytes giving
// the size of task_of, task_of, then the phases.
#include <loom/detail/checksum.hpp>
#include <loom/state_store.hpp>

#include "fuzz_state_store.hpp"
#include "fuzz_support.hpp"

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include <sqlite3.h>

namespace {

using loom_fuzz::database;
using loom_fuzz::database_path;
using loom_fuzz::fresh_execution;
using loom_fuzz::take;

/// A second connection, for what the state store never writes: a tasks text of any bytes.
sqlite3* raw() {
  static sqlite3* h = [] {
    sqlite3* opened = nullptr;
    database();  // (created, in WAL mode, with the schema)
    loom_fuzz::check(sqlite3_open(database_path().c_str(), &opened) == SQLITE_OK, "cannot open the scratch database");
    sqlite3_busy_timeout(opened, 10000);
    return opened;
  }();
  return h;
}

std::size_t take_size(std::string_view& in, std::size_t bytes) {
  return in.size() >= bytes ? static_cast<std::size_t>(loom::detail::get_le(take(in, bytes), 0, bytes)) : 0;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  if (in.size() < 8) return 0;
  loom::subdag_record row;
  row.path = "n0";
  row.length = static_cast<std::int64_t>(loom::detail::get_le(take(in, 8), 0, 8));
  row.prefix = std::string(take(in, take_size(in, 1)));
  const std::string tasks(take(in, take_size(in, 2)));
  row.task_of = std::string(take(in, take_size(in, 2)));
  row.phases = std::string(in.substr(0, 1 << 16));  // (a row of at most 65,536 nodes: nodes() makes one per node)
  row.updated_us = 1;

  static int rows = 0;
  if (rows++ % 64 == 0) fresh_execution();  // (the rows do not pile up)
  database().write_nodes("ex", {}, 0, 0, 0, {row});
  sqlite3_stmt* s = nullptr;
  loom_fuzz::check(sqlite3_prepare_v2(raw(), "UPDATE subdags SET tasks=?", -1, &s, nullptr) == SQLITE_OK, "prepare");
  sqlite3_bind_text(s, 1, tasks.data(), static_cast<int>(tasks.size()), SQLITE_TRANSIENT);
  loom_fuzz::check(sqlite3_step(s) == SQLITE_DONE, "cannot write the tasks text");
  sqlite3_finalize(s);

  const auto groups = database().subdags("ex");
  loom_fuzz::check(groups.size() == 1, "a sub-DAG row written is not read back");
  const auto& g = groups[0];
  loom_fuzz::check(g.phases == row.phases && g.task_of == row.task_of && g.prefix == row.prefix,
                   "a sub-DAG row's blobs do not read back as they were written");
  loom_fuzz::check(g.length >= 0 && static_cast<std::size_t>(g.length) <= g.phases.size() &&
                       static_cast<std::size_t>(g.length) <= g.task_of.size() / 2,
                   "a sub-DAG row reads back with a length beyond its blobs");
  std::size_t started = 0;
  for (std::size_t k = 0; k < static_cast<std::size_t>(g.length); ++k) {
    const int code = static_cast<unsigned char>(g.phases[k]);
    if (code != 0 && code <= 1 + static_cast<int>(loom::node_phase::skipped)) ++started;
  }
  const auto nodes = database().nodes("ex");
  loom_fuzz::check(nodes.size() == started, "nodes() does not list each started node of the sub-DAG once");
  for (const auto& n : nodes) {
    loom_fuzz::check(static_cast<int>(n.phase) >= 0 && n.phase <= loom::node_phase::skipped, "a node of no phase");
    loom_fuzz::check(n.path.compare(0, g.prefix.size(), g.prefix) == 0, "a node outside its sub-DAG's prefix");
  }
  return 0;
}
