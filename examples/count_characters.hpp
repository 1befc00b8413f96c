// The seed document's first example: count the characters two strings have in common
// with a dynamic workflow. The number of nodes depends on the lengths of the strings,
// which are known only at run time: the body runs with the materialized strings and
// records one return_index and one update_list node per character.
//
//   count_characters                                      # the seed's strings → 3
//   count_characters run start_wf --s1 Pear --s2 Earth    # → {"o0": 3}
//   count_characters graph start_wf --s1 Pear --s2 Earth  # the executed DAG (Graphviz DOT)
#pragma once

// The headers this file uses, rather than the umbrella <loom/loom.hpp>: they leave out
// the stores, futures files and <nlohmann/json.hpp>, so a workflow compiles in half the
// time (README, Benchmarks).
#include <loom/cli.hpp>       // loom::main (count_characters.cpp)
#include <loom/dynamic.hpp>   // loom::dynamic
#include <loom/executor.hpp>  // start_wf(): runs on the shared executor
#include <loom/task.hpp>      // loom::task
#include <loom/workflow.hpp>  // loom::workflow, loom::plan_of

#include <algorithm>
#include <cstdint>
#include <iostream>
#include <stdexcept>
#include <string>
#include <vector>

using freq_list_t = std::vector<std::int64_t>;

// The index of a character, where A-Z/a-z is equivalent to 0-25.
inline constexpr auto return_index = loom::task<"return_index">([](std::string character) -> std::int64_t {
  const char c = character.at(0);
  if (c >= 'a' && c <= 'z') return c - 'a';
  if (c >= 'A' && c <= 'Z') return c - 'A';
  throw std::invalid_argument("return_index: '" + character + "' is not a letter A-Z or a-z");
});

// Counts one more occurrence of the character at list_index.
inline constexpr auto update_list = loom::task<"update_list">([](freq_list_t freq_list, std::int64_t list_index) {
  freq_list.at(static_cast<std::size_t>(list_index)) += 1;
  return freq_list;
});

// The number of common characters, given the two frequency lists.
inline constexpr auto derive_count = loom::task<"derive_count">([](freq_list_t freq1, freq_list_t freq2) {
  std::int64_t count = 0;
  for (std::size_t i = 0; i < 26; ++i) count += std::min(freq1.at(i), freq2.at(i));
  return count;
});

inline constexpr auto count_characters = loom::dynamic<"count_characters">(
    [](loom::dynamic_builder& wf, std::string s1, std::string s2) -> loom::promise<std::int64_t> {
      // s1 and s2 are materialized here; every task call below is deferred.
      auto freq1 = wf.literal(freq_list_t(26, 0));
      auto freq2 = wf.literal(freq_list_t(26, 0));
      for (const char c : s1) {
        const auto index = wf(return_index, std::string(1, c));
        freq1 = wf(update_list, freq1, index);  // index and freq1 are promises
      }
      for (const char c : s2) {
        const auto index = wf(return_index, std::string(1, c));
        freq2 = wf(update_list, freq2, index);
      }
      return wf(derive_count, freq1, freq2);
    });

// A static workflow that triggers the dynamic one: one node in its plan.
inline constexpr auto start_wf =
    loom::workflow<"start_wf">([](auto& wf, loom::promise<std::string> s1, loom::promise<std::string> s2) {
      return wf(count_characters, s1, s2);
    })
        .with_default<0>("Pear")
        .with_default<1>("Earth");

static_assert(loom::plan_of(start_wf).size() == 1);
