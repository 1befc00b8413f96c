// Finding a record in a pack file, for tests that damage or cut one on purpose. The
// records are binary (loom/object_store.hpp), so a key is found by walking them with the
// store's own record reader, not by searching the bytes.
#pragma once

#include <loom/object_store.hpp>

#include <cstddef>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>

namespace loom_test {

/// Where one record of `pack` is: its start and the offset of its bytes.
struct pack_record_at {
  std::size_t start = 0;
  std::size_t bytes = 0;
};

/// The last whole record of `pack` filed under `key` (relative to the execution, e.g.
/// "n0/dn7/outputs.json"); throws if there is none.
inline pack_record_at find_pack_record(std::string_view pack, std::string_view key) {
  std::size_t at = 0;
  std::optional<pack_record_at> found;
  while (at < pack.size()) {
    const auto r = loom::detail::read_pack_record(pack.substr(at), at);
    using state = loom::detail::pack_record::state;
    if (r.status == state::incomplete || r.status == state::unframed) break;
    if (r.status == state::whole && r.key == key) found = pack_record_at{at, at + r.body};  // (a damaged one is skipped)
    at += r.length;
  }
  if (!found) throw std::runtime_error("no record " + std::string(key) + " in the pack");
  return *found;
}

}  // namespace loom_test
