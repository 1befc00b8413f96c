// The serializers loom-codegen generates (loom_tests is built with loom_generate):
// random values of plain structs nested three deep, enums, optionals, maps and tuples
// survive to_literal → text → from_literal; bad literals are rejected with their path;
// the interfaces carry parameter names and default arguments; entities run by name.
#include <catch2/catch.hpp>

#include <random>
#include <sstream>

#include "codegen/samples/records.hpp"

namespace {

using namespace samples;

class value_source {
 public:
  explicit value_source(std::uint32_t seed) : rng_(seed) {}

  std::int64_t integer() { return std::uniform_int_distribution<std::int64_t>(-1'000'000'000'000, 1'000'000'000'000)(rng_); }
  bool coin() { return std::bernoulli_distribution(0.5)(rng_); }
  std::size_t count(std::size_t max) { return std::uniform_int_distribution<std::size_t>(0, max)(rng_); }
  std::string text() {
    std::string s(count(6), 'a');
    for (char& c : s) c = static_cast<char>(std::uniform_int_distribution<int>(32, 126)(rng_));  // quotes, backslashes
    return s;
  }
  colour tint() { return static_cast<colour>(count(2)); }
  shade tone() { return coin() ? light : dark; }

  depth3 d3() { return {integer(), coin() ? std::optional<std::string>(text()) : std::nullopt, tint()}; }
  depth2 d2() {
    depth2 d;
    for (std::size_t i = count(4); i > 0; --i) d.items.push_back(d3());
    for (std::size_t i = count(3); i > 0; --i) d.by_name[text()] = d3();
    d.weight = std::uniform_real_distribution<double>(-1e6, 1e6)(rng_);
    return d;
  }
  depth1 d1() {
    depth1 d;
    d.inner = d2();
    if (coin()) d.spare = d2();
    d.pair = {integer(), tone()};
    d.flag = coin();
    return d;
  }

 private:
  std::mt19937 rng_;
};

template <class T>
T round_trip(const T& value) {
  const std::string text = loom::to_literal(value).dump();
  return loom::from_literal<T>(loom::json::parse(text));
}

std::string decode_error(const loom::json& literal) {
  try {
    (void)loom::from_literal<depth1>(literal, "d");
  } catch (const loom::literal_error& e) {
    return e.what();
  }
  return "(no error)";
}

loom::json valid_depth1() {
  depth1 d{};
  d.flag = true;
  return loom::to_literal(d);
}

}  // namespace

TEST_CASE("generated serializers round-trip random nested values", "[codegen]") {
  value_source source(20261126);
  for (int i = 0; i < 300; ++i) {
    const depth1 value = source.d1();
    REQUIRE(round_trip(value) == value);
  }
  CHECK(round_trip(colour::blue) == colour::blue);
  CHECK(round_trip(dark) == dark);
  CHECK(round_trip(hana_point{3, -4}) == hana_point{3, -4});
}

TEST_CASE("generated encodings: fields by name, enums by enumerator name", "[codegen]") {
  const depth3 item{7, std::nullopt, colour::blue};
  CHECK(loom::to_literal(item) == loom::json::parse(R"({"id": 7, "label": null, "tint": "blue"})"));
  CHECK(loom::to_literal(std::tuple<std::int64_t, shade>{1, dark}) == loom::json::parse(R"([1, "dark"])"));
  // A field with a default member initializer may be absent; `flag` has none.
  CHECK(loom::from_literal<depth3>(loom::json::object()) == depth3{});
  CHECK_THAT(decode_error(loom::json::object()), Catch::Contains("d.flag: missing field (expected boolean)"));
}

TEST_CASE("generated descriptors name records, fields and enumerators", "[codegen]") {
  CHECK(loom::describe<depth3>().to_string() ==
        "depth3{id: integer, label: optional<string>, tint: enum colour{red, green, blue}}");
  CHECK(loom::describe<shade>().to_json() == loom::json::parse(R"({"enum": "shade", "values": ["light", "dark"]})"));
  const auto& d1 = loom::describe<depth1>();
  CHECK(loom::type_descriptor::from_json(d1.to_json()) == d1);
  CHECK(d1.field_names() == std::vector<std::string>{"inner", "spare", "pair", "flag"});
}

