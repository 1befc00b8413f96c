// loom/object_store.hpp — specs and data by reference: a local directory addressed by
// keys under one root (`<execution>/<node path>/inputs|outputs|futures`). Keys that
// would escape the root are rejected.
//
// Every object carries its checksum, and a damaged one is never used: get() throws
// loom::object_corrupt naming the key. An object is kept in one of two ways:
//
// - a file of its own, `ROOT/KEY`, holding exactly the object's bytes (a futures file on
//   disk is the JSON document its name says: `jq . KEY` reads it), and beside it its
//   checksum, `ROOT/KEY.sha256`, one line in sha256sum's format
//       <64 hex digits>  <file name>
//   so that `sha256sum -c KEY.sha256`, run in the key's folder, checks it too. put()
//   writes both to temporary files, then renames the checksum into place, then the
//   object: a crash never leaves a half-written object that looks whole (an object with
//   no checksum file is reported as damaged; a checksum with no object is no object).
//   Files of Loom 0.1 (`loom-object 1 size=N sha256=H` header line, then the bytes) are
//   still read;
// - a record in a pack, `ROOT/<execution>/packs/<writer>.pack`: many small objects
//   appended by one writer (pack_writer) and synced once per batch, which is what makes
//   a stored run of 200,000 nodes affordable (a file and an fsync per node cost about
//   0.6 ms each on a disk here). A record is binary and small, since a node's outputs
//   may be 8 bytes: a 24-byte header, the key relative to the execution, the bytes
//       "lrc2" | key size u32 | size u32 | checksum u64 | header check u32 | key | bytes
//   (little-endian). The checksum is XXH3 of the bytes seeded by XXH3 of the key, so
//   neither damaged bytes nor a damaged key pass; the header check (XXH3 of the first 20
//   bytes, low half) catches a damaged size before it is used to frame what follows.
//   A pack is only ever appended to; a record cut short by a crash is at its end and is
//   simply not there. get() finds packed objects by key (an index built by reading the
//   execution's packs, refreshed when a key is not found).
#pragma once

#include <loom/detail/checksum.hpp>
#include <loom/detail/sha256.hpp>
#include <loom/error.hpp>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <string>
#include <string_view>
#include <system_error>
#include <thread>
#include <unordered_map>
#include <vector>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace loom {

namespace detail {

inline std::string errno_text() { return std::strerror(errno); }

/// Writes all of `bytes` to `fd` (retrying short writes and EINTR); false on error.
inline bool write_all(int fd, std::string_view bytes) {
  std::size_t written = 0;
  while (written < bytes.size()) {
    const auto n = ::write(fd, bytes.data() + written, bytes.size() - written);
    if (n < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    written += static_cast<std::size_t>(n);
  }
  return true;
}

/// The whole content of a file, or nothing if it does not exist; throws on other errors.
inline std::optional<std::string> read_file(const std::filesystem::path& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT || errno == ENOTDIR) return std::nullopt;
    throw error("object store: cannot read " + path.string() + ": " + errno_text());
  }
  std::string out;
  struct stat st{};
  if (::fstat(fd, &st) == 0 && st.st_size > 0) out.reserve(static_cast<std::size_t>(st.st_size));
  char buffer[1 << 16];
  while (true) {
    const auto n = ::read(fd, buffer, sizeof buffer);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      const std::string why = errno_text();
      ::close(fd);
      throw error("object store: cannot read " + path.string() + ": " + why);
    }
    if (n == 0) break;
    out.append(buffer, static_cast<std::size_t>(n));
  }
  ::close(fd);
  return out;
}

/// The header line of an object file: "loom-object 1 size=N sha256=HEX".
struct object_header {
  std::size_t size = 0;
  std::string sha256;
  std::size_t length = 0;  // of the line, its '\n' included
};

