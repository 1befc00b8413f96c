// src/compact_value.cpp — the JSON text of a compact body (loom/detail/compact_value.hpp).
// The bytes come from a pack on disk: their checksum matched, but they are read as
// untrusted all the same (fuzz/pack_record_fuzzer.cpp decodes every compact body it finds).
#include <loom/detail/compact_value.hpp>

#include <loom/error.hpp>

#include <algorithm>
#include <string>

namespace loom::detail {

namespace {

/// Deeper than any value type a task declares; a bound for damaged bytes (the reader
/// recurses once a level).
constexpr int compact_max_depth = 200;

class compact_reader {
 public:
  explicit compact_reader(std::string_view body) : body_(body) {}

  std::string text() {
    if (!is_compact(body_)) fail("does not start with the compact marker (a NUL byte)");
    at_ = 1;
    std::string out;
    out.reserve(std::min(body_.size() * 3, std::size_t{1} << 20));  // (a hint: not trusted before it is read)
    value(out, 0);
    if (at_ != body_.size()) fail("bytes after the value");
    return out;
  }

 private:
  [[noreturn]] void fail(const std::string& what) const {
    throw error("compact value: " + what + " (at byte " + std::to_string(at_) + " of " + std::to_string(body_.size()) +
                ")");
  }

  std::uint64_t varint() {
    std::uint64_t value = 0;
    for (int shift = 0;; shift += 7) {
      if (at_ == body_.size()) fail("cut short inside a number");
      const auto byte = static_cast<unsigned char>(body_[at_]);
      if (shift == 63 && byte > 1) fail("a number larger than 64 bits");  // (its tenth byte holds one bit)
      ++at_;
      value |= static_cast<std::uint64_t>(byte & 0x7F) << shift;
      if ((byte & 0x80) == 0) return value;
    }
  }

  static std::int64_t unzigzag(std::uint64_t z) {
    return static_cast<std::int64_t>((z >> 1) ^ (~(z & 1) + 1));
  }

  /// A count of items that each take at least one byte: no more than are left.
  std::size_t count(const char* what) {
    const std::size_t start = at_;
    const std::uint64_t n = varint();
    if (n > body_.size() - at_) {
      at_ = start;
      fail(std::string("a ") + what + " of " + std::to_string(n) + " items in fewer bytes");
    }
    return static_cast<std::size_t>(n);
  }

  std::string_view plain_text() {
    const std::size_t start = at_;
    const std::uint64_t n = varint();
    if (n > body_.size() - at_) {
      at_ = start;
      fail("a string of " + std::to_string(n) + " bytes runs past the end");
    }
    const std::string_view text = body_.substr(at_, static_cast<std::size_t>(n));
    for (const char c : text) {
      if (!is_plain_text(std::string_view(&c, 1))) fail("a string with a character that needs an escape");
      ++at_;
    }
    return text;
  }

  void integer(std::string& out, bool is_signed) {
    char digits[integer_text_bytes];
    const std::uint64_t v = varint();
    out.append(digits, is_signed ? integer_text(digits, unzigzag(v)) : integer_text(digits, v));
  }

  void value(std::string& out, int depth) {
    if (depth > compact_max_depth) fail("values nested deeper than " + std::to_string(compact_max_depth));
    if (at_ == body_.size()) fail("cut short where a value starts");
    const auto tag = static_cast<compact_tag>(body_[at_++]);
    switch (tag) {
      case compact_tag::null: out += "null"; return;
      case compact_tag::false_value: out += "false"; return;
      case compact_tag::true_value: out += "true"; return;
      case compact_tag::signed_integer: integer(out, true); return;
      case compact_tag::unsigned_integer: integer(out, false); return;
      case compact_tag::string:
        out += '"';
        out += plain_text();
        out += '"';
        return;
      case compact_tag::list:
      case compact_tag::signed_list:
      case compact_tag::unsigned_list: {
        const std::size_t n = count("list");
        out += '[';
        for (std::size_t i = 0; i < n; ++i) {
          if (i != 0) out += ',';
          if (tag == compact_tag::list) {
            value(out, depth + 1);
          } else {
            integer(out, tag == compact_tag::signed_list);
          }
        }
        out += ']';
        return;
      }
      case compact_tag::object: {
        const std::size_t n = count("object");
        out += '{';
        for (std::size_t i = 0; i < n; ++i) {
          if (i != 0) out += ',';
          out += '"';
          out += plain_text();
          out += "\":";
          value(out, depth + 1);
        }
        out += '}';
        return;
      }
    }
    --at_;
    fail("unknown tag " + std::to_string(static_cast<int>(static_cast<unsigned char>(tag))));
  }

  std::string_view body_;
  std::size_t at_ = 0;
};

}  // namespace

LOOM_FUNC std::string compact_to_json_text(std::string_view body) { return compact_reader(body).text(); }

}  // namespace loom::detail
