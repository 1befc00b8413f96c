// src/object_store.cpp — the object store, pack records and pack_writer
// (loom/object_store.hpp): files, checksums and packs.
#include <loom/object_store.hpp>

#include <loom/detail/compact_value.hpp>

#include <algorithm>
#include <array>
#include <cerrno>
#include <charconv>
#include <cstdio>
#include <cstring>
#include <random>
#include <system_error>
#include <thread>
#include <utility>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace loom {

namespace detail {

LOOM_FUNC std::string errno_text() { return std::strerror(errno); }

LOOM_FUNC unsigned directory_mode_in(const std::filesystem::path& parent) {
  struct ::stat st {};
  if (::stat(parent.c_str(), &st) != 0) return 0700;
  return (static_cast<unsigned>(st.st_mode) & 0777U) | 0700U;
}

LOOM_FUNC unsigned file_mode_in(const std::filesystem::path& directory) {
  return (directory_mode_in(directory) & 0666U) | 0600U;
}

LOOM_FUNC void create_directories_like_parent(const std::filesystem::path& dir) {
  // The missing directories, deepest first; then created from the top down.
  std::vector<std::filesystem::path> missing;
  std::filesystem::path at = dir;
  std::error_code ec;
  while (!at.empty() && !std::filesystem::is_directory(at, ec)) {
    missing.push_back(at);
    if (at == at.parent_path()) break;
    at = at.parent_path();
  }
  if (missing.empty()) return;
  const unsigned mode = directory_mode_in(at);
  for (auto it = missing.rbegin(); it != missing.rend(); ++it) {
    // EEXIST: made meanwhile by another writer (a directory, or mkdir of what is below fails).
    if (::mkdir(it->c_str(), static_cast<mode_t>(mode)) != 0 && errno != EEXIST) {
      throw error("object store: cannot create " + it->string() + ": " + errno_text());
    }
  }
}

LOOM_FUNC void create_store_root(const std::filesystem::path& root) {
  std::error_code ec;
  if (std::filesystem::is_directory(root, ec)) return;
  if (root.has_parent_path()) {
    std::filesystem::create_directories(root.parent_path(), ec);
    if (ec) throw error("object store: cannot create root " + root.string() + ": " + ec.message());
  }
  if (::mkdir(root.c_str(), 0700) != 0 && errno != EEXIST) {
    throw error("object store: cannot create root " + root.string() + ": " + errno_text());
  }
}

LOOM_FUNC bool write_all(int fd, std::string_view bytes) {
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

LOOM_FUNC std::optional<std::string> read_file(const std::filesystem::path& path) {
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

LOOM_FUNC std::optional<object_header> parse_object_header(std::string_view text, std::string& problem) {
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

LOOM_FUNC std::uint64_t pack_record_checksum(std::string_view key, std::string_view bytes) {
  return checksum64(bytes, checksum64(key));
}

LOOM_FUNC void append_pack_record(std::string& out, std::string_view key, std::string_view bytes) {
  const std::size_t start = out.size();
  out.append(pack_record_header_size, '\0');
  out += key;
  out += bytes;
  seal_pack_record(out, start, key.size());
}

LOOM_FUNC void seal_pack_record(std::string& out, std::size_t start, std::size_t key_size) {
  const std::string_view record = std::string_view(out).substr(start);
  const std::string_view key = record.substr(pack_record_header_size, key_size);
  const std::string_view bytes = record.substr(pack_record_header_size + key_size);
  if (bytes.size() > 0xFFFFFFFFu) throw error("pack record " + std::string(key) + ": larger than 4 GiB");
  // (Made in place: this runs for every node of a recorded run's large sub-DAG.)
  char* header = out.data() + start;
  std::memcpy(header, pack_record_magic.data(), pack_record_magic.size());
  put_le(header + 4, key.size(), 4);
  put_le(header + 8, bytes.size(), 4);
  put_le(header + 12, pack_record_checksum(key, bytes), 8);
  put_le(header + 20, checksum64(std::string_view(header, 20)) & 0xFFFFFFFFu, 4);
}

LOOM_FUNC bool holds_compact_outputs(std::string_view key, std::string_view bytes) {
  constexpr std::string_view outputs = "outputs.json";
  const bool is_outputs = key.size() >= outputs.size() && key.substr(key.size() - outputs.size()) == outputs &&
                          (key.size() == outputs.size() || key[key.size() - outputs.size() - 1] == '/');
  return is_outputs && is_compact(bytes);
}

LOOM_FUNC pack_record read_pack_record(std::string_view rest, std::uint64_t offset) {
  pack_record r;
  // Zeros to a block boundary, less than a block: the padding of a write through
  // O_DIRECT whose file is not cut back to its size yet, or was not because of a crash
  // (loom/detail/direct_io.hpp). No record yet.
  if (!rest.empty() && rest.size() < direct_write_alignment && (offset + rest.size()) % direct_write_alignment == 0 &&
      rest.find_first_not_of('\0') == std::string_view::npos) {
    return r;
  }
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

LOOM_FUNC std::string checksum_line(std::string_view bytes, std::string_view name) {
  std::string line = sha256_hex(bytes);
  line.append("  ").append(name).push_back('\n');
  return line;
}

LOOM_FUNC std::string checksum_of_line(std::string_view line) {
  if (line.size() < 66 || line.substr(64, 2) != "  ") return {};
  for (const char c : line.substr(0, 64)) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return {};
  }
  return std::string(line.substr(0, 64));
}

}  // namespace detail

LOOM_FUNC object_store::object_store(std::filesystem::path root)
    : root_(std::move(root)), packs_(std::make_shared<pack_cache>()) {
  detail::create_store_root(root_);
  root_ = std::filesystem::canonical(root_);
}

LOOM_FUNC std::optional<std::string> object_store::execution_id_problem(std::string_view id) {
  if (id.find('/') != std::string_view::npos) return "'/' is not allowed (an id names one directory of the store)";
  if (auto why = key_problem(id)) return why;
  // The store's own names at its root: the cache's directory, and the state store with
  // what SQLite and Loom put beside it (-wal, -shm, -journal, -changes).
  if (id == "cache" || id == "loom.db" || id.substr(0, 8) == "loom.db-") {
    return "the store keeps that name for itself (the cache, the state store and its files)";
  }
  return std::nullopt;
}

LOOM_FUNC void object_store::check_execution_id(std::string_view id) {
  if (const auto why = execution_id_problem(id)) throw error("invalid execution id '" + std::string(id) + "': " + *why);
}

LOOM_FUNC std::optional<std::string> object_store::key_problem(std::string_view key) {
  if (key.empty()) return "empty";
  if (key.size() > 1024) return "longer than 1024 characters";
  std::size_t start = 0;
  while (start <= key.size()) {
    const auto end = std::min(key.find('/', start), key.size());
    const auto segment = key.substr(start, end - start);
    if (segment.empty()) return start == 0 ? "absolute or empty segment" : "empty segment";
    if (segment == "." || segment == "..") return "'.' and '..' segments would leave the root";
    for (const char c : segment) {
      const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
                      c == '_' || c == '-';
      if (!ok) return std::string("character '") + c + "' is not allowed";
    }
    start = end + 1;
  }
  return std::nullopt;
}

LOOM_FUNC void object_store::check_key(std::string_view key) {
  if (const auto why = key_problem(key)) throw error("object store: invalid key '" + std::string(key) + "': " + *why);
}

LOOM_FUNC void object_store::put(std::string_view key, std::string_view bytes, bool sync) const {
  const auto path = path_of(key);
  detail::create_directories_like_parent(path.parent_path());
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

LOOM_FUNC std::optional<std::string> object_store::get(std::string_view key) const {
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

LOOM_FUNC bool object_store::contains(std::string_view key) const {
  if (std::filesystem::exists(path_of(key))) return true;
  const auto [prefix, index] = refreshed_index(key);
  std::lock_guard lock(packs_->mutex);
  return index->objects.count(std::string(key)) != 0 || index->damaged.count(std::string(key)) != 0;
}

LOOM_FUNC void object_store::remove(std::string_view key) const {
  const auto path = path_of(key);
  std::error_code ec;
  std::filesystem::remove(path, ec);
  std::string sum_path = path.string();
  sum_path += detail::checksum_suffix;
  std::filesystem::remove(sum_path, ec);
}

LOOM_FUNC void object_store::remove_prefix(std::string_view prefix) const {
  const auto path = path_of(prefix);
  std::error_code ec;
  std::filesystem::remove_all(path, ec);
  if (ec) throw error("object store: cannot remove " + path.string() + ": " + ec.message());
  std::lock_guard lock(packs_->mutex);
  packs_->indexes.erase(std::string(execution_of(prefix)));
}

LOOM_FUNC std::vector<std::string> object_store::list(std::string_view prefix) const {
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

LOOM_FUNC std::uintmax_t object_store::bytes_under(std::string_view prefix) const {
  std::uintmax_t total = 0;
  const auto start = prefix.empty() ? root_ : path_of(prefix);
  if (!std::filesystem::exists(start)) return 0;
  for (const auto& entry : std::filesystem::recursive_directory_iterator(start)) {
    if (entry.is_regular_file()) total += entry.file_size();
  }
  return total;
}

LOOM_FUNC std::string object_store::verified_file(std::string_view key, std::string bytes,
                                                  const std::optional<std::string>& sum) {
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

LOOM_FUNC bool object_store::is_checksum_path(std::string_view key) {
  return key.size() > detail::checksum_suffix.size() &&
         key.substr(key.size() - detail::checksum_suffix.size()) == detail::checksum_suffix;
}

LOOM_FUNC std::string object_store::verified_object(std::string_view key, std::string text) {
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

LOOM_FUNC std::string object_store::write_temporary(const std::string& path, std::string_view bytes, bool sync) {
  static std::atomic<unsigned long> counter{0};
  std::string temporary = path;
  temporary.append(".tmp-").append(std::to_string(::getpid())).append("-").append(
      std::to_string(counter.fetch_add(1, std::memory_order_relaxed)));
  const auto mode = detail::file_mode_in(std::filesystem::path(path).parent_path());
  const int fd = ::open(temporary.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, static_cast<mode_t>(mode));
  if (fd < 0) throw error("object store: cannot write " + temporary + ": " + detail::errno_text());
  detail::file_appender file(fd);
  bool appended = false;
  try {
    appended = file.append(bytes);
  } catch (...) {  // (no memory for the write's buffer)
    ::close(fd);
    ::unlink(temporary.c_str());
    throw;
  }
  if (!appended) {
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

LOOM_FUNC void object_store::rename_into(const std::string& temporary, const std::string& path,
                                         const std::string& also) {
  if (std::rename(temporary.c_str(), path.c_str()) == 0) return;
  const std::string why = detail::errno_text();
  ::unlink(temporary.c_str());
  if (!also.empty()) ::unlink(also.c_str());
  throw error("object store: cannot rename into " + path + ": " + why);
}

LOOM_FUNC void object_store::mark_packs_changed(const std::string& execution) const {
  std::lock_guard lock(packs_->mutex);
  const auto it = packs_->indexes.find(execution);
  if (it != packs_->indexes.end()) it->second->refreshed_at.store(0);
}

LOOM_FUNC bool object_store::is_pack_path(std::string_view key) {
  const auto slash = key.find('/');
  return slash != std::string_view::npos && key.substr(slash + 1, 6) == "packs/" &&
         key.find('/', slash + 7) == std::string_view::npos && key.size() > 5 &&
         key.substr(key.size() - 5) == ".pack";
}

LOOM_FUNC std::string_view object_store::execution_of(std::string_view key) { return key.substr(0, key.find('/')); }

LOOM_FUNC std::filesystem::path object_store::path_of(std::string_view key) const {
  check_key(key);
  return root_ / std::filesystem::path(std::string(key));
}

LOOM_FUNC std::pair<std::string, std::shared_ptr<detail::pack_index>> object_store::refreshed_index(
    std::string_view key) const {
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

LOOM_FUNC void object_store::scan_pack(detail::pack_index& index, const std::string& execution,
                                       const std::filesystem::path& path, const std::string& pack) {
  std::size_t& done = index.scanned[pack];
  std::error_code ec;
  const auto size = std::filesystem::file_size(path, ec);
  if (ec || size <= done) return;
  const auto text = detail::read_file(path);
  if (!text) return;
  std::string_view rest(*text);
  rest.remove_prefix(std::min(done, rest.size()));
  while (!rest.empty()) {
    const detail::pack_record r = detail::read_pack_record(rest, done);
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

LOOM_FUNC std::optional<std::string> object_store::get_packed(std::string_view key) const {
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
  if (!detail::holds_compact_outputs(key, bytes)) return bytes;
  try {  // (a compact sub-DAG's outputs: their JSON text, as every reader expects)
    return detail::compact_to_json_text(bytes);
  } catch (const error& e) {
    throw object_corrupt(std::string(key), std::string(e.what()) + " in " + path.string() + " at offset " +
                                               std::to_string(where.offset));
  }
}

namespace {

std::atomic<std::uint64_t> next_pack_writer_id{1};

}  // namespace

LOOM_FUNC pack_writer::pack_writer(const object_store& store, std::string execution)
    : store_(&store), execution_(std::move(execution)), id_(next_pack_writer_id.fetch_add(1)) {
  object_store::check_key(execution_);
}

LOOM_FUNC pack_writer::~pack_writer() {
  if (fd_ >= 0) ::close(fd_);
}

LOOM_FUNC void pack_writer::append(std::string_view key, std::string_view bytes) {
  object_store::check_key(key);
  if (key.substr(0, execution_.size() + 1) != execution_ + "/") {
    throw error("pack_writer: key '" + std::string(key) + "' is not under execution " + execution_);
  }
  append_in_execution(key.substr(execution_.size() + 1), bytes);
}

LOOM_FUNC void pack_writer::append_in_execution(std::string_view key, std::string_view bytes) {
  std::lock_guard lock(mutex_);  // (write_kept() writes buffer_ from other threads)
  detail::append_pack_record(buffer_, key, bytes);
  ++pending_;
}

LOOM_FUNC pack_writer::thread_buffer& pack_writer::this_thread_buffer() {
  // Each thread remembers its buffers of the last few writers (ids are never reused, so
  // an entry of a writer that is gone is never matched again; one pushed out of the
  // list makes the thread a second buffer of that writer, which is as good).
  struct entry {
    std::uint64_t writer = 0;
    thread_buffer* buffer = nullptr;
  };
  thread_local std::array<entry, 8> recent{};
  thread_local std::size_t next_slot = 0;
  for (const entry& e : recent) {
    if (e.writer == id_) return *e.buffer;
  }
  auto made = std::make_unique<thread_buffer>();
  thread_buffer& buffer = *made;
  {
    std::lock_guard lock(mutex_);
    thread_buffers_.push_back(std::move(made));
  }
  recent[next_slot] = {id_, &buffer};
  next_slot = (next_slot + 1) % recent.size();
  return buffer;
}

LOOM_FUNC void pack_writer::keep(std::string_view key, std::string_view bytes) {
  keep_with([&](std::string& out) { out += key; }, [&](std::string& out) { out += bytes; });
}

LOOM_FUNC bool pack_writer::has_kept() {
  std::lock_guard lock(mutex_);
  for (const auto& b : thread_buffers_) {
    std::lock_guard held(b->mutex);
    if (b->records != 0) return true;
  }
  return !buffer_.empty() || file_.size() != bytes_synced_;
}

LOOM_FUNC std::string& pack_writer::thread_buffer::chunk_with_room() {
  constexpr std::size_t room = 4096;  // (a record longer than that grows the chunk: rare)
  if (!chunks.empty() && chunks.back().capacity() - chunks.back().size() >= room) return chunks.back();
  if (!spare.empty()) {
    chunks.push_back(std::move(spare.back()));
    spare.pop_back();
    if (chunks.back().capacity() >= room) return chunks.back();
  } else {
    chunks.emplace_back();
  }
  detail::reserve_in_huge_pages(chunks.back(), next_chunk_bytes);
  next_chunk_bytes = std::min(2 * next_chunk_bytes, std::size_t{4} << 20);
  return chunks.back();
}

LOOM_FUNC void pack_writer::gather() {
  // The threads' records, all at once: with every buffer locked, none gets a record,
  // so what is taken is everything kept before this moment (see the class comment).
  // (Held only to swap the chunks: the threads go on while they are written.)
  std::vector<std::unique_lock<std::mutex>> held;
  held.reserve(thread_buffers_.size());
  for (const auto& b : thread_buffers_) held.emplace_back(b->mutex);
  for (const auto& b : thread_buffers_) {
    // (What the last gather took is written by now, or back in buffer_: its chunks are
    // filled again.)
    for (std::string& chunk : b->taken) {
      chunk.clear();
      b->spare.push_back(std::move(chunk));
    }
    b->taken.clear();
    b->taken.swap(b->chunks);
    b->taken_records = std::exchange(b->records, 0);
    b->bytes = 0;
    pending_ += b->taken_records;
  }
}

LOOM_FUNC int pack_writer::write_buffer() {
  std::vector<std::string_view> pieces;
  if (!buffer_.empty()) pieces.emplace_back(buffer_);
  for (const auto& b : thread_buffers_) {
    for (const std::string& chunk : b->taken) {
      if (!chunk.empty()) pieces.emplace_back(chunk);
    }
  }
  if (pieces.empty()) return -1;
  // The records taken stay queued when they are not written, as buffer_ does: a later
  // flush writes them again (before anything kept after them).
  auto keep_queued = [&] {
    for (const auto& b : thread_buffers_) {
      for (std::string& chunk : b->taken) {
        buffer_ += chunk;
        chunk.clear();
      }
    }
  };
  bool appended = false;
  try {
    if (fd_ < 0) open();
    appended = file_.append(pieces);
  } catch (...) {
    keep_queued();
    throw;
  }
  if (!appended) {
    const std::string why = detail::errno_text();
    keep_queued();
    throw error("object store: cannot write " + path_.string() + ": " + why);
  }
  buffer_.clear();  // (the chunks taken are emptied by the next gather(), which reuses them)
  pending_ = 0;
  return fd_;
}

LOOM_FUNC void pack_writer::write_kept() {
  std::lock_guard lock(mutex_);
  gather();
  if (write_buffer() >= 0) store_->mark_packs_changed(execution_);
}

LOOM_FUNC void pack_writer::flush(bool sync) {
  int fd = -1;
  std::uintmax_t synced_before = 0;
  {
    std::lock_guard lock(mutex_);
    gather();
    write_buffer();
    if (file_.size() == bytes_synced_) return;
    fd = fd_;
    synced_before = std::exchange(bytes_synced_, file_.size());
  }
  // (Without the lock: keep() and write_kept() go on meanwhile; what they wrote before is synced too.)
  if (sync && ::fdatasync(fd) != 0) {
    const std::string why = detail::errno_text();
    {
      // Not synced: the next flush syncs again.
      std::lock_guard lock(mutex_);
      bytes_synced_ = std::min(bytes_synced_, synced_before);
    }
    throw error("object store: cannot flush " + path_.string() + ": " + why);
  }
  store_->mark_packs_changed(execution_);
}

LOOM_FUNC std::uintmax_t pack_writer::bytes_written() const {
  std::lock_guard lock(mutex_);
  return file_.size();
}

LOOM_FUNC void pack_writer::open() {
  const auto dir = store_->root() / execution_ / "packs";
  detail::create_directories_like_parent(dir);
  std::random_device random;
  char name[80];
  const auto now = std::chrono::duration_cast<std::chrono::microseconds>(
                       std::chrono::system_clock::now().time_since_epoch())
                       .count();
  std::snprintf(name, sizeof name, "%016lld-%ld-%08x.pack", static_cast<long long>(now),
                static_cast<long>(::getpid()), random());
  path_ = dir / name;
  // (Not O_APPEND: file_ writes at the end it keeps, large batches through O_DIRECT.)
  fd_ = ::open(path_.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, static_cast<mode_t>(detail::file_mode_in(dir)));
  if (fd_ < 0) throw error("object store: cannot create " + path_.string() + ": " + detail::errno_text());
  file_ = detail::file_appender(fd_);
}

}  // namespace loom