/// Parses the header at the start of `text`; nothing (and `problem` says why) if it is
/// not one.
inline std::optional<object_header> parse_object_header(std::string_view text, std::string& problem) {
  const std::string_view prefix = "loom-object 1 size=";
  const auto head = text.substr(0, prefix.size());
  if (head != prefix.substr(0, head.size()) || (head.size() < prefix.size() && text.find('\n') != std::string_view::npos)) {
    problem = "not a Loom object (expected a header 'loom-object 1 size=…')";
    return std::nullopt;
  }
  const auto end = text.find('\n');
  if (end == std::string_view::npos) {
    problem = "no header line";
    return std::nullopt;
  }
  std::string_view line = text.substr(0, end);
  object_header h;
  h.length = end + 1;
  line.remove_prefix(prefix.size());
  const auto [after, ec] = std::from_chars(line.data(), line.data() + line.size(), h.size);
  if (ec != std::errc{}) {
    problem = "bad size in the header";
    return std::nullopt;
  }
  line.remove_prefix(static_cast<std::size_t>(after - line.data()));
  constexpr std::string_view sha = " sha256=";
  if (line.substr(0, sha.size()) != sha || line.size() < sha.size() + 64) {
    problem = "bad checksum field in the header";
    return std::nullopt;
  }
  h.sha256 = std::string(line.substr(sha.size(), 64));
  line.remove_prefix(sha.size() + 64);
  if (!line.empty()) {
    problem = "unexpected text after the checksum in the header";
    return std::nullopt;
  }
  return h;
}

// ---- pack records (the format is in the comment at the top of this file) ----

inline constexpr std::string_view pack_record_magic = "lrc2";
inline constexpr std::size_t pack_record_header_size = 24;
inline constexpr std::size_t pack_record_max_key = 1024;

/// The checksum of a record's bytes under its key (relative to the execution).
inline std::uint64_t pack_record_checksum(std::string_view key, std::string_view bytes) {
  return checksum64(bytes, checksum64(key));
}

/// Appends one record to `out`.
inline void append_pack_record(std::string& out, std::string_view key, std::string_view bytes) {
  if (bytes.size() > 0xFFFFFFFFu) throw error("pack record " + std::string(key) + ": larger than 4 GiB");
  const std::size_t start = out.size();
  out += pack_record_magic;
  put_le(out, key.size(), 4);
  put_le(out, bytes.size(), 4);
  put_le(out, pack_record_checksum(key, bytes), 8);
  put_le(out, checksum64(std::string_view(out).substr(start, 20)) & 0xFFFFFFFFu, 4);
  out += key;
  out += bytes;
}

/// One record read from the front of a pack's unread rest.
struct pack_record {
  enum class state {
    whole,      // framed and its checksum matches
    incomplete, // the pack ends inside it: being written, or cut short by a crash
    damaged,    // framed, but its bytes or key do not match the checksum
    unframed,   // not a record header: nothing after it can be framed
  };
  state status = state::incomplete;
  std::string_view key;   // relative to the execution (whole and damaged)
  std::size_t body = 0;   // offset of its bytes from the record's start
  std::size_t size = 0;   // of its bytes
  std::uint64_t checksum = 0;
  std::size_t length = 0;  // of the whole record
  std::string problem;     // damaged and unframed: why
};

