// fuzz/fuzz_support.hpp — what the fuzz targets share: a private scratch directory per
// process, and the rule they all check (bad bytes give a loom::error that says what is
// wrong, never a crash, a hang, or an exception of another kind).
#pragma once

#include <cstdio>
#include <cstdlib>
#include <exception>
#include <filesystem>
#include <string>
#include <string_view>

#include <unistd.h>

namespace loom_fuzz {

/// A directory of this process's own under $TMPDIR (or /dev/shm, which spares the disk
/// the target's writes), removed at exit.
inline const std::filesystem::path& scratch_directory() {
  static const std::filesystem::path dir = [] {
    std::filesystem::path base = std::filesystem::exists("/dev/shm") ? std::filesystem::path("/dev/shm")
                                                                      : std::filesystem::temp_directory_path();
    if (const char* tmp = std::getenv("LOOM_FUZZ_SCRATCH")) base = tmp;
    auto path = base / ("loom-fuzz-" + std::to_string(::getpid()));
    std::filesystem::remove_all(path);
    std::filesystem::create_directories(path);
    static struct remover {
      std::filesystem::path p;
      ~remover() {
        std::error_code ec;
        std::filesystem::remove_all(p, ec);
      }
    } remove_at_exit{path};
    return path;
  }();
  return dir;
}

/// A broken rule: says which, and aborts (libFuzzer saves the input).
[[noreturn]] inline void fail(std::string_view what) {
  std::fprintf(stderr, "loom fuzz: %.*s\n", static_cast<int>(what.size()), what.data());
  std::abort();
}

inline void check(bool ok, std::string_view what) {
  if (!ok) fail(what);
}

/// A loom::error must say something.
inline void check_message(const std::exception& e) { check(e.what() != nullptr && e.what()[0] != '\0', "an error without a message"); }

}  // namespace loom_fuzz
