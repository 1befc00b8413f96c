// json_text_of (loom/detail/codec.hpp): the literal text of a value written directly
// must be byte for byte what dumping its JSON encoding gives, and it must refuse what it
// cannot write that way (the caller then dumps the JSON). any_value::append_json_text
// is the same with the fallback.
#include <loom/loom.hpp>

#include <catch2/catch.hpp>

#include <nlohmann/json.hpp>

#include "test_values.hpp"

#include <cstdint>
#include <limits>
#include <map>
#include <optional>
#include <string>
#include <tuple>
#include <vector>

namespace {

using loom_test::dumped;

template <class T>
void same_text(const T& value) {
  std::string text = "prefix";
  REQUIRE(loom::detail::json_text_of<T>(text, value));
  CHECK(text == "prefix" + dumped(value));
  std::string through_any = "x";
  loom::detail::any_value::of<T>(value).append_json_text(through_any);
  CHECK(through_any == "x" + dumped(value));
}

template <class T>
void dumped_instead(const T& value) {
  std::string text;
  CHECK_FALSE(loom::detail::json_text_of<T>(text, value));
  std::string through_any = "x";
  loom::detail::any_value::of<T>(value).append_json_text(through_any);
  CHECK(through_any == "x" + dumped(value));  // (the fallback drops what the quick path began)
}

}  // namespace

TEST_CASE("literal text: written directly, it is what the JSON encoding dumps", "[codec]") {
  same_text(true);
  same_text(false);
  same_text(std::int64_t{0});
  same_text(std::int64_t{-17});
  same_text(std::numeric_limits<std::int64_t>::min());
  same_text(std::numeric_limits<std::int64_t>::max());
  same_text(std::numeric_limits<std::uint64_t>::max());
  same_text(std::int32_t{-5});
  same_text(std::string());
  same_text(std::string("Pear and Earth, 42 ~!"));
  same_text(std::vector<std::int64_t>{});
  same_text(std::vector<std::int64_t>{3, -1, 4, 1, 5, 9, 2, 6});
  // (Lists of integers are written in place, in room for the longest numbers: the
  // longest, and many of them.)
  same_text(std::vector<std::int64_t>{std::numeric_limits<std::int64_t>::min(), 0,
                                      std::numeric_limits<std::int64_t>::max()});
  same_text(std::vector<std::uint64_t>{std::numeric_limits<std::uint64_t>::max(), 0, 10});
  same_text(std::vector<std::int32_t>{std::numeric_limits<std::int32_t>::min(), -1});
  std::vector<std::int64_t> many(5000);
  for (std::size_t i = 0; i < many.size(); ++i) many[i] = static_cast<std::int64_t>(i * i) * (i % 2 == 0 ? 1 : -1);
  same_text(many);
  same_text(std::vector<std::int64_t>(3000, std::numeric_limits<std::int64_t>::min()));
  same_text(std::vector<std::string>{"a", "", "b c"});
  same_text(std::vector<std::vector<std::int64_t>>{{1, 2}, {}, {3}});
  same_text(std::vector<bool>{true, false, true});
  same_text(std::optional<std::int64_t>{});
  same_text(std::optional<std::int64_t>{7});
  same_text(std::vector<std::optional<std::string>>{std::nullopt, "x"});
  same_text(std::tuple<std::int64_t, std::string, bool>{1, "two", false});
}

TEST_CASE("literal text: what needs escapes, floats, maps: the JSON is dumped instead", "[codec]") {
  dumped_instead(std::string("a \"quoted\" word"));
  dumped_instead(std::string("back\\slash"));
  dumped_instead(std::string("tab\there"));
  dumped_instead(std::string("caf\xc3\xa9"));
  dumped_instead(2.5);
  dumped_instead(std::vector<double>{1.0, 0.1});
  dumped_instead(std::map<std::string, std::int64_t>{{"a", 1}});
  dumped_instead(std::vector<std::string>{"fine", "not \"fine\""});
  dumped_instead(std::tuple<std::int64_t, double>{1, 0.5});
}
