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
//   The bytes of a compact sub-DAG's node outputs may be in a binary form
//   (loom/detail/compact_value.hpp, starting with a NUL byte): get() gives back their
//   JSON text. A pack is only ever appended to; a record cut short by a crash is at
//   its end and is simply not there. get() finds packed objects by key (an index built
//   by reading the execution's packs, refreshed when a key is not found).
//
// The store's code is compiled once into loom::runtime (src/object_store.cpp).
#pragma once

#include <loom/detail/checksum.hpp>
#include <loom/detail/config.hpp>
#include <loom/detail/direct_io.hpp>
#include <loom/detail/huge_pages.hpp>
#include <loom/detail/sha256.hpp>
#include <loom/error.hpp>

#include <atomic>
#include <array>
#include <chrono>
#include <cstring>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

namespace loom {

namespace detail {

std::string errno_text();

/// Writes all of `bytes` to `fd` (retrying short writes and EINTR); false on error.
bool write_all(int fd, std::string_view bytes);

/// The whole content of a file, or nothing if it does not exist; throws on other errors.
std::optional<std::string> read_file(const std::filesystem::path& path);

// Permissions. A store's root is created 0700. What Loom creates inside a store takes
// the permissions of the directory it is created in (a file without execute bits), so
// a store is private to its owner (0700 directories, 0600 files) unless the user asks
// otherwise by opening up its root: after `chmod 750 STORE`, new directories are 0750
// and new files 0640. The owner always keeps read and write. The umask still applies.

/// The mode for a directory created in `parent` (its permission bits, owner rwx).
unsigned directory_mode_in(const std::filesystem::path& parent);

/// The mode for a file created in `directory` (its read and write bits, owner rw).
unsigned file_mode_in(const std::filesystem::path& directory);

/// Creates `dir` and its missing parents, each with the mode of the nearest directory
/// that exists above it (directory_mode_in). Throws loom::error naming the directory.
void create_directories_like_parent(const std::filesystem::path& dir);

/// Creates a store's root (and its missing parents, as create_directories would) with
/// mode 0700 if it does not exist. Throws loom::error naming it.
void create_store_root(const std::filesystem::path& root);

/// The header line of an object file: "loom-object 1 size=N sha256=HEX".
struct object_header {
  std::size_t size = 0;
  std::string sha256;
  std::size_t length = 0;  // of the line, its '\n' included
};

/// Parses the header at the start of `text`; nothing (and `problem` says why) if it is
/// not one.
std::optional<object_header> parse_object_header(std::string_view text, std::string& problem);

// ---- pack records (the format is in the comment at the top of this file) ----

inline constexpr std::string_view pack_record_magic = "lrc2";
inline constexpr std::size_t pack_record_header_size = 24;
inline constexpr std::size_t pack_record_max_key = 1024;

/// The checksum of a record's bytes under its key (relative to the execution).
std::uint64_t pack_record_checksum(std::string_view key, std::string_view bytes);

/// Appends one record to `out`.
void append_pack_record(std::string& out, std::string_view key, std::string_view bytes);

/// Fills in the header of the record that begins at `start` in `out`: header-sized
/// room, then its key (`key_size` bytes) and its bytes, up to the end of `out`. (A
/// record whose key and bytes are appended in place, with no string of their own.)
void seal_pack_record(std::string& out, std::size_t start, std::size_t key_size);

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

/// `rest` starts at `offset` in its pack and runs to the pack's end (as read): the
/// zeros an O_DIRECT write pads the pack with up to a block boundary are taken as no
/// record yet (loom/detail/direct_io.hpp), zeros that end elsewhere are damage.
pack_record read_pack_record(std::string_view rest, std::uint64_t offset = 0);

/// Whether a packed object is a node's outputs (a key ending in outputs.json) kept in the
/// compact form (loom/detail/compact_value.hpp): get() gives their JSON text
/// (compact_to_json_text), not the bytes as they are.
bool holds_compact_outputs(std::string_view key, std::string_view bytes);

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
std::string checksum_line(std::string_view bytes, std::string_view name);

/// The checksum a checksum file holds (its first 64 characters, when they are hex
/// digits followed by two spaces); empty when it holds none.
std::string checksum_of_line(std::string_view line);

/// How often a key that is not found sends get() back to the packs directory. A resume
/// looks up every node that is not done; listing and stat-ing the packs for each one
/// would be O(nodes x packs) system calls. Packs appended through a pack_writer of the
/// same store are seen at once (flush() marks the index stale); packs that another
/// process appends to are seen within this interval.
inline constexpr std::chrono::milliseconds pack_rescan_interval{100};

}  // namespace detail

class object_store {
 public:
  explicit object_store(std::filesystem::path root);

  [[nodiscard]] const std::filesystem::path& root() const { return root_; }

  /// Checks a key: relative, segments of [A-Za-z0-9._-] separated by '/', no empty,
  /// '.' or '..' segment. Throws loom::error naming the key otherwise.
  static void check_key(std::string_view key);

