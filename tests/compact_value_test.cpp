// The compact form of a recorded node's outputs (loom/detail/compact_value.hpp): what
// the store gives back for it must be byte for byte the JSON text the value's literal
// encoding dumps to; what has no compact form must say so (the recorder then keeps the
// text); and damaged bytes must be refused with a message that says what and where.
#include <loom/loom.hpp>

#include <catch2/catch.hpp>

#include <nlohmann/json.hpp>

#include "test_values.hpp"

#include <cstdint>
#include <limits>
#include <map>
#include <optional>
#include <random>
#include <string>
#include <tuple>
#include <vector>

namespace {

using loom::detail::compact_to_json_text;
using loom_test::compact_body;
using loom_test::dumped;

template <class T>
void same_text(const T& value) {
  const std::string body = compact_body(value);
  CHECK(loom::detail::is_compact(body));
  CHECK(compact_to_json_text(body) == "{\"o0\":" + dumped(value) + "}");
  // Through the type-erased value, as the executor writes it.
  std::string through_any;
  REQUIRE(loom::detail::any_value::of<T>(value).append_compact(through_any));
  CHECK(through_any == body.substr(body.size() - through_any.size()));
}

template <class T>
void no_compact_form(const T& value) {
  std::string body;
  CHECK_FALSE(loom::detail::compact_of<T>(body, value));
  std::string through_any;
  CHECK_FALSE(loom::detail::any_value::of<T>(value).append_compact(through_any));
}

std::string bytes(std::initializer_list<int> list) {
  std::string out;
  for (const int b : list) out += static_cast<char>(b);
  return out;
}

/// The message compact_to_json_text refuses `body` with.
std::string refusal(const std::string& body) {
  try {
    const std::string text = compact_to_json_text(body);
    FAIL("accepted as " << text);
  } catch (const loom::error& e) {
    return e.what();
  }
  return {};
}

}  // namespace

TEST_CASE("compact values: the store's text is what dumping the literal encoding gives", "[compact][unit]") {
  same_text(true);
  same_text(false);
  same_text(0);
  same_text(-1);
  same_text(std::int64_t{42});
  same_text(std::numeric_limits<std::int64_t>::min());
  same_text(std::numeric_limits<std::int64_t>::max());
  same_text(std::numeric_limits<std::int32_t>::min());
  same_text(std::numeric_limits<std::int16_t>::min());
  same_text(std::numeric_limits<std::uint32_t>::max());
  same_text(std::numeric_limits<std::uint64_t>::max());
  same_text(std::uint16_t{65535});
  same_text(std::string());
  same_text(std::string("plain text, with spaces ~ and {braces}"));
  same_text(std::vector<std::int64_t>{});
  same_text(std::vector<std::int64_t>{0, -1, 1, 127, 128, -128, 16383, 16384, std::numeric_limits<std::int64_t>::min(),
                                      std::numeric_limits<std::int64_t>::max()});
  same_text(std::vector<std::uint64_t>{0, 1, 127, 128, std::numeric_limits<std::uint64_t>::max()});
  same_text(std::vector<int>{3, 1, 4, 1, 5, 9, 2, 6});
  same_text(std::vector<bool>{true, false, true});
  same_text(std::vector<std::string>{"a", "", "b c"});
  same_text(std::vector<std::vector<std::int64_t>>{{1, 2}, {}, {-3}});
  same_text(std::optional<std::int64_t>{});
  same_text(std::optional<std::int64_t>{7});
  same_text(std::optional<std::vector<std::int64_t>>{std::vector<std::int64_t>{1, 2}});
  same_text(std::tuple<std::int64_t, std::string, bool>{-5, "x", true});
  same_text(std::vector<std::optional<std::string>>{std::nullopt, "y"});
}

