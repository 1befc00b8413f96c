// The seed document's examples, checked against plain C++ on many inputs.
#include <catch2/catch.hpp>

#include <algorithm>
#include <random>

#include <loom/loom.hpp>  // (the example includes only what it uses)
#include "../examples/count_characters.hpp"
#include "../examples/merge_sort.hpp"

namespace {
std::int64_t common_characters(const std::string& a, const std::string& b) {
  std::array<std::int64_t, 26> fa{}, fb{};
  for (char c : a) ++fa[static_cast<std::size_t>(std::tolower(c) - 'a')];
  for (char c : b) ++fb[static_cast<std::size_t>(std::tolower(c) - 'a')];
  std::int64_t n = 0;
  for (std::size_t i = 0; i < 26; ++i) n += std::min(fa[i], fb[i]);
  return n;
}
std::string random_letters(std::mt19937& rng, std::size_t n) {
  static const std::string letters = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";
  std::string s;
  for (std::size_t i = 0; i < n; ++i) s += letters[rng() % letters.size()];
  return s;
}
}  // namespace

TEST_CASE("count_characters gives the seed's result", "[seed]") {
  CHECK(start_wf("Pear", "Earth") == 3);
  CHECK(start_wf() == 3);  // the defaults are the seed's strings
  CHECK(count_characters("Pear", "Earth") == 3);
}

TEST_CASE("count_characters is right on any input", "[seed]") {
  std::mt19937 rng(7);
  for (std::size_t len : {0, 1, 2, 17, 300}) {
    const auto a = random_letters(rng, len);
    const auto b = random_letters(rng, len / 2 + 3);
    CHECK(start_wf(a, b) == common_characters(a, b));
  }
  CHECK_THROWS_WITH(start_wf("a1", "b"), Catch::Contains("return_index") && Catch::Contains("'1' is not a letter"));
}

TEST_CASE("merge_sort sorts by recursion through dynamic workflows", "[seed]") {
  std::mt19937 rng(11);
  for (std::size_t len : {0, 1, 2, 5, 6, 31, 1000}) {
    numbers_t numbers(len);
    for (auto& x : numbers) x = static_cast<std::int64_t>(rng() % 1000) - 500;
    auto expected = numbers;
    std::sort(expected.begin(), expected.end());
    CHECK(merge_sort(numbers) == expected);  // the default threshold, 5
    CHECK(merge_sort(numbers, 1) == expected);
    CHECK(merge_sort(numbers, 64) == expected);
  }
}
