// loom/policy.hpp — how the executor treats the nodes of an entity: retries with
// backoff, a timeout, caching. Set on the entity, like Flyte's task decorator options:
//
//   inline constexpr auto fetch = loom::task<"fetch">(fetch_fn)
//       .with_retries(3, {.initial = std::chrono::milliseconds(200), .multiplier = 2})
//       .with_timeout(std::chrono::seconds(30))
//       .with_cache()           // keyed by name, version and a hash of the inputs
//       .with_version("2");     // a new version: the old cache entries no longer match
//
// Retries: a failing attempt is retried after a delay (initial, then times multiplier
// each attempt, at most max) without holding a thread; every attempt is recorded. A
// dynamic workflow's retries re-run its body when the body fails; a failure inside its
// sub-DAG fails the node (the sub-DAG's own tasks have their own retries), and the body
// is not run again.
// Timeout: an attempt that takes longer fails (and may be retried). On the thread
// backend the run does not wait for it: the attempt's thread is abandoned and its
// result dropped. On the process backend the node's process is killed.
// Caching: needs a store (a recorded run); entries are shared by every execution in it.
// Resources: what a node's job asks a cluster for (the Slurm backend, loom/slurm.hpp;
// the thread and process backends ignore them):
//
//       .with_resources({.cpus = 8, .memory = "16G", .time = std::chrono::hours(2)})
#pragma once

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <stdexcept>
#include <string_view>

namespace loom {

/// The delay before retry k (k = 1 for the first retry): initial * multiplier^(k-1),
/// at most max.
struct backoff {
  std::chrono::milliseconds initial{100};
  double multiplier = 2.0;
  std::chrono::milliseconds max{std::chrono::seconds(60)};

  [[nodiscard]] constexpr std::chrono::milliseconds delay(std::uint32_t retry) const {
    double ms = static_cast<double>(initial.count());
    for (std::uint32_t k = 1; k < retry && ms < static_cast<double>(max.count()); ++k) ms *= multiplier;
    return std::min(std::chrono::milliseconds(static_cast<std::int64_t>(ms)), max);
  }
};

/// What a node's job asks the cluster for; zero or empty: the cluster's default (or the
/// run's: slurm_options).
struct resources {
  std::uint32_t cpus = 0;          // sbatch --cpus-per-task
  std::string_view memory{};       // sbatch --mem: digits, then K, M, G or T ("512M", "16G")
  std::chrono::seconds time{0};    // sbatch --time (rounded up to whole minutes)
  std::uint32_t gpus = 0;          // sbatch --gres=gpu:N
  std::string_view partition{};    // sbatch --partition

  /// Why `memory` is not in Slurm's spelling, or nothing when it is (or is empty).
  [[nodiscard]] constexpr std::string_view memory_problem() const {
    if (memory.empty()) return {};
    std::size_t digits = 0;
    while (digits < memory.size() && memory[digits] >= '0' && memory[digits] <= '9') ++digits;
    if (digits == 0) return "memory must start with digits (\"512M\", \"16G\")";
    if (digits + 1 < memory.size()) return "memory must be digits and at most one unit letter (K, M, G or T)";
    if (digits + 1 == memory.size()) {
      const char unit = memory.back();
      if (unit != 'K' && unit != 'M' && unit != 'G' && unit != 'T') return "memory's unit must be K, M, G or T";
    }
    return {};
  }
  /// Whether `partition` can be passed to sbatch as it is (no space, quote or control character).
  [[nodiscard]] constexpr bool partition_ok() const {
    for (const char c : partition) {
      if (c <= ' ' || c == '\'' || c == '"' || c == '\\' || c == 127) return false;
    }
    return true;
  }
};

struct node_policy {
  std::uint32_t retries = 0;             // attempts after the first
  loom::backoff backoff{};               // between attempts
  std::chrono::milliseconds timeout{0};  // per attempt; 0: none
  bool cache = false;
  loom::resources resources{};           // a cluster job's (the Slurm backend)

  /// Whether the executor can run the node the plain way (no retry, no timeout).
  [[nodiscard]] constexpr bool plain() const { return retries == 0 && timeout.count() == 0; }
};

}  // namespace loom
