// The store's change counter (loom/detail/change_counter.hpp): a writer makes it and
// bumps it, a reader maps it without writing anything, and every commit of the state
// store bumps it (what `loom ui` watches for a running execution's changes).
#include <loom/detail/change_counter.hpp>
#include <loom/state_store.hpp>

#include <catch2/catch.hpp>

#include "test_files.hpp"

#include <filesystem>
#include <fstream>
#include <thread>
#include <vector>

#include <sys/stat.h>

namespace {

namespace fs = std::filesystem;
using loom::detail::change_counter;
using loom_test::scratch_dir;

unsigned mode_of(const fs::path& p) {
  struct stat st {};
  REQUIRE(::stat(p.c_str(), &st) == 0);
  return st.st_mode & 0777U;
}

}  // namespace

TEST_CASE("change counter: a writer makes it with the given mode, bumps reach every reader") {
  scratch_dir dir("change-counter");
  const fs::path db = dir.path / "loom.db";
  CHECK(change_counter::path_for(db) == dir.path / "loom.db-changes");
  // No counter yet: a reader is off and makes nothing.
  const change_counter early = change_counter::for_reading(db);
  CHECK_FALSE(early.on());
  CHECK_FALSE(early.value());
  CHECK_FALSE(fs::exists(change_counter::path_for(db)));

  change_counter writer = change_counter::for_writing(db, 0640);
  REQUIRE(writer.on());
  CHECK(fs::file_size(change_counter::path_for(db)) == 8);
  CHECK(mode_of(change_counter::path_for(db)) == 0640);
  const change_counter reader = change_counter::for_reading(db);
  REQUIRE(reader.on());
  CHECK(reader.value() == 0U);
  writer.bump();
  writer.bump();
  CHECK(writer.value() == 2U);
  CHECK(reader.value() == 2U);
  // A second writer (another run on the store) adds to the same count, from threads at once.
  change_counter other = change_counter::for_writing(db, 0600);
  CHECK(other.value() == 2U);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int k = 0; k < 10'000; ++k) (t % 2 == 0 ? writer : other).bump();
    });
  }
  for (auto& t : threads) t.join();
  CHECK(reader.value() == 40'002U);
  // Moved, it stays the same mapping; the moved-from one is off.
  change_counter moved = std::move(other);
  CHECK_FALSE(other.on());  // NOLINT(bugprone-use-after-move): what a move leaves is the point
  moved.bump();
  CHECK(reader.value() == 40'003U);
}

TEST_CASE("change counter: a file too short, a directory in its place or no way to make it: off, no error") {
  scratch_dir dir("change-counter-bad");
  const fs::path db = dir.path / "loom.db";
  // Cut short (a writer stopped between making it and growing it): a reader is off, a
  // writer grows it to 8 bytes.
  std::ofstream(change_counter::path_for(db)) << "abc";
  CHECK_FALSE(change_counter::for_reading(db).on());
  change_counter writer = change_counter::for_writing(db, 0600);
  REQUIRE(writer.on());
  CHECK(fs::file_size(change_counter::path_for(db)) == 8);

  const fs::path other = dir.path / "other.db";
  fs::create_directory(change_counter::path_for(other));
  CHECK_FALSE(change_counter::for_writing(other, 0600).on());
  CHECK_FALSE(change_counter::for_reading(other).on());

  CHECK_FALSE(change_counter::for_writing(dir.path / "no-such-directory" / "loom.db", 0600).on());
  change_counter off;
  off.bump();  // does nothing
  CHECK_FALSE(off.value());
}

TEST_CASE("change counter: every commit of the state store bumps it, a reading state store does not") {
  scratch_dir dir("change-counter-store");
  const fs::path db = dir.path / "loom.db";
  std::uint64_t before = 0;
  {
    loom::state_store states(db);
    const change_counter reader = change_counter::for_reading(db);
    REQUIRE(reader.on());
    before = *reader.value();
    loom::execution_record e;
    e.id = "ex-1";
    e.workflow = "wf";
    e.status = "running";
    states.create_execution(e);
    const auto after_create = *reader.value();
    CHECK(after_create > before);
    states.finish_execution("ex-1", "succeeded", "");
    CHECK(*reader.value() > after_create);
    before = *reader.value();
  }
  {
    loom::state_store reading(db, loom::state_store::reading::immutable);
    CHECK(reading.execution("ex-1"));
  }
  CHECK(change_counter::for_reading(db).value() == before);
}