  /// What is wrong with a key, as check_key says it ("empty segment"), or nothing.
  [[nodiscard]] static std::optional<std::string> key_problem(std::string_view key);

  /// Checks an execution id: one segment of a key (a directory right under the root,
  /// nothing that reaches elsewhere), and not a name the store keeps for itself ("cache",
  /// the state store's "loom.db" and the files beside it, "loom.db-*": "loom.db-wal",
  /// "loom.db-changes", ...). Throws loom::error naming the id otherwise.
  static void check_execution_id(std::string_view id);

  /// What is wrong with an execution id, as check_execution_id says it, or nothing.
  [[nodiscard]] static std::optional<std::string> execution_id_problem(std::string_view id);

  /// Stores `bytes` under `key` (the object file, then its checksum file beside it).
  /// Readers see the old object, none (while an object is replaced), or the new one,
  /// never a mix. `sync`: wait until it is on the disk (fsync) before returning;
  /// without it the object survives a crash of the program but maybe not a power loss
  /// (what is read back at once, or lives in a private temporary store, needs no more).
  void put(std::string_view key, std::string_view bytes, bool sync = true) const;

  /// The object under `key` (a file of its own, or a record in one of its execution's
  /// packs), or nothing if there is none. Throws loom::object_corrupt naming the key
  /// if it is there but damaged.
  [[nodiscard]] std::optional<std::string> get(std::string_view key) const;

  /// Whether there is an object under `key` (damaged or not).
  [[nodiscard]] bool contains(std::string_view key) const;

  /// Removes the object under `key` if it is a file, and its checksum (packed objects
  /// go with their execution: remove_prefix).
  void remove(std::string_view key) const;

  /// Removes everything under a prefix (an execution: its objects and its packs).
  void remove_prefix(std::string_view prefix) const;

  /// The keys under a prefix ("" for all), sorted: files and packed objects alike;
  /// temporary files, checksum files and the packs themselves are not keys.
  [[nodiscard]] std::vector<std::string> list(std::string_view prefix = "") const;

  /// Bytes on disk under a prefix (files and packs), for reports.
  [[nodiscard]] std::uintmax_t bytes_under(std::string_view prefix) const;

  /// Checks an object file's bytes against the content of its checksum file (nothing:
  /// there is none) and returns them; throws loom::object_corrupt naming `key`. For
  /// tools that read a file directly.
  static std::string verified_file(std::string_view key, std::string bytes, const std::optional<std::string>& sum);

  /// Whether a path names a checksum file (not an object).
  static bool is_checksum_path(std::string_view key);

  /// Checks the bytes of a Loom 0.1 object file (a header line, then the bytes) and
  /// returns what it holds; throws loom::object_corrupt naming `key`.
  static std::string verified_object(std::string_view key, std::string text);

 private:
  friend class pack_writer;

  /// Writes `bytes` to a new temporary file beside `path`; returns its name.
  static std::string write_temporary(const std::string& path, std::string_view bytes, bool sync);

  /// Renames a temporary file into place; on failure removes it (and `also`).
  static void rename_into(const std::string& temporary, const std::string& path, const std::string& also);

  struct pack_cache {
    std::mutex mutex;
    std::unordered_map<std::string, std::shared_ptr<detail::pack_index>> indexes;  // by execution
  };

  /// A pack of `execution` grew: the next miss looks at the packs again.
  void mark_packs_changed(const std::string& execution) const;

  static bool is_pack_path(std::string_view key);

  static std::string_view execution_of(std::string_view key);

  [[nodiscard]] std::filesystem::path path_of(std::string_view key) const;

  /// The pack index of `key`'s execution, after reading what was appended to its packs.
  std::pair<std::string, std::shared_ptr<detail::pack_index>> refreshed_index(std::string_view key) const;

  /// Reads the whole records appended to a pack since the last scan into the index.
  static void scan_pack(detail::pack_index& index, const std::string& execution, const std::filesystem::path& path,
                        const std::string& pack);

  std::optional<std::string> get_packed(std::string_view key) const;

  std::filesystem::path root_;
  std::shared_ptr<pack_cache> packs_;  // shared by copies of this store
};

/// Appends small objects of one execution to a pack of its own
/// (`<execution>/packs/<time>-<pid>-<random>.pack`; the time, in µs, first: packs sort
/// oldest first, so the index keeps the newest copy of a key that a resume wrote again).
/// append() buffers: nothing is written until flush(), which writes the batch with one
/// call and syncs it with one fdatasync. keep() puts a record in a buffer of the calling
/// thread's own (no system call, no shared lock): the next flush() writes it with the
/// rest, or write_kept() at once (one write(2), no sync: from then on it survives a kill
/// of the program, and the next flush() syncs it).
///
/// flush() takes the threads' buffers all at once (a consistent cut): a record kept
/// after another one, whatever the threads, is never written without it. So when the
/// threads keep a node's outputs before its successors can start, the records that
/// survive a kill are those of a set of nodes that includes every node any of them
/// depends on.
///
/// append() and flush() are for one thread at a time; keep() and write_kept() may be
/// called from any thread meanwhile.
class pack_writer {
 public:
  pack_writer(const object_store& store, std::string execution);
  pack_writer(const pack_writer&) = delete;
  pack_writer& operator=(const pack_writer&) = delete;
  ~pack_writer();

