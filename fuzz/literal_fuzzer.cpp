// fuzz_literal: the literal (JSON) decoding of every kind of task value
// (loom::from_literal, src/literal.cpp, loom/detail/codec.hpp), and of the type
// descriptors futures files carry (type_descriptor::from_json).
//
// Input: one byte choosing the type, then JSON text. A literal that parses is decoded
// as that type; the rules checked:
//   - a literal of the wrong shape gives loom::literal_error (any other exception, a
//     crash or undefined behaviour is a bug);
//   - what decodes round-trips: from_literal(to_literal(v)) encodes to to_literal(v).
// The plain structs and enums are those of the codegen samples, with the serializers
// loom-codegen generates for them (its golden output, tests/codegen/expected/).
#include <loom/literal.hpp>
#include <loom/type_descriptor.hpp>

#include "codegen/samples/records.cpp"  // samples::depth1..3, colour, shade, hana_point; local_only
#include "fuzz_support.hpp"

#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <tuple>
#include <vector>

namespace {

using namespace samples;

template <class T>
void decode_as(const loom::json& literal) {
  T value;
  try {
    value = loom::from_literal<T>(literal, "fuzz");
  } catch (const loom::literal_error& e) {
    loom_fuzz::check_message(e);
    return;
  }
  const loom::json encoded = loom::to_literal(value);
  T again;
  try {
    again = loom::from_literal<T>(loom::json::parse(encoded.dump()), "again");
  } catch (const loom::literal_error& e) {
    loom_fuzz::fail(std::string("a decoded value's own literal is rejected: ") + e.what() + " (" + encoded.dump() + ")");
  }
  loom_fuzz::check(loom::to_literal(again) == encoded,
                   "a value does not round-trip: " + encoded.dump() + " -> " + loom::to_literal(again).dump());
}

void descriptor(const loom::json& j) {
  loom::type_descriptor d;
  try {
    d = loom::type_descriptor::from_json(j);
  } catch (const loom::error& e) {
    loom_fuzz::check_message(e);
    return;
  }
  (void)d.to_string();
  const loom::json again = d.to_json();
  loom_fuzz::check(loom::type_descriptor::from_json(again) == d, "a descriptor does not round-trip: " + again.dump());
}

using nested = std::map<std::string, std::vector<std::optional<std::tuple<std::int64_t, std::vector<double>>>>>;

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 1) return 0;
  const std::uint8_t type = data[0];
  const std::string_view text(reinterpret_cast<const char*>(data + 1), size - 1);
  const loom::json literal = loom::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (literal.is_discarded()) return 0;
  switch (type % 32) {
    case 0: decode_as<bool>(literal); break;
    case 1: decode_as<std::int16_t>(literal); break;
    case 2: decode_as<std::uint16_t>(literal); break;
    case 3: decode_as<std::int32_t>(literal); break;
    case 4: decode_as<std::uint32_t>(literal); break;
    case 5: decode_as<std::int64_t>(literal); break;
    case 6: decode_as<std::uint64_t>(literal); break;
    case 7: decode_as<float>(literal); break;
    case 8: decode_as<double>(literal); break;
    case 9: decode_as<std::string>(literal); break;
    case 10: decode_as<std::vector<std::int64_t>>(literal); break;
    case 11: decode_as<std::vector<std::string>>(literal); break;
    case 12: decode_as<std::map<std::string, double>>(literal); break;
    case 13: decode_as<std::optional<std::int32_t>>(literal); break;
    case 14: decode_as<std::optional<std::vector<bool>>>(literal); break;
    case 15: decode_as<std::tuple<std::int64_t, std::string, bool, double>>(literal); break;
    case 16: decode_as<std::tuple<>>(literal); break;
    case 17: decode_as<nested>(literal); break;
    case 18: decode_as<std::vector<std::tuple<std::uint16_t, std::map<std::string, std::string>>>>(literal); break;
    case 19: decode_as<std::vector<std::vector<std::vector<std::int64_t>>>>(literal); break;
    case 20: decode_as<std::map<std::string, std::optional<float>>>(literal); break;
    case 21: decode_as<hana_point>(literal); break;
    case 22: decode_as<depth3>(literal); break;
    case 23: decode_as<depth2>(literal); break;
    case 24: decode_as<depth1>(literal); break;
    case 25: decode_as<colour>(literal); break;
    case 26: decode_as<shade>(literal); break;
    case 27: decode_as<local_only>(literal); break;
    case 28: decode_as<std::vector<std::optional<depth3>>>(literal); break;
    case 29: decode_as<std::map<std::string, std::tuple<colour, shade, hana_point>>>(literal); break;
    case 30: decode_as<std::vector<std::uint64_t>>(literal); break;
    default: descriptor(literal); break;
  }
  return 0;
}

// The generated serializers of the samples (loom-codegen's golden output).
#include "codegen/expected/records.inc"