TEST_CASE("generated decoders reject bad literals with the path of the problem", "[codegen]") {
  auto with = [](const char* pointer, loom::json value) {
    loom::json j = valid_depth1();
    j[loom::json::json_pointer(pointer)] = std::move(value);
    return decode_error(j);
  };
  CHECK_THAT(with("/inner/items", loom::json::parse(R"([{"id": 1, "tint": "purple"}])")),
             Catch::Contains("d.inner.items[0].tint: 'purple' is not an enumerator of colour (one of red, green, blue)"));
  CHECK_THAT(with("/inner/by_name", loom::json::parse(R"({"k": {"id": "x"}})")),
             Catch::Contains("d.inner.by_name[\"k\"].id: expected integer, got string"));
  CHECK_THAT(with("/inner/extra", 1), Catch::Contains("unknown field 'extra' for depth2"));
  CHECK_THAT(with("/pair", loom::json::parse(R"([1, 2])")), Catch::Contains("d.pair[1]: expected enum shade"));
  CHECK_THAT(decode_error(loom::json::array()), Catch::Contains("d: expected depth1{"));
  CHECK_THROWS_WITH(loom::to_literal(static_cast<colour>(42)), Catch::Contains("value 42 of enum colour has no enumerator name"));
}

TEST_CASE("generated interfaces: parameter names, default arguments, versions", "[codegen]") {
  loom::register_entities(pipeline, recolour_all);
  const auto* info = loom::detail::registry::global().find("summarise");
  REQUIRE(info != nullptr);
  std::vector<std::string> names;
  for (const auto& p : info->interface.inputs) names.push_back(p.name);
  CHECK(names == std::vector<std::string>{"d", "limit", "prefix", "verbose"});
  REQUIRE(info->defaults[1] != nullptr);
  CHECK(info->defaults[1](info->entity).get<std::int64_t>() == 10);
  CHECK(info->defaults[2](info->entity).get<std::string>() == "item-");
  CHECK(info->defaults[0] == nullptr);
  CHECK(loom::detail::registry::global().find("recolour")->version == "2.1");
  const auto* dyn = loom::detail::registry::global().find("recolour_all");  // a function pointer's parameters
  REQUIRE(dyn != nullptr);
  CHECK(dyn->interface.inputs[1].name == "to");
}

TEST_CASE("entities with plain structs run by name with named inputs and defaults", "[codegen]") {
  loom::register_entities(pipeline, recolour_all);
  auto run = [](std::vector<std::string> args) {
    args.insert(args.begin(), "binary");
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    std::ostringstream out, err;
    const int code = loom::run_command_line(static_cast<int>(argv.size()), argv.data(), out, err);
    return std::tuple{code, out.str(), err.str()};
  };
  auto out_of = [&](std::vector<std::string> args) {
    const auto [code, out, err] = run(std::move(args));
    INFO(err);
    CHECK(code == 0);
    return out;
  };
  const std::string d = R"({"inner": {"items": [{"id": 1}, {"id": 2, "label": "b"}]}, "flag": true})";
  CHECK(out_of({"run", "summarise", "--d", d}) == "{\"o0\":2,\"o1\":[\"item-1\",\"item-b\"]}\n");
  CHECK(out_of({"run", "summarise", "--d", d, "--limit", "1", "--verbose", "true"}) ==
        "{\"o0\":2,\"o1\":[\"item-1!\"]}\n");
  CHECK(out_of({"run", "recolour_all", "--d", R"({"items": [{"id": 1}, {"id": 2}]})", "--to", "red"}) ==
        "{\"o0\":{\"by_name\":{},\"items\":[{\"id\":1,\"label\":null,\"tint\":\"red\"},"
        "{\"id\":2,\"label\":null,\"tint\":\"red\"}],\"weight\":1.0}}\n");
  const auto [code, out, err] = run({"run", "recolour", "--item", R"({"id": 1})", "--to", "mauve"});
  CHECK(code == 2);
  CHECK_THAT(err, Catch::Contains("--to: to: 'mauve' is not an enumerator of colour"));
}