  /// Queues an object under `key` (a key of this writer's execution).
  void append(std::string_view key, std::string_view bytes);

  /// The same, for a key given within the execution ("n0/dn3/outputs.json"): the
  /// recorder's path, which checks nothing again (its keys are made of node paths).
  void append_in_execution(std::string_view key, std::string_view bytes);

  /// Records queued by append_in_execution and not written yet.
  [[nodiscard]] std::size_t pending() const {
    std::lock_guard lock(mutex_);
    return pending_;
  }

  /// Whether a thread has kept objects that no flush has written yet.
  [[nodiscard]] bool has_kept();

  /// Writes what is queued and the threads' kept objects (a consistent cut); with
  /// `sync`, waits until it is on the disk.
  void flush(bool sync = true);

  /// Keeps an object under `key` (within the execution) in the calling thread's buffer,
  /// written by the next flush().
  void keep(std::string_view key, std::string_view bytes);

  /// The same, for an object whose key and bytes are appended to the string given to
  /// `key` and then to `bytes` (no string of their own: this runs for every node of a
  /// recorded run). The record is made whole here, checksums included, in a chunk of
  /// the thread's buffer, which the flush writes as it is (no copy).
  ///
  /// Returns the bytes the calling thread has kept since the last flush, this record's
  /// included (a caller may have them written sooner when they are many).
  template <class Key, class Bytes>
  std::size_t keep_with(Key&& key, Bytes&& bytes) {
    thread_buffer& buffer = this_thread_buffer();
    std::lock_guard lock(buffer.mutex);
    std::string& out = buffer.chunk_with_room();
    const std::size_t start = out.size();
    try {
      out.append(detail::pack_record_header_size, '\0');
      key(out);
      const std::size_t key_size = out.size() - start - detail::pack_record_header_size;
      bytes(out);
      detail::seal_pack_record(out, start, key_size);
      ++buffer.records;
      buffer.bytes += out.size() - start;
      return buffer.bytes;
    } catch (...) {
      out.resize(start);
      throw;
    }
  }

  /// Writes what is queued and the threads' kept objects (a consistent cut, the
  /// caller's included) now, without a sync: they survive a kill of the program from
  /// then on. (Cuts are written in the order they are taken: each under the lock.)
  void write_kept();

  [[nodiscard]] std::uintmax_t bytes_written() const;

  /// One thread's objects kept for the next flush, as whole pack records in chunks:
  /// a chunk is never moved to grow (a new one is started), so keeping a record costs
  /// no copy of the ones before it, and gather() takes the chunks as they are. Its lock
  /// is taken by its thread for each object (uncontended) and by gather() to take them.
  struct thread_buffer {
    std::mutex mutex;
    std::vector<std::string> chunks;  // the last one is being filled
    std::vector<std::string> taken;   // gather()'s: swapped out, written by the writer
    std::vector<std::string> spare;   // written chunks, emptied, to be filled again
    std::size_t records = 0;          // in chunks
    std::size_t bytes = 0;            // in chunks
    std::size_t taken_records = 0;    // in taken
    std::size_t next_chunk_bytes = std::size_t{64} << 10;

    /// The chunk to append the next record to: the last one while it has room for a
    /// usual record (one longer may make it grow), else a spare one or a new one (each
    /// new one twice the one before, up to 4 MiB, which is in huge pages).
    std::string& chunk_with_room();
  };

 private:
  void open();

  /// The calling thread's buffer of this writer (made on its first keep()).
  thread_buffer& this_thread_buffer();

  /// Takes the threads' kept objects, a consistent cut, into their buffers' `taken`
  /// (mutex_ held).
  void gather();

  /// Writes buffer_, then the records gather() took (mutex_ held); the file descriptor
  /// written to, or -1 if nothing was.
  int write_buffer();

  const object_store* store_;
  std::string execution_;
  std::uint64_t id_;  // this writer, for the threads' caches of their buffers
  std::vector<std::unique_ptr<thread_buffer>> thread_buffers_;  // under mutex_
  mutable std::mutex mutex_;  // fd_, path_ and the byte counts: write_kept() comes from any thread
  std::string buffer_;
  std::size_t pending_ = 0;
  std::uintmax_t bytes_synced_ = 0;  // (of file_.size(): bytes written by flush() or before it)
  std::filesystem::path path_;
  int fd_ = -1;
  detail::file_appender file_;  // appends to fd_
};

}  // namespace loom