inline pack_record read_pack_record(std::string_view rest) {
  pack_record r;
  if (rest.size() < pack_record_header_size) {  // incomplete, unless it does not start as a record does
    const std::size_t n = std::min(rest.size(), pack_record_magic.size());
    if (rest.substr(0, n) != pack_record_magic.substr(0, n)) {
      r.status = pack_record::state::unframed;
      r.problem = "not a pack record (expected 'lrc2')";
    }
    return r;
  }
  if (rest.substr(0, pack_record_magic.size()) != pack_record_magic) {
    r.status = pack_record::state::unframed;
    r.problem = rest.substr(0, 14) == "loom-record 1 " ? "a record of pack format 1 (an older Loom's); not read"
                                                        : "not a pack record (expected 'lrc2')";
    return r;
  }
  if (get_le(rest, 20, 4) != (checksum64(rest.substr(0, 20)) & 0xFFFFFFFFu)) {
    r.status = pack_record::state::unframed;
    r.problem = "damaged record header";
    return r;
  }
  const std::size_t key_size = get_le(rest, 4, 4);
  r.size = get_le(rest, 8, 4);
  r.checksum = get_le(rest, 12, 8);
  if (key_size == 0 || key_size > pack_record_max_key) {
    r.status = pack_record::state::unframed;
    r.problem = "record key of " + std::to_string(key_size) + " bytes";
    return r;
  }
  r.body = pack_record_header_size + key_size;
  r.length = r.body + r.size;
  if (rest.size() < r.length) return r;  // incomplete
  r.key = rest.substr(pack_record_header_size, key_size);
  if (pack_record_checksum(r.key, rest.substr(r.body, r.size)) != r.checksum) {
    r.status = pack_record::state::damaged;
    r.problem = "checksum mismatch";
    return r;
  }
  r.status = pack_record::state::whole;
  return r;
}

/// Where a packed object is.
struct packed_location {
  std::string pack;  // file name under <execution>/packs/
  std::size_t offset = 0;  // of its bytes (after the record's header and key)
  std::size_t size = 0;
  std::uint64_t checksum = 0;
};

/// The packed objects of one execution: what reading its packs found so far.
struct pack_index {
  std::unordered_map<std::string, packed_location> objects;
  std::unordered_map<std::string, std::string> damaged;  // key -> why (no whole copy found)
  std::map<std::string, std::size_t> scanned;            // pack -> bytes read (whole records)
  // The last look at the packs directory (steady clock, ns; 0: look again). Refreshes
  // are one at a time, so a lookup that skips one never sees a half-scanned index.
  std::atomic<std::int64_t> refreshed_at{0};
  std::mutex refresh;
};

/// The file beside an object file that holds its checksum.
inline constexpr std::string_view checksum_suffix = ".sha256";

/// A checksum file's line for an object file named `name`: sha256sum's format.
inline std::string checksum_line(std::string_view bytes, std::string_view name) {
  std::string line = sha256_hex(bytes);
  line.append("  ").append(name).push_back('\n');
  return line;
}

/// The checksum a checksum file holds (its first 64 characters, when they are hex
/// digits followed by two spaces); empty when it holds none.
inline std::string checksum_of_line(std::string_view line) {
  if (line.size() < 66 || line.substr(64, 2) != "  ") return {};
  for (const char c : line.substr(0, 64)) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return {};
  }
  return std::string(line.substr(0, 64));
}

/// How often a key that is not found sends get() back to the packs directory. A resume
/// looks up every node that is not done; listing and stat-ing the packs for each one
/// would be O(nodes x packs) system calls. Packs appended through a pack_writer of the
/// same store are seen at once (flush() marks the index stale); packs that another
/// process appends to are seen within this interval.
inline constexpr std::chrono::milliseconds pack_rescan_interval{100};

}  // namespace detail

class object_store {
 public:
  explicit object_store(std::filesystem::path root) : root_(std::move(root)), packs_(std::make_shared<pack_cache>()) {
    std::error_code ec;
    std::filesystem::create_directories(root_, ec);
    if (ec) throw error("object store: cannot create root " + root_.string() + ": " + ec.message());
    root_ = std::filesystem::canonical(root_);
  }

  [[nodiscard]] const std::filesystem::path& root() const { return root_; }

