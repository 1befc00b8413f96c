// loom/detail/checksum.hpp — the fast 64-bit checksum of pack records: XXH3 from the
// xxHash library (Debian's libxxhash-dev), compiled inline from its header into the
// runtime (src/checksum.cpp), so Loom links nothing more and this header does not parse
// xxhash.h. It detects damage (a torn write, a flipped bit, a record read at the wrong
// offset); it is not a cryptographic hash, which the SHA-256 of whole objects
// (loom/detail/sha256.hpp) is.
#pragma once

#include <loom/detail/config.hpp>

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace loom::detail {

/// The checksum of `bytes`, seeded by `seed` (a record checksums its key into the seed,
/// so bytes filed under the wrong key do not pass).
std::uint64_t checksum64(std::string_view bytes, std::uint64_t seed = 0);

/// Little-endian fixed-width integers, for binary headers that read the same on any host.
inline void put_le(std::string& out, std::uint64_t value, int bytes) {
  for (int i = 0; i < bytes; ++i) out.push_back(static_cast<char>((value >> (8 * i)) & 0xFF));
}

/// The same, into `bytes` characters at `out` (a header made in place).
inline void put_le(char* out, std::uint64_t value, int bytes) {
  for (int i = 0; i < bytes; ++i) out[i] = static_cast<char>((value >> (8 * i)) & 0xFF);
}

inline std::uint64_t get_le(std::string_view in, std::size_t at, int bytes) {
  std::uint64_t value = 0;
  for (int i = 0; i < bytes; ++i) {
    value |= static_cast<std::uint64_t>(static_cast<unsigned char>(in[at + static_cast<std::size_t>(i)])) << (8 * i);
  }
  return value;
}

}  // namespace loom::detail
