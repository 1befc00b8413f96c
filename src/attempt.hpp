// src/attempt.hpp — one attempt at a piece of work under a timeout, and the rule for
// what follows a failed one. This is the only implementation of both: task nodes, the
// bodies of dynamic nodes and map items use it, on the executor's threads and inside
// node processes.
//
// A task node's retries wait in the scheduler's queue (no thread is held during the
// backoff); a map item's wait in line, in its chunk (attempt_in_line).
#pragma once

#include <loom/policy.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <exception>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <utility>

namespace loom::detail {

/// What one attempt did.
struct attempt_result {
  bool failed = false;
  std::string error;       // why it failed
  bool abandoned = false;  // it timed out, and its thread still runs

  [[nodiscard]] bool ok() const { return !failed; }
};

/// Runs `body`, catching what it throws.
template <class Body>
attempt_result attempt_here(Body& body) {
  try {
    body();
    return {};
  } catch (const std::exception& e) {
    return {true, e.what()};
  } catch (...) {
    return {true, "unknown exception (not derived from std::exception)"};
  }
}

/// One attempt: `body` runs here when there is no timeout. With a timeout it runs on a
/// thread of its own that is abandoned when it takes longer (the attempt fails; what
/// the thread does afterwards goes nowhere): `body` must then own, or share, everything
/// it touches.
template <class Body>
attempt_result attempt_once(std::chrono::milliseconds timeout, Body body) {
  if (timeout.count() <= 0) return attempt_here(body);
  struct shared_state {
    std::mutex mutex;
    std::condition_variable finished_cv;
    bool finished = false;
    attempt_result result;
  };
  auto state = std::make_shared<shared_state>();
  std::thread([state, body = std::move(body)]() mutable {
    attempt_result result = attempt_here(body);
    std::lock_guard lock(state->mutex);
    state->result = std::move(result);
    state->finished = true;
    state->finished_cv.notify_all();
  }).detach();
  std::unique_lock lock(state->mutex);
  if (!state->finished_cv.wait_for(lock, timeout, [&] { return state->finished; })) {
    return {true, "timed out after " + std::to_string(timeout.count()) + " ms", true};
  }
  return std::move(state->result);
}

/// After failed attempt number `attempt` (0 for the first): the delay before the next
/// one, or none when the policy's retries are spent.
inline std::optional<std::chrono::milliseconds> retry_delay(const node_policy& policy, std::uint32_t attempt) {
  if (attempt >= policy.retries) return std::nullopt;
  return policy.backoff.delay(attempt + 1);
}

/// The attempts at one map item, one after the other on this thread, with the policy's
/// backoff between them: until one succeeds, the retries are spent, `cancelled()` holds
/// (the run or the map failed), or an attempt is abandoned (it still writes where the
/// next one would: the item's element of its node's output lists). `attempts` gets how
/// many ran.
template <class Body, class Cancelled>
attempt_result attempt_in_line(const node_policy& policy, Body body, Cancelled&& cancelled, std::uint32_t& attempts) {
  attempts = 0;
  while (true) {
    attempt_result result = attempt_once(policy.timeout, body);
    ++attempts;
    if (result.ok() || result.abandoned) return result;
    const auto delay = retry_delay(policy, attempts - 1);
    if (!delay) return result;
    // The backoff, in slices: a failed run does not wait for it.
    const auto until = std::chrono::steady_clock::now() + *delay;
    while (std::chrono::steady_clock::now() < until) {
      if (cancelled()) return result;
      std::this_thread::sleep_for(std::min<std::chrono::steady_clock::duration>(
          until - std::chrono::steady_clock::now(), std::chrono::milliseconds(20)));
    }
    if (cancelled()) return result;
  }
}

}  // namespace loom::detail
