// Files for tests: a scratch directory removed with everything in it, and whole-file
// reads and writes.
#pragma once

#include <filesystem>
#include <fstream>
#include <iterator>
#include <random>
#include <string>
#include <string_view>

namespace loom_test {

/// A new directory under the system's temporary directory, removed at the end.
struct scratch_dir {
  std::filesystem::path path;
  explicit scratch_dir(std::string_view what) {
    std::random_device random;
    path = std::filesystem::temp_directory_path() / ("loom-" + std::string(what) + "-" + std::to_string(random()));
    std::filesystem::create_directories(path);
  }
  scratch_dir(const scratch_dir&) = delete;
  scratch_dir& operator=(const scratch_dir&) = delete;
  ~scratch_dir() {
    std::error_code ec;
    std::filesystem::remove_all(path, ec);
  }
};

inline std::string slurp(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

inline void spit(const std::filesystem::path& p, const std::string& bytes) {
  std::ofstream out(p, std::ios::binary | std::ios::trunc);
  out << bytes;
}

}  // namespace loom_test
