// Tasks and workflows shared by several test translation units.
#pragma once

#include <loom/loom.hpp>

#include <cstdint>
#include <stdexcept>
#include <string>
#include <tuple>
#include <vector>

namespace loom_test {

using int_list = std::vector<std::int64_t>;

inline constexpr auto add = loom::task<"add">([](std::int64_t a, std::int64_t b) { return a + b; });
inline constexpr auto mul = loom::task<"mul">([](std::int64_t a, std::int64_t b) { return a * b; });
inline constexpr auto sub = loom::task<"sub">([](std::int64_t a, std::int64_t b) { return a - b; });
inline constexpr auto concat =
    loom::task<"concat">([](const std::string& a, const std::string& b) { return a + b; });
inline constexpr auto split = loom::task<"split_in_halves">([](int_list v) {
  const auto mid = v.begin() + static_cast<std::ptrdiff_t>(v.size() / 2);
  return std::tuple{int_list(v.begin(), mid), int_list(mid, v.end())};
});
inline constexpr auto total = loom::task<"total">([](const int_list& v) {
  std::int64_t s = 0;
  for (auto x : v) s += x;
  return s;
});
inline constexpr auto fail_with = loom::task<"fail_with">([](std::string message) -> std::int64_t {
  throw std::runtime_error(message);
});

}  // namespace loom_test