TEST_CASE("compact values: random lists of integers of every size of varint", "[compact][unit]") {
  std::mt19937_64 random(12345);
  for (int round = 0; round < 200; ++round) {
    std::vector<std::int64_t> list(random() % 64);
    for (auto& n : list) {
      const int bits = static_cast<int>(random() % 64);
      n = static_cast<std::int64_t>(random() >> bits);
      if (random() % 2 != 0) n = -n;
    }
    same_text(list);
  }
}

TEST_CASE("compact values: what json_text_of does not write itself has no compact form", "[compact][unit]") {
  no_compact_form(1.5);
  no_compact_form(std::string("needs \"an escape\""));
  no_compact_form(std::string("a\\b"));
  no_compact_form(std::string("line\nbreak"));
  no_compact_form(std::string("caf\xc3\xa9"));
  no_compact_form(std::vector<std::string>{"ok", "not \"ok\""});
  no_compact_form(std::map<std::string, std::int64_t>{{"a", 1}});
  no_compact_form(std::vector<double>{1.0});
  std::string name;
  CHECK_FALSE(loom::detail::append_compact_name(name, "with \"quotes\""));
}

TEST_CASE("compact values: damaged bytes are refused, naming what and where", "[compact][unit]") {
  const std::string good = compact_body(std::vector<std::int64_t>{1, 2, 300});
  REQUIRE(compact_to_json_text(good) == "{\"o0\":[1,2,300]}");
  // Every cut of a good body is refused (none reads as a shorter value).
  for (std::size_t n = 0; n < good.size(); ++n) {
    INFO("cut to " << n << " bytes");
    CHECK_THROWS_AS(compact_to_json_text(good.substr(0, n)), loom::error);
  }
  CHECK(refusal(good + "x") == "compact value: bytes after the value (at byte " + std::to_string(good.size()) +
                                   " of " + std::to_string(good.size() + 1) + ")");
  CHECK(refusal("{\"o0\":1}").find("does not start with the compact marker") != std::string::npos);
  CHECK(refusal(bytes({0, 0x42})) == "compact value: unknown tag 66 (at byte 1 of 2)");
  CHECK(refusal(bytes({0, 0})) == "compact value: unknown tag 0 (at byte 1 of 2)");
  // A count larger than what follows: refused before anything is reserved for it.
  CHECK(refusal(bytes({0, 7, 0xFF, 0xFF, 0xFF, 0xFF, 0x0F})).find("a list of 4294967295 items in fewer bytes") !=
        std::string::npos);
  CHECK(refusal(bytes({0, 6, 5, 'a', 'b'})).find("a string of 5 bytes runs past the end") != std::string::npos);
  CHECK(refusal(bytes({0, 6, 1, '"'})).find("needs an escape") != std::string::npos);
  CHECK(refusal(bytes({0, 10, 1, 2, 'a', '\\', 1})).find("needs an escape") != std::string::npos);
  // Varints: eleven bytes, or a tenth byte with more than the 64th bit.
  CHECK(refusal(bytes({0, 5, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01}))
            .find("larger than 64 bits") != std::string::npos);
  CHECK(refusal(bytes({0, 5, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x02})).find("larger than 64 bits") !=
        std::string::npos);
  CHECK(compact_to_json_text(bytes({0, 5, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x01})) ==
        "18446744073709551615");
  // Nested lists deeper than any type: refused, not a stack overflow.
  std::string deep(1, '\0');
  for (int i = 0; i < 100000; ++i) deep += bytes({7, 1});
  deep += bytes({1});
  CHECK(refusal(deep).find("nested deeper than") != std::string::npos);
}

TEST_CASE("compact values: random bytes after the marker never crash and give JSON or a refusal", "[compact][unit]") {
  std::mt19937 random(99);
  for (int round = 0; round < 20000; ++round) {
    std::string body(1, '\0');
    const std::size_t n = random() % 24;
    for (std::size_t i = 0; i < n; ++i) body += static_cast<char>(random() % 12);  // (mostly tags and small counts)
    try {
      const std::string text = compact_to_json_text(body);
      INFO(text);
      CHECK_NOTHROW(loom::json::parse(text));
    } catch (const loom::error&) {
    }
  }
}
