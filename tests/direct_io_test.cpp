// Large appends through O_DIRECT (loom/detail/direct_io.hpp): whatever the mix of small
// and large appends, the file holds exactly the bytes appended, no padding is left
// after a write, a file system that refuses O_DIRECT gets the same bytes through the
// page cache, and a pack reader takes the padding a crash may leave as "no record yet".
#include <loom/detail/direct_io.hpp>
#include <loom/object_store.hpp>

#include <catch2/catch.hpp>

#include <cerrno>
#include <cstdint>
#include <filesystem>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include <fcntl.h>
#include <sys/statfs.h>
#include <unistd.h>

#include "test_files.hpp"

namespace {

namespace fs = std::filesystem;
using loom_test::scratch_dir;
using loom_test::slurp;

std::string random_bytes(std::size_t n, std::mt19937_64& random) {
  std::string bytes(n, '\0');
  for (char& c : bytes) c = static_cast<char>(random() & 0xFF);
  return bytes;
}

// Appends pieces of the given sizes (each split in up to 3 parts, to cross parts within
// an append too) and checks the file after every append.
void append_and_check(const fs::path& path, const std::vector<std::size_t>& sizes, bool expect_direct) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  REQUIRE(fd >= 0);
  loom::detail::file_appender file(fd);
  std::mt19937_64 random(sizes.size());
  std::string expected;
  for (const std::size_t size : sizes) {
    const std::string bytes = random_bytes(size, random);
    const std::size_t a = size / 3;
    const std::size_t b = size / 2;
    INFO("append of " << size << " bytes at " << expected.size());
    REQUIRE(file.append({std::string_view(bytes).substr(0, a), std::string_view(bytes).substr(a, b - a),
                         std::string_view(bytes).substr(b)}));
    expected += bytes;
    CHECK(file.size() == expected.size());
    CHECK(fs::file_size(path) == expected.size());  // (the padding of a direct write is cut off)
    CHECK(slurp(path) == expected);
  }
  CHECK(file.direct() == expect_direct);
  ::close(fd);
}

bool is_tmpfs(const fs::path& dir) {
  struct statfs info {};
  return ::statfs(dir.c_str(), &info) == 0 && info.f_type == 0x01021994;  // TMPFS_MAGIC
}

bool takes_direct_io(const fs::path& dir) {
  const auto probe = dir / "probe";
  const int fd = ::open(probe.c_str(), O_WRONLY | O_CREAT | O_DIRECT | O_CLOEXEC, 0600);
  if (fd < 0) return false;
  ::close(fd);
  fs::remove(probe);
  return true;
}

constexpr std::size_t MiB = std::size_t{1} << 20;

}  // namespace

TEST_CASE("direct io: small and large appends, at every alignment, leave exactly the bytes appended", "[direct_io]") {
  scratch_dir dir("direct-io-test");
  const bool direct = takes_direct_io(dir.path);
  if (!direct) WARN("the temporary directory's file system takes no O_DIRECT: only the page cache's path is tested here");
  // Large ones that start in the middle of a block (after small ones), end in the middle
  // of one, end on a boundary, span several of the 4 MiB buffers, follow one another.
  append_and_check(dir.path / "a", {10, MiB + 7, 4093, 3, 2 * MiB, 1, 9 * MiB + 4095, MiB, 4096, MiB - 1, 5 * MiB + 1},
                   direct);
  // A first append that is large, and nothing but large ones.
  append_and_check(dir.path / "b", {4 * MiB, 4 * MiB + 4096, MiB + 1}, direct);
}

TEST_CASE("direct io: a file that refuses O_DIRECT gets its appends through the page cache", "[direct_io]") {
  // /dev/null takes no O_DIRECT (as some file systems do not): the first large append
  // finds out, and it and the rest are written the usual way.
  const int fd = ::open("/dev/null", O_WRONLY | O_CLOEXEC);
  REQUIRE(fd >= 0);
  loom::detail::file_appender file(fd);
  const std::string large(2 * MiB + 3, 'x');
  CHECK(file.append(large));
  CHECK_FALSE(file.direct());
  CHECK(file.append({std::string_view("small"), std::string_view(large)}));
  CHECK(file.size() == 2 * large.size() + 5);
  ::close(fd);
  // A tmpfs (Linux 6.6 and later take O_DIRECT there, earlier ones do not): the same
  // bytes either way.
  const fs::path shm = "/dev/shm";
  if (fs::is_directory(shm) && is_tmpfs(shm)) {
    const auto path = shm / ("loom-direct-io-test-" + std::to_string(::getpid()));
    append_and_check(path, {5, 2 * MiB + 3, 100, MiB}, takes_direct_io(shm));
    fs::remove(path);
  }
}

