// Writes futures files that use every binding form and every type descriptor form that
// the examples do not, and a map node: list and map collections (as node inputs and as outputs), a static
// workflow called from a dynamic one (the "subworkflows" table, with {"input": ...}
// bindings), records, tuples, optionals, floats, booleans, and literals kept in the
// object store ({"stored": key}) because the inline limit is set low.
//
//   futures_forms STORE_DIR EXECUTION_ID [N]
//
// Runs the dynamic workflow `forms` with a store, so the real writer writes
// <EXECUTION_ID>/n0/futures.json (and the reader validates it before anything runs);
// prints the outputs as JSON on stdout. Fails if the file is not byte for byte what
// nlohmann::json would dump for it.
#include <loom/loom.hpp>
#include <loom/object_store.hpp>

#include <boost/hana/define_struct.hpp>

#include <cstdint>
#include <iostream>
#include <map>
#include <optional>
#include <string>
#include <tuple>
#include <vector>

namespace forms {

struct point {
  BOOST_HANA_DEFINE_STRUCT(point, (double, x), (double, y));
};

using loom::promise;

inline constexpr auto square = loom::task<"square">([](std::int64_t x) { return x * x; }).with_inputs("x");

inline constexpr auto total = loom::task<"total">([](std::vector<std::int64_t> xs) {
  std::int64_t sum = 0;
  for (const auto x : xs) sum += x;
  return sum;
}).with_inputs("xs");

inline constexpr auto to_text = loom::task<"to_text">([](std::int64_t x) { return std::to_string(x); })
                                    .with_inputs("x");

inline constexpr auto join = loom::task<"join">([](std::vector<std::string> parts) {
  std::string out;
  for (const auto& p : parts) out += (out.empty() ? "" : ",") + p;
  return out;
}).with_inputs("parts");

inline constexpr auto weigh = loom::task<"weigh">([](std::map<std::string, std::int64_t> by_key) {
  std::int64_t sum = 0;
  for (const auto& [k, v] : by_key) sum += v * static_cast<std::int64_t>(k.size());
  return sum;
}).with_inputs("by_key");

inline constexpr auto place = loom::task<"place">(
    [](point p, std::optional<double> scale, std::tuple<bool, std::string> tag) {
      const double s = scale.value_or(1.0);
      return std::tuple{point{p.x * s, p.y * s}, std::get<0>(tag) ? std::get<1>(tag) : std::string()};
    }).with_inputs("p", "scale", "tag");

// A static workflow called from the dynamic one: written into "subworkflows", its
// bindings include {"input": ...}, literals (one long enough to be stored) and a list.
inline constexpr auto pair_total = loom::workflow<"pair_total">([](auto& wf, promise<std::int64_t> a,
                                                                    promise<std::int64_t> b) {
  const auto constants = wf(total, std::vector<std::int64_t>{1, 2, 3, 4, 5, 6, 7, 8, 9});
  return wf(total, std::vector{a, wf(square, b), wf(square, 3), constants});
}).with_inputs("a", "b");

inline constexpr auto forms = loom::dynamic<"forms">([](loom::dynamic_builder& wf, std::int64_t n) {
  std::vector<promise<std::int64_t>> squares;
  for (std::int64_t i = 0; i < n; ++i) squares.push_back(wf(square, i));
  std::map<std::string, promise<std::int64_t>> by_key{{"one", squares.at(1)}, {"seven", wf.literal(std::int64_t{7})}};
  auto text = wf(join, std::vector{wf(to_text, wf(pair_total, n, squares.at(0))),
                                    wf.literal(std::string("a string literal longer than the inline limit"))});
  auto weighed = wf(weigh, by_key);
  auto [placed, label] = wf(place, point{1.5, -2.0}, std::optional<double>{}, std::tuple{true, std::string("t")});
  // A map node ("map" in the file): square over a list of promises (a "list" binding).
  // Last, so that the ids and literal keys of the nodes above stay put.
  (void)wf.map(square, squares);
  return std::tuple{squares, by_key, text, weighed, placed, label};
}).with_inputs("n");

}  // namespace forms

int main(int argc, char** argv) {
  if (argc < 3 || argc > 4) {
    std::cerr << "usage: futures_forms STORE_DIR EXECUTION_ID [N]\n";
    return 2;
  }
  try {
    loom::object_store store(argv[1]);
    loom::run_options options;
    options.store = &store;
    options.execution_id = argv[2];
    options.inline_literal_bytes = 16;  // strings, lists and records longer than this go to the store
    const std::int64_t n = argc == 4 ? std::stoll(argv[3]) : 4;
    loom::executor ex({.threads = 2});
    const auto [squares, by_key, text, weighed, placed, label] = ex.run(options, forms::forms, n);
    // The writer writes text straight from the graph; it must be exactly what nlohmann
    // dumps for the same document (compact, keys in order), so that what was read writes
    // back byte for byte.
    const std::string written = store.get(std::string(argv[2]) + "/n0/futures.json").value_or("");
    if (written.empty() || loom::json::parse(written).dump() != written) {
      std::cerr << "futures_forms: the futures file written is not in nlohmann's canonical form:\n" << written << '\n';
      return 1;
    }
    std::cout << loom::json{{"o0", loom::to_literal(squares)}, {"o1", loom::to_literal(by_key)}, {"o2", text},
                            {"o3", weighed}, {"o4", loom::to_literal(placed)}, {"o5", label}}
                     .dump()
              << '\n';
    return 0;
  } catch (const std::exception& e) {
    std::cerr << "futures_forms: " << e.what() << '\n';
    return 1;
  }
}
