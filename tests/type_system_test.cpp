// The type system: descriptors and the literal encoding, with round-trips and errors.
#include <loom/literal.hpp>

#include <boost/hana/adapt_struct.hpp>
#include <boost/hana/define_struct.hpp>
#include <catch2/catch.hpp>

#include <cmath>
#include <map>
#include <optional>

namespace geo {
struct point {
  BOOST_HANA_DEFINE_STRUCT(point, (double, x), (double, y));
  friend bool operator==(const point&, const point&) = default;
};
struct shape {
  std::string name;
  std::vector<point> corners;
  std::optional<std::string> colour;
  friend bool operator==(const shape&, const shape&) = default;
};
}  // namespace geo
BOOST_HANA_ADAPT_STRUCT(geo::shape, name, corners, colour);

TEST_CASE("descriptors print and compare", "[types]") {
  CHECK(loom::describe<std::int64_t>().to_string() == "integer");
  CHECK(loom::describe<int>() == loom::describe<std::int64_t>());
  CHECK(loom::describe<std::vector<std::int64_t>>().to_string() == "list<integer>");
  CHECK(loom::describe<std::map<std::string, std::optional<double>>>().to_string() ==
        "map<string, optional<float>>");
  CHECK(loom::describe<std::tuple<bool, std::string>>().to_string() == "tuple<boolean, string>");
  CHECK(loom::describe<geo::shape>().to_string() ==
        "shape{name: string, corners: list<point{x: float, y: float}>, colour: optional<string>}");
  CHECK_FALSE(loom::describe<std::vector<std::int64_t>>() == loom::describe<std::vector<double>>());
}

TEST_CASE("values round-trip through their literal encoding", "[types]") {
  const geo::shape s{"square", {{0, 0}, {0, 1.5}, {1.5, 1.5}, {1.5, 0}}, std::nullopt};
  CHECK(loom::from_literal<geo::shape>(loom::to_literal(s)) == s);
  const std::map<std::string, std::vector<std::optional<std::int64_t>>> m{{"a", {1, std::nullopt}}, {"b", {}}};
  CHECK(loom::from_literal<std::remove_const_t<decltype(m)>>(loom::to_literal(m)) == m);
  const std::tuple<bool, std::string, double> t{true, "x", -2.5};
  CHECK(loom::from_literal<std::remove_const_t<decltype(t)>>(loom::to_literal(t)) == t);
  CHECK(std::isnan(loom::from_literal<double>(loom::to_literal(std::nan("")))));
  CHECK(loom::from_literal<double>(loom::to_literal(-INFINITY)) == -INFINITY);
  CHECK(loom::to_literal(std::vector<std::int64_t>{1, 2}).dump() == "[1,2]");
}

TEST_CASE("decoding the wrong shape names the path and both types", "[types]") {
  CHECK_THROWS_WITH(loom::from_literal<std::vector<std::int64_t>>(loom::json::parse(R"([1, 2, 3, "x"])"), "freq_list"),
                    "freq_list[3]: expected integer, got string");
  CHECK_THROWS_WITH(loom::from_literal<geo::shape>(loom::json::parse(R"({"name": "s", "corners": [{"x": 1, "y": true}]})"),
                                                   "s"),
                    "s.corners[0].y: expected float, got boolean");
  CHECK_THROWS_WITH(loom::from_literal<geo::point>(loom::json::parse(R"({"x": 1})"), "p"),
                    "p.y: missing field (expected float)");
  CHECK_THROWS_WITH(loom::from_literal<geo::point>(loom::json::parse(R"({"x": 1, "y": 2, "z": 3})"), "p"),
                    Catch::Contains("unknown field 'z'"));
  using flags = std::map<std::string, bool>;
  CHECK_THROWS_WITH(loom::from_literal<flags>(loom::json::parse(R"({"k": 1})"), "m"),
                    "m[\"k\"]: expected boolean, got integer");
  CHECK_THROWS_WITH(loom::from_literal<std::int32_t>(loom::json::parse("5000000000"), "n"),
                    Catch::Contains("out of range"));
  using pair = std::tuple<bool, bool>;
  CHECK_THROWS_AS(loom::from_literal<pair>(loom::json::parse("[true]")), loom::literal_error);
}