TEST_CASE("direct io: a failed append says so, counts nothing, and can be made again", "[direct_io]") {
  scratch_dir dir("direct-io-test");
  const auto path = dir.path / "f";
  loom_test::spit(path, "");
  const int read_only = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  REQUIRE(read_only >= 0);
  loom::detail::file_appender file(read_only);
  const std::string large(2 * MiB, 'x');
  errno = 0;
  CHECK_FALSE(file.append(large));
  CHECK(errno == EBADF);
  CHECK_FALSE(file.append("small"));
  CHECK(file.size() == 0);
  ::close(read_only);
}

TEST_CASE("direct io: a pack reader takes zeros after the last record as a write not finished", "[direct_io]") {
  std::string pack;
  loom::detail::append_pack_record(pack, "n0/outputs.json", "{\"o0\":1}");
  const std::size_t first = pack.size();
  using state = loom::detail::pack_record::state;
  CHECK(loom::detail::read_pack_record(pack).status == state::whole);
  // Zeros up to the next block boundary (an O_DIRECT write's padding not yet cut off,
  // or left by a crash): no record yet, nothing damaged; wherever the record ends.
  for (const std::size_t at : {std::size_t{0}, std::size_t{4096 - first}, std::size_t{5000}}) {
    const std::size_t end = at + first;
    const std::size_t zeros = (4096 - end % 4096) % 4096;
    if (zeros == 0) continue;
    const std::string padded = pack + std::string(zeros, '\0');
    INFO(zeros << " zeros after a record at " << at);
    CHECK(loom::detail::read_pack_record(std::string_view(padded).substr(first), end).status == state::incomplete);
    // Zeros that do not end on a block boundary are no padding: damage.
    CHECK(loom::detail::read_pack_record(std::string_view(padded).substr(first, zeros - 1), end).status ==
          state::unframed);
  }
  // More than any padding, or zeros followed by something: not a record.
  CHECK(loom::detail::read_pack_record(std::string(4096, '\0'), 4096).status == state::unframed);
  CHECK(loom::detail::read_pack_record(std::string(100, '\0') + "x", 3995).status == state::unframed);
}

TEST_CASE("direct io: a pack whose batches go through O_DIRECT reads back every record, nothing after them",
          "[direct_io]") {
  scratch_dir dir("direct-io-test");
  loom::object_store store(dir.path);
  std::vector<std::string> keys;
  {
    loom::pack_writer pack(store, "ex-1");
    // Two threads keep 40,000 records each (about 5 MB a batch, so the batches are
    // written through O_DIRECT), with a small append and a flush in between.
    for (int batch = 0; batch < 3; ++batch) {
      std::vector<std::thread> threads;
      for (int t = 0; t < 2; ++t) {
        threads.emplace_back([&pack, batch, t] {
          for (int i = 0; i < 40000; ++i) {
            const std::string key = "n" + std::to_string(batch) + "/t" + std::to_string(t) + "/dn" + std::to_string(i) + "/outputs.json";
            pack.keep(key, "{\"o0\":[" + std::to_string(i) + "," + std::to_string(batch * t) + ",12345678901234]}");
          }
        });
      }
      for (auto& th : threads) th.join();
      pack.append("ex-1/n" + std::to_string(batch) + "/outputs.json", "{\"o0\":" + std::to_string(batch) + "}");
      pack.flush();
    }
    CHECK(pack.bytes_written() == fs::file_size(*fs::directory_iterator(dir.path / "ex-1/packs")));
  }
  loom::object_store fresh(dir.path);
  for (int batch = 0; batch < 3; ++batch) {
    CHECK(fresh.get("ex-1/n" + std::to_string(batch) + "/outputs.json") ==
          std::optional<std::string>("{\"o0\":" + std::to_string(batch) + "}"));
    for (int t = 0; t < 2; ++t) {
      for (const int i : {0, 1, 20000, 39999}) {
        const std::string key = "ex-1/n" + std::to_string(batch) + "/t" + std::to_string(t) + "/dn" + std::to_string(i) + "/outputs.json";
        CHECK(fresh.get(key) == std::optional<std::string>("{\"o0\":[" + std::to_string(i) + "," +
                                                           std::to_string(batch * t) + ",12345678901234]}"));
      }
    }
  }
  CHECK(fresh.list().size() >= 3 * 2 * 40000 + 3);
}