  /// Checks a key: relative, segments of [A-Za-z0-9._-] separated by '/', no empty,
  /// '.' or '..' segment. Throws loom::error naming the key otherwise.
  static void check_key(std::string_view key) {
    auto bad = [&](const std::string& why) { throw error("object store: invalid key '" + std::string(key) + "': " + why); };
    if (key.empty()) bad("empty");
    if (key.size() > 1024) bad("longer than 1024 characters");
    std::size_t start = 0;
    while (start <= key.size()) {
      const auto end = std::min(key.find('/', start), key.size());
      const auto segment = key.substr(start, end - start);
      if (segment.empty()) bad(start == 0 ? "absolute or empty segment" : "empty segment");
      if (segment == "." || segment == "..") bad("'.' and '..' segments would leave the root");
      for (const char c : segment) {
        const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
                        c == '_' || c == '-';
        if (!ok) bad(std::string("character '") + c + "' is not allowed");
      }
      start = end + 1;
    }
  }

  /// Stores `bytes` under `key` (the object file, then its checksum file beside it).
  /// Readers see the old object, none (while an object is replaced), or the new one,
  /// never a mix. `sync`: wait until it is on the disk (fsync) before returning;
  /// without it the object survives a crash of the program but maybe not a power loss
  /// (what is read back at once, or lives in a private temporary store, needs no more).
  void put(std::string_view key, std::string_view bytes, bool sync = true) const {
    const auto path = path_of(key);
    std::error_code ec;
    std::filesystem::create_directories(path.parent_path(), ec);
    if (ec) throw error("object store: cannot create " + path.parent_path().string() + ": " + ec.message());
    std::string sum_path = path.string();
    sum_path += detail::checksum_suffix;
    const std::string temporary = write_temporary(path.string(), bytes, sync);
    std::string sum_temporary;
    try {
      sum_temporary = write_temporary(sum_path, detail::checksum_line(bytes, path.filename().string()), sync);
    } catch (...) {
      ::unlink(temporary.c_str());
      throw;
    }
    // The checksum first: until the object is renamed in, the key has no object (an
    // old one is removed first, so that no reader pairs it with the new checksum).
    ::unlink(path.c_str());
    rename_into(sum_temporary, sum_path, temporary);
    rename_into(temporary, path.string(), {});
  }

  /// The object under `key` (a file of its own, or a record in one of its execution's
  /// packs), or nothing if there is none. Throws loom::object_corrupt naming the key
  /// if it is there but damaged.
  [[nodiscard]] std::optional<std::string> get(std::string_view key) const {
    const auto path = path_of(key);
    // A put() of the same key may be between its renames: a checksum that does not match
    // is read again (both files) before the object is called damaged.
    for (int attempt = 0;; ++attempt) {
      auto text = detail::read_file(path);
      if (!text) return get_packed(key);
      std::string sum_path = path.string();
      sum_path += detail::checksum_suffix;
      const auto sum = detail::read_file(sum_path);
      if (!sum && text->rfind("loom-object 1 ", 0) == 0) return verified_object(key, std::move(*text));  // Loom 0.1
      try {
        return verified_file(key, std::move(*text), sum);
      } catch (const object_corrupt&) {
        if (attempt == 2) throw;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(5 << attempt));
    }
  }

  /// Whether there is an object under `key` (damaged or not).
  [[nodiscard]] bool contains(std::string_view key) const {
    if (std::filesystem::exists(path_of(key))) return true;
    const auto [prefix, index] = refreshed_index(key);
    std::lock_guard lock(packs_->mutex);
    return index->objects.count(std::string(key)) != 0 || index->damaged.count(std::string(key)) != 0;
  }

  /// Removes the object under `key` if it is a file, and its checksum (packed objects
  /// go with their execution: remove_prefix).
  void remove(std::string_view key) const {
    const auto path = path_of(key);
    std::error_code ec;
    std::filesystem::remove(path, ec);
    std::string sum_path = path.string();
    sum_path += detail::checksum_suffix;
    std::filesystem::remove(sum_path, ec);
  }

