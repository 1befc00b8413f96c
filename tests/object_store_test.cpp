// The object store's checksums and packs: a damaged object is reported with its key
// and never used; packed objects are found by key; a pack cut short by a crash loses
// only its unfinished record.
#include <loom/object_store.hpp>

#include <catch2/catch.hpp>

#include <chrono>
#include <cstdlib>
#include <thread>

#include "test_files.hpp"
#include "test_packs.hpp"
#include "test_values.hpp"

#include <filesystem>
#include <fstream>
#include <random>
#include <string>

namespace {

namespace fs = std::filesystem;
using loom_test::scratch_dir;
using loom_test::slurp;
using loom_test::spit;
using loom_test::find_pack_record;

fs::path only_pack(const fs::path& dir) {
  for (const auto& e : fs::directory_iterator(dir)) return e.path();
  FAIL("no pack in " << dir);
  return {};
}

}  // namespace

TEST_CASE("object store: a file object is its bytes on disk, its checksum beside it in sha256sum's format") {
  scratch_dir dir("object-store-test");
  loom::object_store store(dir.path);
  store.put("ex-1/n0/outputs.json", "{\"o0\": 3}");
  // What a user opens is what its name says: the JSON document, nothing before it.
  CHECK(slurp(dir.path / "ex-1/n0/outputs.json") == "{\"o0\": 3}");
  CHECK(slurp(dir.path / "ex-1/n0/outputs.json.sha256") ==
        loom::detail::sha256_hex("{\"o0\": 3}") + "  outputs.json\n");
  CHECK(store.get("ex-1/n0/outputs.json") == std::optional<std::string>("{\"o0\": 3}"));
  CHECK_FALSE(store.get("ex-1/n1/outputs.json").has_value());
  store.put("ex-1/empty", "", /*sync=*/false);
  CHECK(store.get("ex-1/empty") == std::optional<std::string>(""));
  // Checksum files are not keys; remove() takes both files.
  CHECK(store.list("ex-1") == std::vector<std::string>{"ex-1/empty", "ex-1/n0/outputs.json"});
  store.put("ex-1/n0/outputs.json", "{\"o0\": 4}");  // replaced whole
  CHECK(store.get("ex-1/n0/outputs.json") == std::optional<std::string>("{\"o0\": 4}"));
  store.remove("ex-1/n0/outputs.json");
  CHECK_FALSE(fs::exists(dir.path / "ex-1/n0/outputs.json.sha256"));
  CHECK_FALSE(store.get("ex-1/n0/outputs.json").has_value());
}

TEST_CASE("object store: sha256sum -c checks an object file with its checksum file") {
  if (std::system("command -v sha256sum >/dev/null 2>&1") != 0) return;  // coreutils: always on Debian
  scratch_dir dir("object-store-test");
  loom::object_store store(dir.path);
  store.put("ex-1/n0/futures.json", "{\"version\": 1}");
  const std::string in = "cd '" + (dir.path / "ex-1/n0").string() + "' && sha256sum --status -c futures.json.sha256";
  CHECK(std::system(in.c_str()) == 0);
  spit(dir.path / "ex-1/n0/futures.json", "{\"version\": 2}");
  CHECK(std::system(in.c_str()) != 0);
}

TEST_CASE("object store: a file of Loom 0.1 (a header line, then the bytes) is still read") {
  scratch_dir dir("object-store-test");
  loom::object_store store(dir.path);
  const std::string bytes = "{\"o0\": 3}";
  const std::string legacy = "loom-object 1 size=9 sha256=" + loom::detail::sha256_hex(bytes) + "\n" + bytes;
  fs::create_directories(dir.path / "ex-1/n0");
  spit(dir.path / "ex-1/n0/outputs.json", legacy);
  CHECK(store.get("ex-1/n0/outputs.json") == std::optional<std::string>(bytes));
  CHECK(loom::object_store::verified_object("k", legacy) == bytes);
  spit(dir.path / "ex-1/n0/outputs.json", legacy.substr(0, legacy.size() - 4));
  CHECK_THROWS_WITH(store.get("ex-1/n0/outputs.json"),
                    Catch::Contains("ex-1/n0/outputs.json") && Catch::Contains("truncated: 5 of 9 bytes"));
  CHECK_THROWS_WITH(loom::object_store::verified_object("k", legacy + "xx"),
                    Catch::Contains("2 bytes more than its header says"));
}

