// Tasks and workflows of the process-backend tests (one process per node): workflows
// whose results must not depend on the backend, and tasks that misbehave the ways a
// node process can (abort, segfault, SIGKILL, exit(3), exit(0) with nothing or garbage
// written, a dynamic body that dies). The misbehaving ones must only ever run in a node
// process. Shared by loom_process_tests and the workflow binary loom_process_tasks.
#pragma once

#include "../examples/count_characters.hpp"
#include "../examples/merge_sort.hpp"
#include "test_tasks.hpp"

#include <loom/loom.hpp>
#include <loom/object_store.hpp>

#include <chrono>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

#include <time.h>
#include <unistd.h>

namespace loom_process_test {

using loom::promise;
using namespace loom_test;

// ---- Workflows whose results must not depend on the backend. ----

inline constexpr auto square = loom::task<"p_square">([](std::int64_t x) { return x * x; }).with_inputs("x");
inline constexpr auto to_text = loom::task<"p_to_text">([](std::int64_t x) { return std::to_string(x); });
inline constexpr auto join = loom::task<"p_join">([](std::vector<std::string> parts) {
  std::string out;
  for (const auto& p : parts) out += (out.empty() ? "" : ",") + p;
  return out;
});
inline constexpr auto sum_map = loom::task<"p_sum_map">([](std::map<std::string, std::int64_t> m) {
  std::int64_t s = 0;
  for (const auto& [k, v] : m) s += v * static_cast<std::int64_t>(k.size());
  return s;
});
inline constexpr auto third = loom::task<"p_third">([](double x) { return x / 3.0; });
inline constexpr auto reversed = loom::task<"p_reversed">([](int_list v) { return int_list(v.rbegin(), v.rend()); });
inline constexpr auto maybe_half =
    loom::task<"p_maybe_half">([](std::int64_t x) -> std::optional<std::int64_t> {
      if (x % 2 != 0) return std::nullopt;
      return x / 2;
    });

// A static workflow of tasks with several outputs (split: a tuple), strings and doubles.
inline constexpr auto arithmetic = loom::workflow<"p_arithmetic">(
    [](auto& wf, promise<std::int64_t> a, promise<std::int64_t> b, promise<int_list> list) {
      auto [first, second] = wf(loom_test::split, list);
      return std::tuple{wf(add, wf(mul, a, b), wf(sub, a, b)), wf(total, first), wf(total, second),
                        wf(concat, wf(to_text, a), "\"quoted\"\n\u00e9")};
    }).with_inputs("a", "b", "list");

inline constexpr auto squares = loom::dynamic<"p_squares">([](loom::dynamic_builder& wf, std::int64_t n) {
  std::vector<promise<std::int64_t>> results;
  for (std::int64_t i = 0; i < n; ++i) results.push_back(wf(square, i));
  return results;
}).with_inputs("n");

inline constexpr auto labelled = loom::dynamic<"p_labelled">([](loom::dynamic_builder& wf, std::int64_t x) {
  return wf(join, std::vector{wf(to_text, x), wf.literal(std::string("static")), wf(to_text, wf(square, x))});
});

inline constexpr auto keyed =
    loom::dynamic<"p_keyed">([](loom::dynamic_builder& wf, std::vector<std::string> keys) {
      std::map<std::string, promise<std::int64_t>> by_key;
      for (std::size_t i = 0; i < keys.size(); ++i) by_key[keys[i]] = wf(square, static_cast<std::int64_t>(i + 1));
      return std::tuple{by_key, wf(sum_map, by_key)};
    }).with_inputs("keys");

inline constexpr auto no_nodes = loom::dynamic<"p_no_nodes">([](loom::dynamic_builder& wf, std::int64_t x) {
  return wf.literal(x * 2);
});

// Nesting in both directions: static → dynamic → static → dynamic.
inline constexpr auto sum_of_squares = loom::workflow<"p_sum_of_squares">([](auto& wf, promise<std::int64_t> n) {
  return wf(total, wf(squares, n));
});
inline constexpr auto twice_sum = loom::dynamic<"p_twice_sum">([](loom::dynamic_builder& wf, std::int64_t n) {
  const auto s = wf(sum_of_squares, n);
  return wf(add, s, s);
});
inline constexpr auto outer_static = loom::workflow<"p_outer_static">([](auto& wf, promise<std::int64_t> n) {
  return wf(twice_sum, n);
});

// A wf.when, with a map in one branch: n > 0 sums the squares of 1..n (each square an
// item of the map), otherwise gives -n; then adds one.
inline constexpr auto is_positive = loom::task<"p_is_positive">([](std::int64_t x) { return x > 0; });
inline constexpr auto one_to = loom::task<"p_one_to">([](std::int64_t n) {
  int_list out;
  for (std::int64_t i = 1; i <= n; ++i) out.push_back(i);
  return out;
});
inline constexpr auto branched = loom::workflow<"p_branched">([](auto& wf, promise<std::int64_t> n) {
  const auto chosen = wf.when(
      wf(is_positive, n), [&](auto& b) { return b(total, b.map(square, b(one_to, n))); },
      [&](auto& b) { return b(sub, 0, n); });
  return wf(add, chosen, 1);
});

// A partial map whose items 3, 7, 11, ... fail (the numbers 1..n: items 2, 6, 10, ...).
inline constexpr auto picky = loom::task<"p_picky">([](std::int64_t x) {
  if (x % 4 == 3) throw std::runtime_error("no threes: " + std::to_string(x));
  return x * 100;
});
inline constexpr auto picky_map = loom::workflow<"p_picky_map">([](auto& wf, promise<std::int64_t> n) {
  return wf.map(picky, wf(one_to, n), loom::partial_map_options{.min_success_ratio = 0.5});
});

inline constexpr auto picky_all = loom::workflow<"p_picky_all">([](auto& wf, promise<std::int64_t> n) {
  return wf.map(picky, wf(one_to, n));  // a whole map: item 2 (the number 3) fails it
});
// Item 2 takes 3 s, over its 100 ms timeout; the others are quick.
inline constexpr auto sometimes_slow = loom::task<"p_sometimes_slow">([](std::int64_t x) {
                                         if (x == 2) std::this_thread::sleep_for(std::chrono::seconds(3));
                                         return x;
                                       }).with_timeout(std::chrono::milliseconds(100));
inline constexpr auto timed_items = loom::workflow<"p_timed_items">([](auto& wf, promise<std::int64_t> n) {
  return wf.map(sometimes_slow, wf(one_to, n), loom::partial_map_options{.min_success_ratio = 0.5});
});
// Which process ran each item of a map.
inline constexpr auto pid_of = loom::task<"p_pid_of">([](std::int64_t) { return static_cast<std::int64_t>(::getpid()); });
inline constexpr auto pids_of_items = loom::workflow<"p_pids_of_items">([](auto& wf, promise<std::int64_t> n) {
  return wf.map(pid_of, wf(one_to, n));
});

loom::promise<std::int64_t> countdown_body(loom::dynamic_builder& wf, std::int64_t n);
inline constexpr auto countdown = loom::dynamic<"p_countdown">(&countdown_body);
inline loom::promise<std::int64_t> countdown_body(loom::dynamic_builder& wf, std::int64_t n) {
  if (n == 0) return wf.literal(std::int64_t{0});
  return wf(add, wf(countdown, n - 1), 1);
}

// Values of every kind, and a literal big enough to go to the store by reference.
inline constexpr auto values = loom::dynamic<"p_values">([](loom::dynamic_builder& wf, std::int64_t n) {
  int_list big(static_cast<std::size_t>(n));
  for (std::int64_t i = 0; i < n; ++i) big[static_cast<std::size_t>(i)] = i * 7 - 3;
  auto back = wf(reversed, wf.literal(big));
  return std::tuple{back, wf(total, back), wf(third, wf.literal(1.0)), wf(maybe_half, wf.literal(n)),
                    wf(maybe_half, wf.literal(n + 1))};
});

// ---- Tasks that misbehave: only ever in a node process. ----

inline constexpr auto crash_abort = loom::task<"crash_abort">([](std::int64_t x) -> std::int64_t {
  std::fprintf(stderr, "crash_abort: about to abort\n");
  std::abort();
  return x;
});
inline constexpr auto crash_segv = loom::task<"crash_segv">([](std::int64_t x) -> std::int64_t {
  std::raise(SIGSEGV);
  return x;
});
inline constexpr auto crash_kill = loom::task<"crash_kill">([](std::int64_t x) -> std::int64_t {
  std::raise(SIGKILL);
  return x;
});
inline constexpr auto exit_three = loom::task<"exit_three">([](std::int64_t x) -> std::int64_t {
  std::fprintf(stderr, "exit_three: the disk is on fire, giving up\n");
  std::fflush(stderr);
  std::_Exit(3);
  return x;
});
inline constexpr auto exit_silently = loom::task<"exit_silently">([](std::int64_t x) -> std::int64_t {
  std::_Exit(0);
  return x;
});

/// The value of `--flag` in this process's command line (a node process's request).
inline std::string own_argument(const std::string& flag) {
  std::ifstream in("/proc/self/cmdline", std::ios::binary);
  std::vector<std::string> args;
  std::string arg;
  while (std::getline(in, arg, '\0')) args.push_back(arg);
  for (std::size_t i = 0; i + 1 < args.size(); ++i) {
    if (args[i] == flag) return args[i + 1];
  }
  return {};
}

/// Writes `bytes` where this node process's outputs belong, then exits 0.
[[noreturn]] inline void write_outputs_and_exit(const std::string& bytes) {
  loom::object_store(own_argument("--store")).put(own_argument("--outputs"), bytes);
  std::_Exit(0);
}

inline constexpr auto write_garbage = loom::task<"write_garbage">([](std::int64_t x) -> std::int64_t {
  write_outputs_and_exit("{\"o0\": not json");
  return x;
});
inline constexpr auto write_wrong_type = loom::task<"write_wrong_type">([](std::int64_t x) -> std::int64_t {
  write_outputs_and_exit("{\"o0\": \"seven\"}");
  return x;
});

inline constexpr auto dies_in_body = loom::dynamic<"dies_in_body">([](loom::dynamic_builder& wf, std::int64_t x) {
  if (x > 0) {
    std::fprintf(stderr, "dies_in_body: the body aborts\n");
    std::abort();
  }
  return wf(add, x, 1);
});

// A static workflow around a misbehaving node: the failure is n1, after n0 (add).
inline constexpr auto abort_in_workflow =
    loom::workflow<"abort_in_workflow">([](auto& wf, promise<std::int64_t> x) {
      return wf(crash_abort, wf(add, x, 1));
    });
inline constexpr auto body_dies_in_workflow =
    loom::workflow<"body_dies_in_workflow">([](auto& wf, promise<std::int64_t> x) {
      return wf(add, wf(dies_in_body, x), 1);
    });

// ---- Time and concurrency: what ran when, recorded in files. ----

inline std::int64_t monotonic_ns() {
  timespec t{};
  clock_gettime(CLOCK_MONOTONIC, &t);  // one clock for every process of the machine
  return static_cast<std::int64_t>(t.tv_sec) * 1'000'000'000 + t.tv_nsec;
}

/// Sleeps `ms`, and records in `dir` its pid and when it started and ended.
inline constexpr auto hold = loom::task<"hold">([](std::string dir, std::int64_t ms, std::int64_t id) {
  const auto start = monotonic_ns();
  std::this_thread::sleep_for(std::chrono::milliseconds(ms));
  const auto end = monotonic_ns();
  std::ofstream(dir + "/hold-" + std::to_string(id)) << ::getpid() << ' ' << start << ' ' << end << '\n';
  return id;
}).with_inputs("dir", "ms", "id");

// ---- Timeouts and retries across processes. ----

/// Sleeps, writing its pid to DIR/sleeper-pid first; over its timeout it is killed.
inline constexpr auto sleeper = loom::task<"sleeper">([](std::string dir, std::int64_t ms) {
                                  std::ofstream(dir + "/sleeper-pid") << ::getpid() << '\n';
                                  std::this_thread::sleep_for(std::chrono::milliseconds(ms));
                                  return ms;
                                })
                                    .with_inputs("dir", "ms")
                                    .with_timeout(std::chrono::milliseconds(300));

/// Fails (exit by exception) until DIR/attempts holds `failures` lines, one per attempt;
/// each attempt runs in a process of its own, so the count lives in a file.
inline constexpr auto flaky_process = loom::task<"flaky_process">([](std::string dir, std::int64_t failures) {
                                        const std::string file = dir + "/attempts";
                                        std::int64_t seen = 0;
                                        {
                                          std::ifstream in(file);
                                          std::string line;
                                          while (std::getline(in, line)) ++seen;
                                        }
                                        std::ofstream(file, std::ios::app) << ::getpid() << '\n';
                                        if (seen < failures) throw std::runtime_error("attempt " + std::to_string(seen + 1) + " fails");
                                        return seen + 1;
                                      })
                                          .with_inputs("dir", "failures")
                                          .with_retries(3, {.initial = std::chrono::milliseconds(5)});

inline constexpr auto holds = loom::dynamic<"holds">(
    [](loom::dynamic_builder& wf, std::string dir, std::int64_t n, std::int64_t ms) {
      std::vector<promise<std::int64_t>> ids;
      for (std::int64_t i = 0; i < n; ++i) ids.push_back(wf(hold, dir, ms, i));
      return ids;
    }).with_inputs("dir", "n", "ms");

// Slow nodes in flight when another one is killed: the run must wait for them.
inline constexpr auto killed_among_slow = loom::dynamic<"killed_among_slow">(
    [](loom::dynamic_builder& wf, std::string dir, std::int64_t ms) {
      std::vector<promise<std::int64_t>> ids;
      ids.push_back(wf(hold, dir, ms, 0));
      ids.push_back(wf(crash_kill, std::int64_t{1}));
      ids.push_back(wf(hold, dir, ms, 2));
      return ids;
    }).with_inputs("dir", "ms");

// ---- The fork server: who started a node process, and what becomes of the server. ----

/// "PPID COMMAND LINE OF PPID" (its arguments joined by spaces): the process that
/// started this node's.
inline std::string parent_of_this_process() {
  const long parent = static_cast<long>(::getppid());
  std::ifstream in("/proc/" + std::to_string(parent) + "/cmdline", std::ios::binary);
  std::string command;
  for (std::string arg; std::getline(in, arg, '\0');) command += arg + " ";
  return std::to_string(parent) + " " + command;
}
inline constexpr auto parent_process = loom::task<"p_parent_process">([](std::int64_t) {
  return parent_of_this_process();
});
inline constexpr auto parent_processes =
    loom::dynamic<"p_parent_processes">([](loom::dynamic_builder& wf, std::int64_t n) {
      std::vector<promise<std::string>> parents;
      for (std::int64_t i = 0; i < n; ++i) parents.push_back(wf(parent_process, i));
      return parents;
    }).with_inputs("n");

/// The value of the environment variable NAME in the node's process, "<unset>" when none.
inline constexpr auto env_of = loom::task<"p_env_of">([](std::string name) {
  const char* value = std::getenv(name.c_str());
  return value != nullptr ? std::string(value) : std::string("<unset>");
});

/// The first attempt (none recorded in DIR/attempts yet) is killed (SIGKILL); the second
/// says who started it, as parent_process does. Each attempt records its pid.
inline constexpr auto killed_once = loom::task<"p_killed_once">([](std::string dir) {
                                      const std::string file = dir + "/attempts";
                                      const bool first = !std::ifstream(file).good();
                                      std::ofstream(file, std::ios::app) << ::getpid() << '\n';
                                      if (first) std::raise(SIGKILL);
                                      return parent_of_this_process();
                                    })
                                        .with_inputs("dir")
                                        .with_retries(1, {.initial = std::chrono::milliseconds(1)});
/// Says `text` on stderr; its length. (With nodes in turn, its output stays its own.)
inline constexpr auto says = loom::task<"p_says">([](std::string text) {
  std::fprintf(stderr, "%s\n", text.c_str());
  std::fflush(stderr);
  return static_cast<std::int64_t>(text.size());
});
/// A node that speaks, then one that exits 3 (exit_three), one after the other.
inline constexpr auto chatter_then_exit = loom::dynamic<"p_chatter_then_exit">(
    [](loom::dynamic_builder& wf, std::string text) { return wf(exit_three, wf(says, text)); }).with_inputs("text");

/// A node killed once (retried), beside a node that lives: both say who started them.
inline constexpr auto crash_beside = loom::dynamic<"p_crash_beside">([](loom::dynamic_builder& wf, std::string dir) {
  return std::vector{wf(parent_process, std::int64_t{0}), wf(killed_once, dir)};
}).with_inputs("dir");

/// Kills the process that started it, unless that is `driver` (a spawned node's parent
/// is the run's own process) or DIR/killed-server exists; then says who started it.
inline std::string kill_parent_unless(const std::string& dir, std::int64_t driver) {
  const std::string marker = dir + "/killed-server";
  if (static_cast<std::int64_t>(::getppid()) != driver && !std::ifstream(marker).good()) {
    std::ofstream(marker) << ::getppid() << '\n';
    std::fprintf(stderr, "kill_fork_server: killing my parent\n");
    std::fflush(stderr);
    ::kill(::getppid(), SIGKILL);
    std::this_thread::sleep_for(std::chrono::seconds(30));  // killed with it
  }
  return parent_of_this_process();
}
inline constexpr auto kill_fork_server = loom::task<"p_kill_fork_server">([](std::string dir, std::int64_t driver) {
                                           return kill_parent_unless(dir, driver);
                                         }).with_inputs("dir", "driver");
inline constexpr auto kill_fork_server_retried =
    loom::task<"p_kill_fork_server_retried">([](std::string dir, std::int64_t driver) {
      return kill_parent_unless(dir, driver);
    })
        .with_inputs("dir", "driver")
        .with_retries(1, {.initial = std::chrono::milliseconds(1)});

/// Every entity above, registered: node processes find their task by name, and the
/// parent finds the entities a futures file names.
inline void register_all() {
  loom::register_entities(start_wf, count_characters, return_index, update_list, derive_count);
  loom::register_entities(merge_sort, merge_sort_remotely, ::split, merge, sort_locally);
  loom::register_entities(add, mul, sub, concat, loom_test::split, total, fail_with);
  loom::register_entities(square, to_text, join, sum_map, third, reversed, maybe_half, arithmetic, squares, labelled,
                          keyed, no_nodes, sum_of_squares, twice_sum, outer_static, countdown, values, is_positive,
                          one_to, branched, picky, picky_map, picky_all, pid_of, pids_of_items,
                          sometimes_slow, timed_items);
  loom::register_entities(crash_abort, crash_segv, crash_kill, exit_three, exit_silently, write_garbage,
                          write_wrong_type, dies_in_body, abort_in_workflow, body_dies_in_workflow, hold, holds,
                          killed_among_slow, sleeper, flaky_process);
  loom::register_entities(parent_process, parent_processes, env_of, killed_once, crash_beside, kill_fork_server,
                          kill_fork_server_retried, says, chatter_then_exit);
}

}  // namespace loom_process_test
