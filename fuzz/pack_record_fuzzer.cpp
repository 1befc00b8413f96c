// fuzz_pack_record: the records of a pack (loom/object_store.hpp: "lrc2" | key size |
// size | checksum | header check | key | bytes), read as the object store reads a pack
// (detail::read_pack_record from the front of the unread rest, src/object_store.cpp),
// and then through the store itself: the bytes written as a pack of an execution in a
// scratch store, its keys listed and every one read back.
//
// Input: one mode byte, then the pack's bytes. Bit 0 of the mode first mends the header
// check of every record header found (the 32-bit XXH3 a mutation never hits), bit 1 also
// its checksum, so that the fuzzer gets past them to the framing and the keys.
// The rules checked: a record read is whole, incomplete, damaged or unframed, never
// more than the bytes there; a whole one re-encodes to the same bytes; the store reports
// a damaged pack as loom::error (object_corrupt), never a crash; a whole record's compact
// body (loom/detail/compact_value.hpp) reads as JSON text that parses, or as a loom::error.
#include <loom/object_store.hpp>
#include <loom/detail/compact_value.hpp>

#include <nlohmann/json.hpp>

#include "fuzz_support.hpp"

#include <cstddef>
#include <cstdint>
#include <fstream>
#include <string>
#include <string_view>

namespace {

using loom::detail::pack_record;

/// Mends the header checks (and with `checksums`, the checksums) of the records the
/// bytes frame, from the front, as a writer would have written them.
void mend(std::string& pack, bool checksums) {
  std::size_t at = 0;
  while (at <= pack.size() && pack.size() - at >= loom::detail::pack_record_header_size) {
    if (std::string_view(pack).substr(at, 4) != loom::detail::pack_record_magic) return;
    const std::string_view header = std::string_view(pack).substr(at, 24);
    const std::size_t key_size = loom::detail::get_le(header, 4, 4);
    const std::size_t size = loom::detail::get_le(header, 8, 4);
    const std::size_t length = loom::detail::pack_record_header_size + key_size + size;
    if (checksums && key_size != 0 && pack.size() - at >= length) {
      const std::string_view record = std::string_view(pack).substr(at, length);
      std::string sum;
      loom::detail::put_le(sum, loom::detail::pack_record_checksum(record.substr(24, key_size), record.substr(24 + key_size)), 8);
      pack.replace(at + 12, 8, sum);
    }
    std::string check;
    loom::detail::put_le(check, loom::detail::checksum64(std::string_view(pack).substr(at, 20)) & 0xFFFFFFFFu, 4);
    pack.replace(at + 20, 4, check);
    if (key_size == 0 || key_size > loom::detail::pack_record_max_key) return;
    at += length;
  }
}

/// Reads the records as object_store::scan_pack does, checking each.
void read_records(std::string_view pack) {
  std::string_view rest = pack;
  while (!rest.empty()) {
    const pack_record r = loom::detail::read_pack_record(rest, pack.size() - rest.size());
    if (r.status == pack_record::state::incomplete) return;
    if (r.status == pack_record::state::unframed) {
      loom_fuzz::check(!r.problem.empty(), "an unframed record without a problem");
      return;
    }
    loom_fuzz::check(r.length <= rest.size() && r.body + r.size == r.length && r.body >= 24, "a record beyond the bytes");
    loom_fuzz::check(!r.key.empty() && r.key.size() <= loom::detail::pack_record_max_key, "a record key out of bounds");
    loom_fuzz::check(r.length > 0, "a record of no bytes (the scan would not advance)");
    if (r.status == pack_record::state::whole) {
      std::string again;
      loom::detail::append_pack_record(again, r.key, rest.substr(r.body, r.size));
      loom_fuzz::check(again == rest.substr(0, r.length), "a whole record does not re-encode to its bytes");
      const std::string_view bytes = rest.substr(r.body, r.size);
      if (loom::detail::is_compact(bytes)) {
        try {
          const std::string text = loom::detail::compact_to_json_text(bytes);
          loom_fuzz::check(nlohmann::json::accept(text), "a compact body read as text that is not JSON");
        } catch (const loom::error& e) {
          loom_fuzz::check_message(e);
        }
      }
    } else {
      loom_fuzz::check(r.status == pack_record::state::damaged && !r.problem.empty(), "a damaged record without a problem");
    }
    rest.remove_prefix(r.length);
  }
}

/// The pack as a file of execution "ex" in a fresh store: list it, read every key.
void read_through_store(const std::string& pack) {
  const auto root = loom_fuzz::scratch_directory() / "store";
  std::filesystem::remove_all(root);
  std::filesystem::create_directories(root / "ex" / "packs");
  {
    std::ofstream out(root / "ex" / "packs" / "fuzz.pack", std::ios::binary);
    out.write(pack.data(), static_cast<std::streamsize>(pack.size()));
  }
  const loom::object_store store(root);
  std::vector<std::string> keys;
  try {
    keys = store.list("ex");
  } catch (const loom::error& e) {
    loom_fuzz::check_message(e);
    return;
  }
  // (Not the pack's own path: get() reads it as an object file, whose missing checksum
  // it re-reads 15 ms later before calling it damaged.)
  keys.push_back("ex/missing");
  for (const auto& key : keys) {
    try {
      (void)store.contains(key);
      const auto bytes = store.get(key);
      (void)bytes;
    } catch (const loom::error& e) {
      loom_fuzz::check_message(e);
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 1) return 0;
  const std::uint8_t mode = data[0];
  std::string pack(reinterpret_cast<const char*>(data + 1), size - 1);
  if ((mode & 1) != 0) mend(pack, (mode & 2) != 0);
  read_records(pack);
  read_through_store(pack);
  return 0;
}