TEST_CASE("object store: a damaged file object is reported with its key, never returned") {
  scratch_dir dir("object-store-test");
  loom::object_store store(dir.path);
  const std::string key = "ex-1/n0/dn3/outputs.json";
  store.put(key, "{\"o0\": [1, 2, 3]}");
  const auto file = dir.path / key;
  const auto sum = dir.path / (key + ".sha256");
  const std::string good = slurp(file);

  SECTION("a changed byte") {
    std::string bad = good;
    bad[bad.size() - 3] = '7';
    spit(file, bad);
    CHECK_THROWS_MATCHES(store.get(key), loom::object_corrupt,
                         Catch::Matchers::Message("object store: " + key + " is damaged (checksum mismatch)"));
  }
  SECTION("cut short") {
    spit(file, good.substr(0, good.size() - 4));
    CHECK_THROWS_WITH(store.get(key), Catch::Contains(key) && Catch::Contains("checksum mismatch"));
  }
  SECTION("bytes appended") {
    spit(file, good + "xx");
    CHECK_THROWS_WITH(store.get(key), Catch::Contains(key) && Catch::Contains("checksum mismatch"));
  }
  SECTION("its checksum file removed (or a write cut short between the two files)") {
    fs::remove(sum);
    CHECK_THROWS_WITH(store.get(key), Catch::Contains(key) && Catch::Contains("no checksum file"));
    CHECK(store.contains(key));
  }
  SECTION("its checksum file damaged") {
    spit(sum, "not a checksum\n");
    CHECK_THROWS_WITH(store.get(key), Catch::Contains(key) && Catch::Contains("holds no SHA-256 checksum"));
  }
  SECTION("a checksum file alone (the object never renamed in) is no object") {
    fs::remove(file);
    CHECK_FALSE(store.get(key).has_value());
  }
  SECTION("empty") {
    spit(file, "");
    CHECK_THROWS_AS(store.get(key), loom::object_corrupt);
  }
}

TEST_CASE("object store: packed objects are found by key, listed, and survive a new store object") {
  scratch_dir dir("object-store-test");
  loom::object_store store(dir.path);
  loom::pack_writer pack(store, "ex-2");
  pack.append("ex-2/n0/dn0/outputs.json", "{\"o0\": 1}");
  pack.append("ex-2/n0/dn1/outputs.json", "{\"o0\": 2}");
  CHECK(pack.pending() == 2);
  CHECK_FALSE(store.get("ex-2/n0/dn0/outputs.json").has_value());  // not written before flush()
  pack.flush();
  CHECK(pack.pending() == 0);
  CHECK(store.get("ex-2/n0/dn0/outputs.json") == std::optional<std::string>("{\"o0\": 1}"));
  pack.append("ex-2/n0/dn2/outputs.json", std::string(100000, 'x'));
  pack.flush(/*sync=*/false);
  CHECK(store.get("ex-2/n0/dn2/outputs.json")->size() == 100000);  // appended after the first scan
  CHECK(store.contains("ex-2/n0/dn1/outputs.json"));
  store.put("ex-2/n0/futures.json", "{}");
  CHECK(store.list("ex-2") == std::vector<std::string>{"ex-2/n0/dn0/outputs.json", "ex-2/n0/dn1/outputs.json",
                                                       "ex-2/n0/dn2/outputs.json", "ex-2/n0/futures.json"});
  CHECK(store.list("ex-2/n0/dn1") == std::vector<std::string>{"ex-2/n0/dn1/outputs.json"});
  loom::object_store again(dir.path);  // another process: reads the packs from scratch
  CHECK(again.get("ex-2/n0/dn1/outputs.json") == std::optional<std::string>("{\"o0\": 2}"));
  CHECK_THROWS_WITH(pack.append("ex-3/n0/outputs.json", "{}"), Catch::Contains("not under execution ex-2"));
  again.remove_prefix("ex-2");
  CHECK_FALSE(again.get("ex-2/n0/dn1/outputs.json").has_value());
  CHECK(again.list().empty());
}

TEST_CASE("object store: a pack cut short by a crash loses only its unfinished record") {
  scratch_dir dir("object-store-test");
  loom::object_store store(dir.path);
  {
    loom::pack_writer pack(store, "ex-3");
    pack.append("ex-3/n0/outputs.json", "{\"o0\": 1}");
    pack.append("ex-3/n1/outputs.json", "{\"o0\": 22}");
    pack.flush();
  }
  const auto file = only_pack(dir.path / "ex-3/packs");
  const std::string whole = slurp(file);
  const std::size_t second = find_pack_record(whole, "n1/outputs.json").start;
  for (const std::size_t cut : {whole.size() - 1, whole.size() - 5, whole.size() - 12, second + 1, second + 10, second + 30}) {
    spit(file, whole.substr(0, cut));
    loom::object_store fresh(dir.path);
    INFO("cut at " << cut << " of " << whole.size());
    CHECK(fresh.get("ex-3/n0/outputs.json") == std::optional<std::string>("{\"o0\": 1}"));
    CHECK_FALSE(fresh.get("ex-3/n1/outputs.json").has_value());
  }
}

