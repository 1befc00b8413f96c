// fuzz/fuzz_state_store.hpp — what the state store's fuzz targets share (fuzz_map_items,
// fuzz_subdag_rows): a scratch database, an execution "ex" made afresh now and then (so
// that rows do not pile up), and reading an input's fields off its front.
#pragma once

#include <loom/state_store.hpp>

#include "fuzz_support.hpp"

#include <cstddef>
#include <filesystem>
#include <memory>
#include <string_view>

namespace loom_fuzz {

inline std::filesystem::path database_path() { return scratch_directory() / "loom.db"; }

inline loom::state_store& database() {
  static std::unique_ptr<loom::state_store> db = std::make_unique<loom::state_store>(database_path());
  return *db;
}

/// Execution "ex", made again (its rows gone).
inline void fresh_execution() {
  auto& db = database();
  db.delete_execution("ex");
  loom::execution_record e;
  e.id = "ex";
  e.workflow = "fuzz";
  e.status = "running";
  e.started_us = 1;
  e.owner = loom::state_store::this_owner();
  db.create_execution(e);
}

/// Takes `n` bytes from the front of `in` (fewer if it is shorter).
inline std::string_view take(std::string_view& in, std::size_t n) {
  const auto out = in.substr(0, n);
  in.remove_prefix(out.size());
  return out;
}

}  // namespace loom_fuzz
