// fuzz_cli_values: the command line of a workflow binary (loom/cli.hpp,
// src/cli.cpp): its options, and the values given for inputs, parsed into typed inputs
// (JSON, or the text itself for a string or an enumerator) through loom::run_command_line.
//
// Input: one byte choosing the verb (run, graph, resume, list), then the arguments,
// separated by NUL bytes. The entities are the codegen samples' (records, enums, a
// Hana record, a dynamic workflow, a static one; their input names and defaults from
// loom-codegen's golden output) and one task taking a value of each other kind.
// Options that would reach outside the process (--store, --backend, --threads) are
// left out: an input that has one is skipped.
// The rules checked: exit code 0, 1 or 2; 2 (a bad command line) says why on standard
// error; a successful run prints one JSON object. Never a crash or another exception.
#include <loom/cli.hpp>
#include <loom/generated.hpp>

#include "codegen/samples/records.cpp"  // the entities: samples::summarise, recolour, ...
#include "fuzz_support.hpp"

#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <sstream>
#include <string>
#include <string_view>
#include <tuple>
#include <vector>

namespace {

inline constexpr auto kinds = loom::task<"kinds">(
    [](std::vector<std::int64_t> ints, std::map<std::string, double> weights, std::optional<std::string> label,
       std::tuple<std::int16_t, bool> pair, float ratio, std::uint32_t count, std::vector<std::vector<double>> grid) {
      return static_cast<std::int64_t>(ints.size() + weights.size() + (label ? label->size() : 0) +
                                       static_cast<std::size_t>(std::get<1>(pair)) + grid.size()) +
             static_cast<std::int64_t>(count % 7) + static_cast<std::int64_t>(ratio > 0);
    });

[[maybe_unused]] const bool registered = [] {
  loom::detail::register_generated(kinds, {"ints", "weights", "label", "pair", "ratio", "count", "grid"},
                                   {nullptr, nullptr, nullptr, nullptr, nullptr, nullptr, nullptr});
  return true;
}();

bool reaches_outside(std::string_view arg) {
  for (const std::string_view flag : {"--store", "--backend", "--threads"}) {
    if (arg.substr(0, flag.size()) == flag) return true;
  }
  return false;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 1) return 0;
  static constexpr const char* verbs[] = {"run", "graph", "resume", "list"};
  std::vector<std::string> args{"fuzz_cli_values", verbs[data[0] % 4]};
  std::string_view rest(reinterpret_cast<const char*>(data + 1), size - 1);
  while (!rest.empty()) {
    const auto nul = rest.find('\0');
    args.emplace_back(rest.substr(0, nul));
    if (reaches_outside(args.back())) return 0;
    rest.remove_prefix(nul == std::string_view::npos ? rest.size() : nul + 1);
  }
  if (args.size() > 64) return 0;
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  std::ostringstream out;
  std::ostringstream err;
  const int rc = loom::run_command_line(static_cast<int>(args.size()), argv.data(), out, err);
  loom_fuzz::check(rc == 0 || rc == 1 || rc == 2, "exit code " + std::to_string(rc));
  if (rc != 0) loom_fuzz::check(!err.str().empty(), "a failed command line that says nothing");
  if (rc == 0 && args[1] == "run") {
    const auto printed = loom::json::parse(out.str(), nullptr, false);
    loom_fuzz::check(printed.is_object(), "a run that printed no JSON object: " + out.str());
  }
  return 0;
}

// The generated serializers and registrations of the samples (loom-codegen's golden output).
#include "codegen/expected/records.inc"