TEST_CASE("object store: a damaged record in a pack is reported with its key") {
  scratch_dir dir("object-store-test");
  loom::object_store store(dir.path);
  {
    loom::pack_writer pack(store, "ex-4");
    pack.append("ex-4/n0/outputs.json", "{\"o0\": 1}");
    pack.append("ex-4/n1/outputs.json", "{\"o0\": 22}");
    pack.flush();
  }
  const auto file = only_pack(dir.path / "ex-4/packs");
  std::string bytes = slurp(file);
  bytes[find_pack_record(bytes, "n1/outputs.json").bytes + 7] = '3';  // {"o0": 22} -> {"o0": 32}
  spit(file, bytes);
  loom::object_store fresh(dir.path);
  CHECK(fresh.get("ex-4/n0/outputs.json") == std::optional<std::string>("{\"o0\": 1}"));
  CHECK_THROWS_MATCHES(fresh.get("ex-4/n1/outputs.json"), loom::object_corrupt,
                       Catch::Matchers::Predicate<loom::object_corrupt>(
                           [](const loom::object_corrupt& e) {
                             return e.key() == "ex-4/n1/outputs.json" &&
                                    e.problem().find("checksum mismatch") != std::string::npos;
                           },
                           "names the key and the checksum"));
  CHECK(fresh.contains("ex-4/n1/outputs.json"));  // there, but damaged

  SECTION("a later whole copy (a rerun) is used") {
    loom::pack_writer again(fresh, "ex-4");
    again.append("ex-4/n1/outputs.json", "{\"o0\": 22}");
    again.flush();
    loom::object_store other(dir.path);
    CHECK(other.get("ex-4/n1/outputs.json") == std::optional<std::string>("{\"o0\": 22}"));
  }
}

TEST_CASE("object store: packs another writer appends to are seen within the rescan interval") {
  scratch_dir dir("object-store-test");
  loom::object_store reader(dir.path);
  CHECK_FALSE(reader.get("ex-5/n0/outputs.json").has_value());  // looks at the packs: none yet
  {
    loom::object_store other(dir.path);  // another process: a cache of its own
    loom::pack_writer pack(other, "ex-5");
    pack.append("ex-5/n0/outputs.json", "{\"o0\": 5}");
    pack.flush();
  }
  // A miss does not list the packs again before the interval is over (a resume looks up
  // every node that is not done); after it, the new record is found.
  std::this_thread::sleep_for(loom::detail::pack_rescan_interval + std::chrono::milliseconds(50));
  CHECK(reader.get("ex-5/n0/outputs.json") == std::optional<std::string>("{\"o0\": 5}"));

  SECTION("a writer of the same store is seen at once") {
    loom::pack_writer mine(reader, "ex-5");
    mine.append("ex-5/n1/outputs.json", "{\"o0\": 6}");
    mine.flush();
    CHECK(reader.get("ex-5/n1/outputs.json") == std::optional<std::string>("{\"o0\": 6}"));
  }
}

TEST_CASE("object store: a compact record is read back as its JSON text, and a malformed one is reported with its key") {
  scratch_dir dir("object-store-test");
  loom::object_store store(dir.path);
  const std::string compact = loom_test::compact_body(std::vector<std::int64_t>{3, 0, -2, 1000}, "counts");
  std::string malformed = compact;
  malformed.back() = static_cast<char>(0x80);  // (a varint that does not end; checksummed as written)
  {
    loom::pack_writer pack(store, "ex-6");
    pack.append("ex-6/n0/dn0/outputs.json", compact);
    pack.append("ex-6/n0/dn1/outputs.json", malformed);
    pack.append("ex-6/n0/dn2/outputs.json", "{\"o0\":1}");
    pack.append("ex-6/n0/dn3/other.bin", std::string("\0\x01", 2));  // (not a node's outputs: bytes as they are)
    pack.flush();
  }
  loom::object_store fresh(dir.path);
  CHECK(fresh.get("ex-6/n0/dn0/outputs.json") == std::optional<std::string>("{\"counts\":[3,0,-2,1000]}"));
  CHECK(fresh.get("ex-6/n0/dn2/outputs.json") == std::optional<std::string>("{\"o0\":1}"));
  CHECK(fresh.get("ex-6/n0/dn3/other.bin") == std::optional<std::string>(std::string("\0\x01", 2)));
  CHECK_THROWS_MATCHES(fresh.get("ex-6/n0/dn1/outputs.json"), loom::object_corrupt,
                       Catch::Matchers::Predicate<loom::object_corrupt>(
                           [](const loom::object_corrupt& e) {
                             return e.key() == "ex-6/n0/dn1/outputs.json" &&
                                    e.problem().find("compact value: cut short inside a number") != std::string::npos &&
                                    e.problem().find(".pack at offset ") != std::string::npos;
                           },
                           "names the key, what is wrong, the pack and the offset"));
}