  /// Removes everything under a prefix (an execution: its objects and its packs).
  void remove_prefix(std::string_view prefix) const {
    const auto path = path_of(prefix);
    std::error_code ec;
    std::filesystem::remove_all(path, ec);
    if (ec) throw error("object store: cannot remove " + path.string() + ": " + ec.message());
    std::lock_guard lock(packs_->mutex);
    packs_->indexes.erase(std::string(execution_of(prefix)));
  }

  /// The keys under a prefix ("" for all), sorted: files and packed objects alike;
  /// temporary files, checksum files and the packs themselves are not keys.
  [[nodiscard]] std::vector<std::string> list(std::string_view prefix = "") const {
    std::vector<std::string> keys;
    const auto start = prefix.empty() ? root_ : path_of(prefix);
    std::vector<std::string> executions;
    if (std::filesystem::exists(start)) {
      for (const auto& entry : std::filesystem::recursive_directory_iterator(start)) {
        if (!entry.is_regular_file()) continue;
        auto key = std::filesystem::relative(entry.path(), root_).generic_string();
        if (key.find(".tmp-") != std::string::npos || is_checksum_path(key)) continue;
        if (is_pack_path(key)) {
          executions.push_back(key.substr(0, key.find('/')));
          continue;
        }
        keys.push_back(std::move(key));
      }
    }
    if (!prefix.empty()) executions.push_back(std::string(execution_of(prefix)));
    std::sort(executions.begin(), executions.end());
    executions.erase(std::unique(executions.begin(), executions.end()), executions.end());
    for (const auto& execution : executions) {
      const auto [_, index] = refreshed_index(execution + "/");
      std::lock_guard lock(packs_->mutex);
      for (const auto& [key, where] : index->objects) {
        if (key.compare(0, prefix.size(), prefix) == 0) keys.push_back(key);
      }
    }
    std::sort(keys.begin(), keys.end());
    keys.erase(std::unique(keys.begin(), keys.end()), keys.end());
    return keys;
  }

  /// Bytes on disk under a prefix (files and packs), for reports.
  [[nodiscard]] std::uintmax_t bytes_under(std::string_view prefix) const {
    std::uintmax_t total = 0;
    const auto start = prefix.empty() ? root_ : path_of(prefix);
    if (!std::filesystem::exists(start)) return 0;
    for (const auto& entry : std::filesystem::recursive_directory_iterator(start)) {
      if (entry.is_regular_file()) total += entry.file_size();
    }
    return total;
  }

  /// Checks an object file's bytes against the content of its checksum file (nothing:
  /// there is none) and returns them; throws loom::object_corrupt naming `key`. For
  /// tools that read a file directly.
  static std::string verified_file(std::string_view key, std::string bytes, const std::optional<std::string>& sum) {
    if (!sum) {
      throw object_corrupt(std::string(key), std::string("no checksum file (") + std::string(key) +
                                                 std::string(detail::checksum_suffix) +
                                                 "): its write was cut short, or the file was removed");
    }
    const std::string expected = detail::checksum_of_line(*sum);
    if (expected.empty()) throw object_corrupt(std::string(key), "its checksum file holds no SHA-256 checksum");
    if (detail::sha256_hex(bytes) != expected) {
      throw object_corrupt(std::string(key), "checksum mismatch");
    }
    return bytes;
  }

  /// Whether a path names a checksum file (not an object).
  static bool is_checksum_path(std::string_view key) {
    return key.size() > detail::checksum_suffix.size() &&
           key.substr(key.size() - detail::checksum_suffix.size()) == detail::checksum_suffix;
  }

