// loom/object_store.hpp — specs and data by reference: a local directory addressed by
// keys under one root (`<execution>/<node path>/inputs|outputs|futures`). Keys that
// would escape the root are rejected; writes are atomic (write to a temporary file,
// then rename), so a crash never leaves a half-written object that looks whole.
#pragma once

#include <loom/error.hpp>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>
#include <string_view>
#include <system_error>
#include <thread>
#include <vector>

#include <fcntl.h>
#include <unistd.h>

namespace loom {

class object_store {
 public:
  explicit object_store(std::filesystem::path root) : root_(std::move(root)) {
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

  /// Stores `bytes` under `key`, atomically: readers see the old object or the new one.
  void put(std::string_view key, std::string_view bytes) const {
    const auto path = path_of(key);
    std::error_code ec;
    std::filesystem::create_directories(path.parent_path(), ec);
    if (ec) throw error("object store: cannot create " + path.parent_path().string() + ": " + ec.message());
    static std::atomic<unsigned long> counter{0};
    const auto temporary = path.string() + ".tmp-" + std::to_string(::getpid()) + "-" +
                           std::to_string(counter.fetch_add(1, std::memory_order_relaxed));
    const int fd = ::open(temporary.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) throw error("object store: cannot write " + temporary + ": " + std::strerror(errno));
    std::size_t written = 0;
    while (written < bytes.size()) {
      const auto n = ::write(fd, bytes.data() + written, bytes.size() - written);
      if (n < 0) {
        if (errno == EINTR) continue;
        const std::string why = std::strerror(errno);
        ::close(fd);
        ::unlink(temporary.c_str());
        throw error("object store: cannot write " + temporary + ": " + why);
      }
      written += static_cast<std::size_t>(n);
    }
    if (::fsync(fd) != 0 || ::close(fd) != 0) {
      ::unlink(temporary.c_str());
      throw error("object store: cannot flush " + temporary + ": " + std::strerror(errno));
    }
    if (std::rename(temporary.c_str(), path.c_str()) != 0) {
      const std::string why = std::strerror(errno);
      ::unlink(temporary.c_str());
      throw error("object store: cannot rename into " + path.string() + ": " + why);
    }
  }

  /// The object under `key`, or nothing if there is none.
  [[nodiscard]] std::optional<std::string> get(std::string_view key) const {
    const auto path = path_of(key);
    std::ifstream in(path, std::ios::binary);
    if (!in) return std::nullopt;
    std::ostringstream out;
    out << in.rdbuf();
    if (in.bad()) throw error("object store: cannot read " + path.string());
    return std::move(out).str();
  }

  [[nodiscard]] bool contains(std::string_view key) const { return std::filesystem::exists(path_of(key)); }

  /// The keys under a prefix ("" for all), sorted; temporary files are not keys.
  [[nodiscard]] std::vector<std::string> list(std::string_view prefix = "") const {
    std::vector<std::string> keys;
    const auto start = prefix.empty() ? root_ : path_of(prefix);
    if (!std::filesystem::exists(start)) return keys;
    for (const auto& entry : std::filesystem::recursive_directory_iterator(start)) {
      if (!entry.is_regular_file()) continue;
      auto key = std::filesystem::relative(entry.path(), root_).generic_string();
      if (key.find(".tmp-") != std::string::npos) continue;
      keys.push_back(std::move(key));
    }
    std::sort(keys.begin(), keys.end());
    return keys;
  }

 private:
  [[nodiscard]] std::filesystem::path path_of(std::string_view key) const {
    check_key(key);
    return root_ / std::filesystem::path(std::string(key));
  }

  std::filesystem::path root_;
};

}  // namespace loom
