// fuzz_object_header: what the object store reads of an object file
// (src/object_store.cpp): the header line of a Loom 0.1 object ("loom-object 1 size=N
// sha256=HEX", detail::parse_object_header, object_store::verified_object), the line of
// a checksum file (sha256sum's format, detail::checksum_of_line,
// object_store::verified_file), and both through object_store::get on a scratch store.
//
// Input: one mode byte, then bytes.
//   mode 0: the bytes are a Loom 0.1 object file; 1: the same, with the checksum in its
//   header (if it has one) replaced by the right one, so that the size check and the
//   success path are reached; 2: the first line is a checksum file, the rest the object;
//   3: the same with the right checksum in front of the line's rest.
// The rules checked: a bad header or checksum gives a problem / loom::object_corrupt
// that says why, an accepted header frames no more than the text, and what is accepted
// matches its checksum.
#include <loom/detail/sha256.hpp>
#include <loom/object_store.hpp>

#include "fuzz_support.hpp"

#include <cstddef>
#include <cstdint>
#include <fstream>
#include <optional>
#include <string>
#include <string_view>

namespace {

void header(std::string text, bool mend) {
  std::string problem;
  if (mend) {
    if (const auto h = loom::detail::parse_object_header(text, problem); h) {
      text.replace(h->length - 65, 64, loom::detail::sha256_hex(std::string_view(text).substr(h->length)));
    }
    problem.clear();
  }
  const auto h = loom::detail::parse_object_header(text, problem);
  if (h) {
    loom_fuzz::check(h->length <= text.size() && h->sha256.size() == 64 && problem.empty(), "a header beyond its text");
  } else {
    loom_fuzz::check(!problem.empty(), "a rejected header without a problem");
  }
  std::optional<std::string> bytes;
  try {
    bytes = loom::object_store::verified_object("ex/object", text);
  } catch (const loom::object_corrupt& e) {
    loom_fuzz::check_message(e);
  }
  if (bytes) {
    loom_fuzz::check(h.has_value() && bytes->size() == h->size && loom::detail::sha256_hex(*bytes) == h->sha256,
                     "an object accepted that does not match its header");
  }
}

void checksum_file(std::string_view input, bool mend) {
  const auto nl = input.find('\n');
  std::string line(input.substr(0, nl == std::string_view::npos ? input.size() : nl + 1));
  const std::string object(nl == std::string_view::npos ? std::string_view() : input.substr(nl + 1));
  if (mend) line = loom::detail::sha256_hex(object) + line;
  const std::string sum = loom::detail::checksum_of_line(line);
  loom_fuzz::check(sum.empty() || sum.size() == 64, "a checksum of the wrong length");
  try {
    const std::string bytes = loom::object_store::verified_file("ex/object", object, line);
    loom_fuzz::check(bytes == object && loom::detail::sha256_hex(bytes) == sum, "an object accepted that does not match its checksum");
  } catch (const loom::object_corrupt& e) {
    loom_fuzz::check_message(e);
  }
}

/// The object as a file of a scratch store (and, in modes 2 and 3, its checksum
/// file), read by object_store::get.
void through_store(std::string_view input, bool with_sum) {
  const auto root = loom_fuzz::scratch_directory() / "store";
  std::filesystem::remove_all(root);
  std::filesystem::create_directories(root / "ex");
  std::string_view object = input;
  if (with_sum) {
    const auto nl = input.find('\n');
    if (nl == std::string_view::npos) return;
    std::ofstream(root / "ex" / "object.sha256", std::ios::binary) << input.substr(0, nl + 1);
    object = input.substr(nl + 1);
  }
  std::ofstream(root / "ex" / "object", std::ios::binary) << object;
  const loom::object_store store(root);
  try {
    (void)store.get("ex/object");
  } catch (const loom::object_corrupt& e) {
    loom_fuzz::check_message(e);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 1) return 0;
  const std::uint8_t mode = data[0] % 4;
  const std::string_view input(reinterpret_cast<const char*>(data + 1), size - 1);
  if (mode < 2) {
    header(std::string(input), mode == 1);
    if (mode == 0) through_store(input, false);
  } else {
    checksum_file(input, mode == 3);
    // (A mismatching checksum file is read three times, 15 ms apart, before get()
    // calls it damaged: only the mended ones go through the store.)
    if (mode == 3) {
      const auto nl = input.find('\n');
      const std::string mended =
          nl == std::string_view::npos ? std::string() : loom::detail::sha256_hex(input.substr(nl + 1)) + std::string(input);
      if (!loom::detail::checksum_of_line(mended).empty()) through_store(mended, true);
    }
  }
  return 0;
}