  /// Checks the bytes of a Loom 0.1 object file (a header line, then the bytes) and
  /// returns what it holds; throws loom::object_corrupt naming `key`.
  static std::string verified_object(std::string_view key, std::string text) {
    std::string problem;
    const auto header = detail::parse_object_header(text, problem);
    if (!header) throw object_corrupt(std::string(key), problem);
    const std::size_t have = text.size() - header->length;
    if (have != header->size) {
      throw object_corrupt(std::string(key), have < header->size ? "truncated: " + std::to_string(have) + " of " +
                                                                        std::to_string(header->size) + " bytes"
                                                                  : std::to_string(have - header->size) +
                                                                        " bytes more than its header says");
    }
    text.erase(0, header->length);
    if (detail::sha256_hex(text) != header->sha256) throw object_corrupt(std::string(key), "checksum mismatch");
    return text;
  }

 private:
  friend class pack_writer;

  /// Writes `bytes` to a new temporary file beside `path`; returns its name.
  static std::string write_temporary(const std::string& path, std::string_view bytes, bool sync) {
    static std::atomic<unsigned long> counter{0};
    std::string temporary = path;
    temporary.append(".tmp-").append(std::to_string(::getpid())).append("-").append(
        std::to_string(counter.fetch_add(1, std::memory_order_relaxed)));
    const int fd = ::open(temporary.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) throw error("object store: cannot write " + temporary + ": " + detail::errno_text());
    if (!detail::write_all(fd, bytes)) {
      const std::string why = detail::errno_text();
      ::close(fd);
      ::unlink(temporary.c_str());
      throw error("object store: cannot write " + temporary + ": " + why);
    }
    if ((sync && ::fsync(fd) != 0) || ::close(fd) != 0) {
      ::unlink(temporary.c_str());
      throw error("object store: cannot flush " + temporary + ": " + detail::errno_text());
    }
    return temporary;
  }

  /// Renames a temporary file into place; on failure removes it (and `also`).
  static void rename_into(const std::string& temporary, const std::string& path, const std::string& also) {
    if (std::rename(temporary.c_str(), path.c_str()) == 0) return;
    const std::string why = detail::errno_text();
    ::unlink(temporary.c_str());
    if (!also.empty()) ::unlink(also.c_str());
    throw error("object store: cannot rename into " + path + ": " + why);
  }

  struct pack_cache {
    std::mutex mutex;
    std::unordered_map<std::string, std::shared_ptr<detail::pack_index>> indexes;  // by execution
  };

  /// A pack of `execution` grew: the next miss looks at the packs again.
  void mark_packs_changed(const std::string& execution) const {
    std::lock_guard lock(packs_->mutex);
    const auto it = packs_->indexes.find(execution);
    if (it != packs_->indexes.end()) it->second->refreshed_at.store(0);
  }

  static bool is_pack_path(std::string_view key) {
    const auto slash = key.find('/');
    return slash != std::string_view::npos && key.substr(slash + 1, 6) == "packs/" &&
           key.find('/', slash + 7) == std::string_view::npos && key.size() > 5 &&
           key.substr(key.size() - 5) == ".pack";
  }

  static std::string_view execution_of(std::string_view key) { return key.substr(0, key.find('/')); }

  [[nodiscard]] std::filesystem::path path_of(std::string_view key) const {
    check_key(key);
    return root_ / std::filesystem::path(std::string(key));
  }

  /// The pack index of `key`'s execution, after reading what was appended to its packs.
  std::pair<std::string, std::shared_ptr<detail::pack_index>> refreshed_index(std::string_view key) const {
    const std::string execution(execution_of(key));
    std::shared_ptr<detail::pack_index> index;
    {
      std::lock_guard lock(packs_->mutex);
      auto& slot = packs_->indexes[execution];
      if (!slot) slot = std::make_shared<detail::pack_index>();
      index = slot;
    }
    std::lock_guard refreshing(index->refresh);
    const std::int64_t now = std::chrono::duration_cast<std::chrono::nanoseconds>(
                                 std::chrono::steady_clock::now().time_since_epoch())
                                 .count();
    const std::int64_t last = index->refreshed_at.load();
    if (last != 0 && now - last < std::chrono::nanoseconds(detail::pack_rescan_interval).count()) {
      return {execution, index};
    }
    index->refreshed_at.store(now);  // (a flush from now on sets it back to 0: looked at again)
    const auto dir = root_ / execution / "packs";
    std::error_code ec;
    if (execution.empty() || !std::filesystem::is_directory(dir, ec)) return {execution, index};
    std::vector<std::string> packs;
    for (const auto& entry : std::filesystem::directory_iterator(dir, ec)) {
      const auto name = entry.path().filename().string();
      if (name.size() > 5 && name.substr(name.size() - 5) == ".pack") packs.push_back(name);
    }
    std::sort(packs.begin(), packs.end());
    std::lock_guard lock(packs_->mutex);
    for (const auto& pack : packs) scan_pack(*index, execution, dir / pack, pack);
    return {execution, index};
  }

