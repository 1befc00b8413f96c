// Large appends through O_DIRECT: loom/detail/direct_io.hpp says why and how.
#include <loom/detail/direct_io.hpp>
#include <loom/detail/huge_pages.hpp>

#include <algorithm>
#include <array>
#include <cerrno>
#include <climits>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <new>

#include <fcntl.h>
#include <sys/uio.h>
#include <unistd.h>

namespace loom::detail {

// The aligned buffers that large appends are copied through: a few per process (one per
// thread writing at the same time), kept for the process's life, so that their pages
// are touched once, not once per write.
struct direct_buffers {
  static constexpr std::size_t bytes = std::size_t{4} << 20;
  std::mutex mutex;
  std::vector<char*> free;
};

LOOM_FUNC direct_buffers& the_direct_buffers() {
  static auto* buffers = [] {  // (never freed: writer threads may outlive statics)
    auto* made = new direct_buffers;
    made->free.reserve(64);  // (so that giving one back does not allocate)
    return made;
  }();
  return *buffers;
}

struct direct_buffer {
  char* data = nullptr;
  direct_buffer() {
    direct_buffers& all = the_direct_buffers();
    {
      std::lock_guard lock(all.mutex);
      if (!all.free.empty()) {
        data = all.free.back();
        all.free.pop_back();
        return;
      }
    }
    data = static_cast<char*>(std::aligned_alloc(std::size_t{2} << 20, direct_buffers::bytes));
    if (data == nullptr) throw std::bad_alloc();
    advise_huge_pages(data, direct_buffers::bytes);
  }
  direct_buffer(const direct_buffer&) = delete;
  direct_buffer& operator=(const direct_buffer&) = delete;
  ~direct_buffer() {
    direct_buffers& all = the_direct_buffers();
    std::lock_guard lock(all.mutex);
    if (all.free.size() < all.free.capacity()) {
      all.free.push_back(data);
    } else {
      std::free(data);  // (more writing at once than ever kept)
    }
  }
};

// O_DIRECT set on a file for as long as it lives (its flags as they were after).
struct direct_flag {
  int fd;
  int flags;
  bool set = false;
  explicit direct_flag(int file) : fd(file), flags(::fcntl(file, F_GETFL)) {
    set = flags >= 0 && ::fcntl(fd, F_SETFL, flags | O_DIRECT) == 0;
  }
  direct_flag(const direct_flag&) = delete;
  direct_flag& operator=(const direct_flag&) = delete;
  ~direct_flag() {
    if (set) {
      const int saved = errno;
      (void)::fcntl(fd, F_SETFL, flags);
      errno = saved;
    }
  }
};

LOOM_FUNC bool file_appender::append(const std::vector<std::string_view>& pieces) {
  std::size_t total = 0;
  for (const std::string_view piece : pieces) total += piece.size();
  if (total == 0) return true;
  if (direct_ && total >= direct_write_bytes) {
    const int written = append_direct(pieces, total);
    if (written != 0) return written > 0;
    direct_ = false;  // (refused: this file system does not do O_DIRECT)
  }
  return append_buffered(pieces, total);
}

LOOM_FUNC bool file_appender::append_buffered(const std::vector<std::string_view>& pieces, std::size_t total) {
  std::vector<iovec> vectors;
  vectors.reserve(pieces.size());
  for (const std::string_view piece : pieces) {
    if (!piece.empty()) vectors.push_back({const_cast<char*>(piece.data()), piece.size()});
  }
  std::uint64_t at = size_;
  std::size_t next = 0;  // the first piece not (wholly) written
  while (next < vectors.size()) {
    const int count = static_cast<int>(std::min<std::size_t>(vectors.size() - next, IOV_MAX));
    auto n = ::pwritev(fd_, vectors.data() + next, count, static_cast<off_t>(at));
    if (n < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    at += static_cast<std::uint64_t>(n);
    // (A short write: skip what went out, and go on from the middle of a piece.)
    for (; next < vectors.size() && static_cast<std::size_t>(n) >= vectors[next].iov_len; ++next) {
      n -= static_cast<ssize_t>(vectors[next].iov_len);
    }
    if (n > 0) {
      vectors[next].iov_base = static_cast<char*>(vectors[next].iov_base) + n;
      vectors[next].iov_len -= static_cast<std::size_t>(n);
    }
  }
  keep_tail(pieces, total);
  size_ += total;
  return true;
}

LOOM_FUNC int file_appender::append_direct(const std::vector<std::string_view>& pieces, std::size_t total) {
  int result = 1;
  int error = 0;
  {
    direct_buffer buffer;  // (first: what may throw comes before the file's flags change)
    const direct_flag direct(fd_);
    if (!direct.set) return 0;
    const std::uint64_t start = size_ - tail_.size();  // a block boundary
    std::uint64_t at = start;
    std::size_t used = 0;
    // Writes the buffer's `used` bytes at `at` (the last time padded to a whole block).
    auto write_out = [&](bool last) {
      std::size_t length = used;
      if (last) {
        length = (used + direct_write_alignment - 1) / direct_write_alignment * direct_write_alignment;
        std::memset(buffer.data + used, 0, length - used);
      }
      std::size_t done = 0;
      while (done < length) {
        const auto n = ::pwrite(fd_, buffer.data + done, length - done, static_cast<off_t>(at + done));
        if (n < 0) {
          if (errno == EINTR) continue;
          // EINVAL before anything was written: the file system takes no O_DIRECT
          // (or not at this alignment); the caller writes through the page cache.
          result = errno == EINVAL && at == start && done == 0 ? 0 : -1;
          error = errno;
          return false;
        }
        done += static_cast<std::size_t>(n);
      }
      at += length;
      used = 0;
      return true;
    };
    auto copy_in = [&](std::string_view bytes) {
      while (!bytes.empty()) {
        const std::size_t n = std::min(bytes.size(), direct_buffers::bytes - used);
        std::memcpy(buffer.data + used, bytes.data(), n);
        used += n;
        bytes.remove_prefix(n);
        if (used == direct_buffers::bytes && !write_out(false)) return false;
      }
      return true;
    };
    bool ok = copy_in(tail_);
    for (std::size_t i = 0; ok && i < pieces.size(); ++i) ok = copy_in(pieces[i]);
    if (ok && used > 0) ok = write_out(true);
    // The padding cut off (the file's true size is what a reader and a resume see).
    if (ok && at > size_ + total && ::ftruncate(fd_, static_cast<off_t>(size_ + total)) != 0) {
      result = -1;
      error = errno;
    }
  }
  if (result != 1) {
    errno = error;  // (after the buffer and the flags are back: they keep errno as it was)
    return result;
  }
  keep_tail(pieces, total);
  size_ += total;
  return 1;
}

LOOM_FUNC void file_appender::keep_tail(const std::vector<std::string_view>& pieces, std::size_t total) {
  // (Before size_ moves on: the tail after the append is the last (size_ + total) %
  // alignment bytes of the old tail followed by the pieces.)
  std::size_t need = static_cast<std::size_t>((size_ + total) % direct_write_alignment);
  if (need > total) {  // the old tail's last bytes, then all of the pieces
    tail_.erase(0, tail_.size() - (need - total));
    for (const std::string_view piece : pieces) tail_ += piece;
    return;
  }
  // (Within the room reserved for a block: nothing here allocates, so nothing throws
  // once the bytes are written.)
  std::array<char, direct_write_alignment> tail{};
  const std::size_t length = need;
  for (auto piece = pieces.rbegin(); need > 0 && piece != pieces.rend(); ++piece) {
    const std::size_t n = std::min(need, piece->size());
    std::memcpy(tail.data() + need - n, piece->data() + piece->size() - n, n);
    need -= n;
  }
  tail_.assign(tail.data(), length);
}

}  // namespace loom::detail
