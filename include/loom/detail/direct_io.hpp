// loom/detail/direct_io.hpp — large writes that go to the disk without the page cache
// (O_DIRECT).
//
// Why: a stored run writes tens of megabytes (a futures file, packs of outputs) that
// must reach the disk anyway: they are synced before the run counts them as recorded.
// Through the page cache every byte is copied once more, into pages the kernel must
// first find and clear. On the benchmarks' VM those are fresh guest pages: copying an
// 18 MB futures file into them took 35 ms of CPU, against 1 ms to hand the same bytes
// to the device with O_DIRECT (docs/benchmarks-durable.md). The sync after is still
// needed (the device's own cache, the file's size).
//
// O_DIRECT wants the file offset, the length and the memory aligned to the device's
// blocks. A large append therefore starts at the block boundary at or before the
// file's end (the bytes of its last partial block are kept in memory and written
// again), is copied through an aligned buffer that is reused, ends padded with zeros to
// a whole block, and the file is then cut back to its true size (ftruncate). So a
// reader, or a crash, may find up to a block of zeros after the last whole write: a pack
// reader takes them as a write not finished (loom/object_store.hpp). Small appends, and
// file systems that refuse O_DIRECT (tmpfs), go through the page cache as before.
//
// The code is compiled once into loom::runtime (src/direct_io.cpp).
#pragma once

#include <loom/detail/config.hpp>

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace loom::detail {

/// Appends of at least this many bytes go through O_DIRECT.
inline constexpr std::size_t direct_write_bytes = std::size_t{1} << 20;

/// The alignment of O_DIRECT writes: a page, which is at least any device's block.
inline constexpr std::size_t direct_write_alignment = 4096;

/// Appends to a new file that nothing else writes meanwhile (a pack, the temporary of
/// an object being put), large appends through O_DIRECT (see above).
class file_appender {
 public:
  file_appender() = default;
  /// `fd`: an empty file open for writing, without O_APPEND (appends use pwrite at
  /// the end this object keeps). The caller closes it.
  explicit file_appender(int fd) : fd_(fd) { tail_.reserve(direct_write_alignment); }

  /// Appends the pieces, in order. False on an error, with errno set: nothing counts
  /// as appended then, and the next append writes from the same place again.
  bool append(const std::vector<std::string_view>& pieces);
  bool append(std::string_view bytes) { return append(std::vector<std::string_view>{bytes}); }

  /// The bytes appended so far: the file's size.
  [[nodiscard]] std::uint64_t size() const { return size_; }

  /// Whether large appends still go through O_DIRECT (false once the file system
  /// refused it).
  [[nodiscard]] bool direct() const { return direct_; }

 private:
  bool append_buffered(const std::vector<std::string_view>& pieces, std::size_t total);
  // 1 written, 0 refused (the caller writes through the page cache), -1 an error.
  int append_direct(const std::vector<std::string_view>& pieces, std::size_t total);
  void keep_tail(const std::vector<std::string_view>& pieces, std::size_t total);

  int fd_ = -1;
  std::uint64_t size_ = 0;
  std::string tail_;  // the file's bytes after its last block boundary
  bool direct_ = true;
};

}  // namespace loom::detail