  /// Reads the whole records appended to a pack since the last scan into the index.
  static void scan_pack(detail::pack_index& index, const std::string& execution, const std::filesystem::path& path,
                        const std::string& pack) {
    std::size_t& done = index.scanned[pack];
    std::error_code ec;
    const auto size = std::filesystem::file_size(path, ec);
    if (ec || size <= done) return;
    const auto text = detail::read_file(path);
    if (!text) return;
    std::string_view rest(*text);
    rest.remove_prefix(std::min(done, rest.size()));
    while (!rest.empty()) {
      const detail::pack_record r = detail::read_pack_record(rest);
      using state = detail::pack_record::state;
      if (r.status == state::incomplete) return;  // read it next time
      if (r.status == state::unframed) {  // what follows cannot be trusted
        index.damaged[execution + "/packs/" + pack] = r.problem + " at offset " + std::to_string(done);
        done = text->size();
        return;
      }
      std::string key = execution + "/" + std::string(r.key);
      if (r.status == state::damaged) {
        if (!index.objects.count(key)) {
          index.damaged[key] = r.problem + " in " + execution + "/packs/" + pack + " at offset " + std::to_string(done);
        }
      } else {
        index.objects[key] = {pack, done + r.body, r.size, r.checksum};
        index.damaged.erase(key);
      }
      done += r.length;
      rest.remove_prefix(r.length);
    }
  }

  std::optional<std::string> get_packed(std::string_view key) const {
    const auto [execution, index] = refreshed_index(key);
    detail::packed_location where;
    {
      std::lock_guard lock(packs_->mutex);
      const auto it = index->objects.find(std::string(key));
      if (it == index->objects.end()) {
        const auto bad = index->damaged.find(std::string(key));
        if (bad != index->damaged.end()) throw object_corrupt(std::string(key), bad->second);
        return std::nullopt;
      }
      where = it->second;
    }
    const auto path = root_ / execution / "packs" / where.pack;
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) throw error("object store: cannot read " + path.string() + ": " + detail::errno_text());
    std::string bytes(where.size, '\0');
    std::size_t got = 0;
    while (got < where.size) {
      const auto n = ::pread(fd, bytes.data() + got, where.size - got, static_cast<off_t>(where.offset + got));
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) break;
      got += static_cast<std::size_t>(n);
    }
    ::close(fd);
    if (got != where.size) throw object_corrupt(std::string(key), path.string() + " was cut short");
    if (detail::pack_record_checksum(key.substr(execution.size() + 1), bytes) != where.checksum) {
      throw object_corrupt(std::string(key), "checksum mismatch in " + path.string());
    }
    return bytes;
  }

  std::filesystem::path root_;
  std::shared_ptr<pack_cache> packs_;  // shared by copies of this store
};

