// Sample source for loom-codegen's golden-file tests (tests/codegen/expected/) and the
// round-trip tests of the generated serializers (tests/codegen_roundtrip_test.cpp):
// plain structs nested three deep, enums, optionals, maps, default member
// initializers, default arguments, several outputs, a function-pointer entity, a
// static workflow, and a Boost.Hana record beside the plain ones.
#pragma once

#include <loom/loom.hpp>

#include <boost/hana/define_struct.hpp>

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <tuple>
#include <vector>

namespace samples {

enum class colour { red, green, blue };
enum shade : std::uint8_t { light = 1, dark = 7 };  // unscoped, with values of its own

struct depth3 {  // the innermost of three nested levels
  std::int64_t id = 0;
  std::optional<std::string> label;
  colour tint = colour::green;
  friend bool operator==(const depth3&, const depth3&) = default;
};

struct depth2 {
  std::vector<depth3> items;
  std::map<std::string, depth3> by_name;
  double weight = 1.0;
  friend bool operator==(const depth2&, const depth2&) = default;
};

struct depth1 {
  depth2 inner;
  std::optional<depth2> spare;
  std::tuple<std::int64_t, shade> pair{0, light};
  bool flag;  // no default member initializer: required in a literal
  friend bool operator==(const depth1&, const depth1&) = default;
};

struct hana_point {
  BOOST_HANA_DEFINE_STRUCT(hana_point, (std::int64_t, x), (std::int64_t, y));
  friend bool operator==(const hana_point&, const hana_point&) = default;
};

inline constexpr auto summarise = loom::task<"summarise">(
    [](depth1 d, std::int64_t limit = 10, std::string prefix = "item-", bool verbose = false)
        -> std::tuple<std::int64_t, std::vector<std::string>> {
      std::vector<std::string> names;
      for (const auto& item : d.inner.items) {
        if (static_cast<std::int64_t>(names.size()) == limit) break;
        names.push_back(prefix + item.label.value_or(std::to_string(item.id)) + (verbose ? "!" : ""));
      }
      return {static_cast<std::int64_t>(d.inner.items.size()), names};
    });

inline constexpr auto recolour = loom::task<"recolour">([](depth3 item, colour to) {
                                    item.tint = to;
                                    return item;
                                  }).with_version("2.1");

inline constexpr auto move_point = loom::task<"move_point">([](hana_point p, std::int64_t dx) {
  return hana_point{p.x + dx, p.y};
});

inline constexpr auto regroup = loom::task<"regroup">([](depth2 d, std::vector<depth3> items) {
  d.items = items;
  return d;
});

loom::promise<depth2> recolour_all_body(loom::dynamic_builder& wf, depth2 d, colour to);
inline constexpr auto recolour_all = loom::dynamic<"recolour_all">(&recolour_all_body);

inline loom::promise<depth2> recolour_all_body(loom::dynamic_builder& wf, depth2 d, colour to) {
  std::vector<loom::promise<depth3>> items;
  for (const auto& item : d.items) items.push_back(wf(recolour, item, to));
  return wf(regroup, d, items);
}

inline constexpr auto pipeline =
    loom::workflow<"pipeline">([](auto& wf, loom::promise<depth1> d, loom::promise<std::int64_t> limit) {
      return wf(summarise, d, limit, std::string("n"), true);
    });

}  // namespace samples
