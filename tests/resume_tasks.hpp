// Workflows for the resume tests: every task execution is logged (appended to the file
// named by $LOOM_TEST_LOG, one line "<task> <id>"), so that a test can count how many
// times each node ran across a killed run and its resumes.
#pragma once

#include <loom/loom.hpp>

#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <stdexcept>
#include <string>
#include <vector>

#include <fcntl.h>
#include <unistd.h>

namespace loom_resume_test {

/// Appends "<what> <id>\n" to $LOOM_TEST_LOG (one write(2): whole lines even when the
/// process is killed right after).
inline void log_execution(const char* what, std::int64_t id) {
  const char* path = std::getenv("LOOM_TEST_LOG");
  if (path == nullptr) return;
  const std::string line = std::string(what) + " " + std::to_string(id) + "\n";
  const int fd = ::open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (fd < 0) std::abort();
  if (::write(fd, line.data(), line.size()) != static_cast<ssize_t>(line.size())) std::abort();
  ::close(fd);
}

/// $LOOM_TEST_TASK_US: how long each link takes (microseconds; default 0), so that a
/// test's kill lands among the nodes more often than in the start-up.
inline void take_time() {
  static const long us = [] {
    const char* text = std::getenv("LOOM_TEST_TASK_US");
    return text != nullptr ? std::atol(text) : 0L;
  }();
  if (us > 0) ::usleep(static_cast<useconds_t>(us));
}

/// One link of a chain: its id added to the chain's sum so far.
inline constexpr auto link = loom::task<"link">([](std::int64_t id, std::int64_t previous) -> std::int64_t {
                               take_time();
                               log_execution("link", id);
                               return previous + id;
                             }).with_inputs("id", "previous");

inline constexpr auto total = loom::task<"total">([](std::vector<std::int64_t> ends) -> std::int64_t {
                                log_execution("total", 0);
                                std::int64_t sum = 0;
                                for (const auto e : ends) sum += e;
                                return sum;
                              }).with_inputs("ends");

/// `count` chains of `length` links; the node of link k is dn<k> (ids 0 .. count*length-1
/// in recording order), then one `total` node. The result: the sum of every id.
inline constexpr auto chains = loom::dynamic<"chains">([](loom::dynamic_builder& wf, std::int64_t count,
                                                          std::int64_t length) -> loom::promise<std::int64_t> {
                                 log_execution("chains", count * length);
                                 std::vector<loom::promise<std::int64_t>> ends;
                                 for (std::int64_t c = 0; c < count; ++c) {
                                   auto sum = wf.literal(std::int64_t{0});
                                   for (std::int64_t i = 0; i < length; ++i) sum = wf(link, c * length + i, sum);
                                   ends.push_back(sum);
                                 }
                                 return wf(total, ends);
                               }).with_inputs("count", "length");

/// A map over 0 .. n-1 (each item logged as "item k"), then the total: 3 x n(n-1)/2.
inline constexpr auto item = loom::task<"item">([](std::int64_t k) -> std::int64_t {
                               take_time();
                               log_execution("item", k);
                               return 3 * k;
                             }).with_inputs("k");
inline constexpr auto count_to = loom::task<"count_to">([](std::int64_t n) {
                                   std::vector<std::int64_t> out;
                                   for (std::int64_t k = 0; k < n; ++k) out.push_back(k);
                                   return out;
                                 }).with_inputs("n");
inline constexpr auto mapped_items = loom::workflow<"mapped_items">([](auto& wf, loom::promise<std::int64_t> n) {
                                       return wf(total, wf.map(item, wf(count_to, n)));
                                     }).with_inputs("n");

// ---- A mixed workflow for the kill -9 loop: a dynamic sub-DAG, a map, a wf.when with
// a map in its taken branch, and a task that fails once, then succeeds on its retry. ----

/// Whether "<what> <id>" is in $LOOM_TEST_LOG already (an earlier attempt logged it).
inline bool logged(const char* what, std::int64_t id) {
  const char* path = std::getenv("LOOM_TEST_LOG");
  if (path == nullptr) return false;
  const std::string line = std::string(what) + " " + std::to_string(id);
  std::ifstream in(path);
  for (std::string l; std::getline(in, l);) {
    if (l == line) return true;
  }
  return false;
}

inline constexpr auto is_even = loom::task<"is_even">([](std::int64_t x) { return x % 2 == 0; }).with_inputs("x");

/// One piece of the branch's map (logged as "piece k"): k squared.
inline constexpr auto piece = loom::task<"piece">([](std::int64_t k) -> std::int64_t {
                                take_time();
                                log_execution("piece", k);
                                return k * k;
                              }).with_inputs("k");

/// Fails its first attempt ("flaky-try id" logged), succeeds on the retry ("flaky-ok id").
/// Across a kill the failed attempt stays logged, so a resumed node succeeds at once.
inline constexpr auto flaky = loom::task<"flaky">([](std::int64_t id) -> std::int64_t {
                                if (!logged("flaky-try", id)) {
                                  log_execution("flaky-try", id);
                                  throw std::runtime_error("flaky: the first attempt fails");
                                }
                                log_execution("flaky-ok", id);
                                return id + 1;
                              })
                                  .with_inputs("id")
                                  .with_retries(2);

/// Not logged: used more than once in a run, so a line would not name one node.
inline constexpr auto product = loom::task<"product">([](std::int64_t a, std::int64_t b) { return a * b; })
                                    .with_inputs("a", "b");
inline constexpr auto sum_list = loom::task<"sum_list">([](std::vector<std::int64_t> xs) {
                                   std::int64_t sum = 0;
                                   for (const auto x : xs) sum += x;
                                   return sum;
                                 }).with_inputs("xs");

inline constexpr auto combine = loom::task<"combine">([](std::int64_t a, std::int64_t b, std::int64_t c,
                                                         std::int64_t d) {
                                  log_execution("combine", 0);
                                  return a + b + c + d;
                                }).with_inputs("a", "b", "c", "d");

/// chains(count, length) = S over L = count * length links (a dynamic sub-DAG); a map of
/// item over 0..L-1 (3 S); when S is even, the squares of 0..length-1 through a map,
/// else those of 0..count-1; and flaky(7) = 8, after a retry. The result: their sum.
inline constexpr auto mixed = loom::workflow<"mixed">([](auto& wf, loom::promise<std::int64_t> count,
                                                         loom::promise<std::int64_t> length) {
                                const auto sum = wf(chains, count, length);
                                const auto items = wf(sum_list, wf.map(item, wf(count_to, wf(product, count, length))));
                                const auto squares = wf.when(
                                    wf(is_even, sum),
                                    [&](auto& b) { return b(sum_list, b.map(piece, b(count_to, length))); },
                                    [&](auto& b) { return b(sum_list, b.map(piece, b(count_to, count))); });
                                return wf(combine, sum, items, squares, wf(flaky, 7));
                              }).with_inputs("count", "length");

inline void register_all() {
  loom::register_entities(chains, link, total, item, count_to, mapped_items, is_even, piece, flaky, product, sum_list,
                          combine, mixed);
}

}  // namespace loom_resume_test
