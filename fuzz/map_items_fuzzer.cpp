// fuzz_map_items: the state store's map item rows (loom/state_store.hpp,
// map_items_record): written to and read back from a scratch SQLite database
// (state_store::write_map_items, state_store::map_items), then decoded as everything
// that reads them does: the packed phases (map_items_record::phase), and the sparse
// attempts and errors objects as the loom command shows them (tools/store_view.cpp:
// items_json, items_summary, sparse_by_index). A row is data from the database file,
// which anything may have written: a damaged one must be shown, or refused with a
// message, never crash the reader.
//
// Input: length, succeeded, failed (3 x int64, little-endian), then a byte giving the
// size of the path, the path, two bytes giving the size of the phases, the phases, then
// the attempts text, a NUL, and the errors text.
#include <loom/detail/checksum.hpp>
#include <loom/state_store.hpp>

#include "fuzz_state_store.hpp"
#include "fuzz_support.hpp"
#include "store_view.hpp"

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

using loom_fuzz::database;
using loom_fuzz::fresh_execution;
using loom_fuzz::take;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  if (in.size() < 24) return 0;
  loom::map_items_record row;
  row.length = static_cast<std::int64_t>(loom::detail::get_le(take(in, 8), 0, 8));
  row.succeeded = static_cast<std::int64_t>(loom::detail::get_le(take(in, 8), 0, 8));
  row.failed = static_cast<std::int64_t>(loom::detail::get_le(take(in, 8), 0, 8));
  const std::size_t path_size = in.empty() ? 0 : static_cast<unsigned char>(take(in, 1)[0]);
  row.path = std::string(take(in, path_size));
  std::size_t phases_size = 0;
  if (in.size() >= 2) phases_size = loom::detail::get_le(take(in, 2), 0, 2);
  row.phases = std::string(take(in, phases_size));
  const auto nul = in.find('\0');
  row.attempts = std::string(in.substr(0, nul));
  row.errors = nul == std::string_view::npos ? std::string() : std::string(in.substr(nul + 1));

  static bool created = false;
  static int rows = 0;
  if (!created || ++rows % 64 == 0) {  // (a fresh execution now and then: the rows do not pile up)
    fresh_execution();
    created = true;
  }
  database().write_map_items("ex", row);
  std::optional<loom::map_items_record> read;
  for (auto& r : database().map_items("ex")) {
    if (r.path == row.path) read = std::move(r);
  }
  loom_fuzz::check(read.has_value(), "a map item row written is not read back");
  // A possible row reads back as it was written; an impossible one (counts that are
  // negative, add up past the length, or a length past its phases) reads back with its
  // counts made possible, so every reader can do its arithmetic on them.
  const auto covered_items = static_cast<std::int64_t>(row.phases.size()) * 4;
  const bool possible = row.length >= 0 && row.length <= covered_items && row.succeeded >= 0 && row.failed >= 0 &&
                        row.succeeded <= row.length && row.failed <= row.length - row.succeeded;
  loom_fuzz::check(read->phases == row.phases, "a map item row's phases do not read back as they were written");
  if (possible) {
    loom_fuzz::check(read->length == row.length && read->succeeded == row.succeeded && read->failed == row.failed,
                     "a map item row does not read back as it was written");
  }
  loom_fuzz::check(read->length >= 0 && read->length <= covered_items && read->succeeded >= 0 && read->failed >= 0 &&
                       read->succeeded <= read->length && read->failed <= read->length - read->succeeded,
                   "a map item row reads back with impossible counts");

  const auto& items = *read;
  // The items' phases, as `loom show --item` and loom ui walk them (a damaged row's
  // length is not walked beyond its phases).
  const std::size_t covered = items.phases.size() * 4 + 8;
  for (std::size_t k = 0; k < covered; ++k) {
    const int p = items.phase(k);
    loom_fuzz::check(p >= 0 && p <= 3, "an item phase of more than 2 bits");
    if (k >= items.phases.size() * 4) loom_fuzz::check(p == loom::map_items_record::not_done, "an item beyond the phases is done");
  }
  (void)loom_tool::sparse_by_index(items.attempts);
  (void)loom_tool::sparse_by_index(items.errors);
  (void)loom_tool::items_json(items).dump();
  loom_tool::tree_node node;
  node.path = items.path;
  node.task = "fuzz";
  node.kind = "map";
  node.items = items;
  (void)loom_tool::items_summary(node);
  return 0;
}
