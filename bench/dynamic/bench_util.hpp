// Shared helpers of the dynamic-workflow benchmarks: timing (median of repetitions),
// the machine's description and its load, so that every table says where it came from.
#pragma once

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include <sys/resource.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

namespace bench {

using clock = std::chrono::steady_clock;

inline double ms_since(clock::time_point start) {
  return std::chrono::duration<double, std::milli>(clock::now() - start).count();
}

/// CPU time of the whole process (every thread), in ms: less sensitive than the wall
/// clock to other work on a shared machine.
inline double process_cpu_ms() {
  timespec t{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
  return static_cast<double>(t.tv_sec) * 1e3 + static_cast<double>(t.tv_nsec) / 1e6;
}

inline double median_of(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const auto n = v.size();
  return n == 0 ? 0.0 : (n % 2 == 1 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2);
}

/// Times of `reps` calls of `fn` (after `warmup` untimed calls), in ms: wall clock and
/// the process's CPU time.
struct samples {
  std::vector<double> ms;
  std::vector<double> cpu_ms;
  [[nodiscard]] double median() const { return median_of(ms); }
  [[nodiscard]] double cpu_median() const { return median_of(cpu_ms); }
  [[nodiscard]] double min() const { return ms.empty() ? 0.0 : *std::min_element(ms.begin(), ms.end()); }
  [[nodiscard]] double max() const { return ms.empty() ? 0.0 : *std::max_element(ms.begin(), ms.end()); }
};

template <class Fn>
samples time_reps(int reps, int warmup, Fn&& fn) {
  for (int i = 0; i < warmup; ++i) fn();
  samples s;
  for (int i = 0; i < reps; ++i) {
    const double cpu = process_cpu_ms();
    const auto start = clock::now();
    fn();
    s.ms.push_back(ms_since(start));
    s.cpu_ms.push_back(process_cpu_ms() - cpu);
  }
  return s;
}

inline std::string first_line_with(const char* path, std::string_view key) {
  std::ifstream in(path);
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(key, 0) == 0) {
      const auto colon = line.find(':');
      auto value = colon == std::string::npos ? line : line.substr(colon + 1);
      value.erase(0, value.find_first_not_of(" \t"));
      return value;
    }
  }
  return "?";
}

inline std::string load_average() {
  std::ifstream in("/proc/loadavg");
  std::string a, b, c;
  in >> a >> b >> c;
  return a + " " + b + " " + c;
}

/// The machine, the compiler and the load, as comment lines of the output.
inline void print_machine(const char* program) {
  utsname u{};
  uname(&u);
  std::printf("# %s\n", program);
  std::printf("# machine: %ld CPUs online, %s, %s %s\n", sysconf(_SC_NPROCESSORS_ONLN),
              first_line_with("/proc/cpuinfo", "model name").c_str(), u.sysname, u.release);
#if defined(__clang__)
  std::printf("# compiler: clang %s", __clang_version__);
#elif defined(__GNUC__)
  std::printf("# compiler: g++ %s", __VERSION__);
#endif
#ifdef NDEBUG
  std::printf(", NDEBUG");
#endif
#ifdef __OPTIMIZE__
  std::printf(", optimized");
#endif
  std::printf("\n# load average at start: %s\n", load_average().c_str());
}

inline int int_arg(int argc, char** argv, std::string_view name, int fallback) {
  for (int i = 1; i + 1 < argc; ++i) {
    if (name == argv[i]) return std::atoi(argv[i + 1]);
  }
  return fallback;
}

/// n random letters A-Z/a-z from a fixed seed (the count_characters inputs).
inline std::string random_letters(std::size_t n, std::uint64_t seed) {
  static constexpr char letters[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
  std::mt19937_64 rng(seed);
  std::uniform_int_distribution<int> pick(0, 51);
  std::string s(n, ' ');
  for (auto& c : s) c = letters[pick(rng)];
  return s;
}

inline bool flag(int argc, char** argv, std::string_view name) {
  for (int i = 1; i < argc; ++i) {
    if (name == argv[i]) return true;
  }
  return false;
}

}  // namespace bench