/// Appends small objects of one execution to a pack of its own
/// (`<execution>/packs/<pid>-<random>.pack`). append() buffers: nothing is written until
/// flush(), which writes the batch with one call and syncs it with one fdatasync.
/// write_now() writes one record at once (one write(2), no sync): it survives a kill of
/// the program from then on, and the next flush() syncs it. append() and flush() are
/// for one thread at a time; write_now() may be called from any thread meanwhile.
class pack_writer {
 public:
  pack_writer(const object_store& store, std::string execution) : store_(&store), execution_(std::move(execution)) {
    object_store::check_key(execution_);
  }
  pack_writer(const pack_writer&) = delete;
  pack_writer& operator=(const pack_writer&) = delete;
  ~pack_writer() {
    if (fd_ >= 0) ::close(fd_);
  }

  /// Queues an object under `key` (a key of this writer's execution).
  void append(std::string_view key, std::string_view bytes) {
    object_store::check_key(key);
    if (key.substr(0, execution_.size() + 1) != execution_ + "/") {
      throw error("pack_writer: key '" + std::string(key) + "' is not under execution " + execution_);
    }
    append_in_execution(key.substr(execution_.size() + 1), bytes);
  }

  /// The same, for a key given within the execution ("n0/dn3/outputs.json"): the
  /// recorder's path, which checks nothing again (its keys are made of node paths).
  void append_in_execution(std::string_view key, std::string_view bytes) {
    detail::append_pack_record(buffer_, key, bytes);
    ++pending_;
  }

  /// Writes an object under `key` (within the execution) now, with one write(2); seen
  /// by readers of this store after the next flush(), by other processes at once.
  void write_now(std::string_view key, std::string_view bytes) {
    thread_local std::string record;  // (reused: no allocation per node)
    record.clear();
    detail::append_pack_record(record, key, bytes);
    std::lock_guard lock(mutex_);
    if (fd_ < 0) open();
    if (!detail::write_all(fd_, record)) throw error("object store: cannot write " + path_.string() + ": " + detail::errno_text());
    bytes_written_ += record.size();
  }

  [[nodiscard]] std::size_t pending() const { return pending_; }

  /// Writes what is queued; with `sync`, waits until it is on the disk.
  void flush(bool sync = true) {
    int fd = -1;
    {
      std::lock_guard lock(mutex_);
      if (buffer_.empty() && bytes_written_ == bytes_synced_) return;
      if (fd_ < 0) open();
      if (!detail::write_all(fd_, buffer_)) throw error("object store: cannot write " + path_.string() + ": " + detail::errno_text());
      bytes_written_ += buffer_.size();
      buffer_.clear();
      pending_ = 0;
      fd = fd_;
      bytes_synced_ = bytes_written_;
    }
    // (Without the lock: write_now() goes on meanwhile; what it wrote before is synced too.)
    if (sync && ::fdatasync(fd) != 0) {
      throw error("object store: cannot flush " + path_.string() + ": " + detail::errno_text());
    }
    store_->mark_packs_changed(execution_);
  }

  [[nodiscard]] std::uintmax_t bytes_written() const {
    std::lock_guard lock(mutex_);
    return bytes_written_;
  }

 private:
  void open() {
    const auto dir = store_->root() / execution_ / "packs";
    std::error_code ec;
    std::filesystem::create_directories(dir, ec);
    if (ec) throw error("object store: cannot create " + dir.string() + ": " + ec.message());
    std::random_device random;
    char name[64];
    std::snprintf(name, sizeof name, "%ld-%08x.pack", static_cast<long>(::getpid()), random());
    path_ = dir / name;
    fd_ = ::open(path_.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_APPEND | O_CLOEXEC, 0644);
    if (fd_ < 0) throw error("object store: cannot create " + path_.string() + ": " + detail::errno_text());
  }

  const object_store* store_;
  std::string execution_;
  mutable std::mutex mutex_;  // fd_, path_ and the byte counts: write_now() comes from any thread
  std::string buffer_;
  std::size_t pending_ = 0;
  std::uintmax_t bytes_written_ = 0;
  std::uintmax_t bytes_synced_ = 0;  // (bytes written by flush() or before it)
  std::filesystem::path path_;
  int fd_ = -1;
};

}  // namespace loom
