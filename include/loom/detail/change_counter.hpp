// loom/detail/change_counter.hpp — a store's change counter: a 64-bit count in the
// file `loom.db-changes` beside the state store, which every process that writes the
// state store bumps after each commit, and which a watcher (`loom ui`) reads to learn
// that the store changed. Each maps the file (shared), so neither a bump nor a look is
// a system call: a run pays an atomic add per commit, a watcher a load per look.
//
// Best effort by design: a counter that cannot be made or mapped (a read-only store, a
// file system without shared mappings, a full disk) is off, and a watcher falls back on
// the database's files (their sizes and times). A count is never a promise that nothing
// else changed; it only says when to look again.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>

namespace loom::detail {

class change_counter {
 public:
  change_counter() = default;
  change_counter(change_counter&& other) noexcept;
  change_counter& operator=(change_counter&& other) noexcept;
  change_counter(const change_counter&) = delete;
  change_counter& operator=(const change_counter&) = delete;
  ~change_counter();

  /// The counter's file of the state store at `database` ("DIR/loom.db-changes").
  static std::filesystem::path path_for(const std::filesystem::path& database);

  /// The counter of the state store at `database`, to bump; made (with the file mode
  /// `mode`) when there is none. Off when it cannot be made or mapped.
  static change_counter for_writing(const std::filesystem::path& database, unsigned mode);

  /// The counter of the state store at `database`, to read; off when there is none
  /// (yet) or it cannot be mapped. Opening it writes nothing.
  static change_counter for_reading(const std::filesystem::path& database);

  /// Whether there is a counter (mapped).
  [[nodiscard]] bool on() const { return word_ != nullptr; }

  /// Adds one (after a commit: a watcher that sees the new count sees the commit).
  void bump() noexcept;

  /// The count now; nothing when off.
  [[nodiscard]] std::optional<std::uint64_t> value() const noexcept;

 private:
  std::uint64_t* word_ = nullptr;  // the mapped file's first 8 bytes
};

}  // namespace loom::detail
