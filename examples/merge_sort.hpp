// The seed document's second example: merge sort by recursion through dynamic
// workflows. merge_sort decides at run time whether to sort locally or to split;
// merge_sort_remotely splits, sorts both halves with merge_sort (recursion), and merges.
//
//   merge_sort                                                  # a fixed list → sorted
//   merge_sort run merge_sort --numbers '[5,3,1,4,2]' --threshold 2  # → {"o0":[1,2,3,4,5]}
#pragma once

#include <loom/loom.hpp>

#include <algorithm>
#include <cstdint>
#include <iostream>
#include <string>
#include <tuple>
#include <vector>

using numbers_t = std::vector<std::int64_t>;

inline constexpr auto split = loom::task<"split">([](numbers_t numbers) {
  const auto half = static_cast<std::ptrdiff_t>(numbers.size() / 2);
  return std::tuple{numbers_t(numbers.begin(), numbers.begin() + half),
                    numbers_t(numbers.begin() + half, numbers.end())};
});

// Linear time: one pass over both sorted lists (the seed's pop(0) is quadratic).
inline constexpr auto merge = loom::task<"merge">([](numbers_t sorted_list1, numbers_t sorted_list2) {
  numbers_t result;
  result.reserve(sorted_list1.size() + sorted_list2.size());
  std::merge(sorted_list1.begin(), sorted_list1.end(), sorted_list2.begin(), sorted_list2.end(),
             std::back_inserter(result));
  return result;
});

inline constexpr auto sort_locally = loom::task<"sort_locally">([](numbers_t numbers) {
  std::sort(numbers.begin(), numbers.end());
  return numbers;
});

// Mutual recursion: the bodies are functions declared before either entity exists.
loom::promise<numbers_t> merge_sort_body(loom::dynamic_builder& wf, numbers_t numbers, std::int64_t threshold);
loom::promise<numbers_t> merge_sort_remotely_body(loom::dynamic_builder& wf, numbers_t numbers,
                                                  std::int64_t threshold);

inline constexpr auto merge_sort_remotely =
    loom::dynamic<"merge_sort_remotely">(&merge_sort_remotely_body);
inline constexpr auto merge_sort = loom::dynamic<"merge_sort">(&merge_sort_body).with_default<1>(5);

loom::promise<numbers_t> merge_sort_remotely_body(loom::dynamic_builder& wf, numbers_t numbers,
                                                  std::int64_t threshold) {
  auto [split1, split2] = wf(split, numbers);
  auto sorted1 = wf(merge_sort, split1, threshold);
  auto sorted2 = wf(merge_sort, split2, threshold);
  return wf(merge, sorted1, sorted2);
}

loom::promise<numbers_t> merge_sort_body(loom::dynamic_builder& wf, numbers_t numbers, std::int64_t threshold) {
  if (static_cast<std::int64_t>(numbers.size()) <= threshold) return wf(sort_locally, numbers);
  return wf(merge_sort_remotely, numbers, threshold);
}
