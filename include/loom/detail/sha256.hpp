// loom/detail/sha256.hpp — SHA-256 of a byte string, by OpenSSL's libcrypto (a
// well-kept implementation that uses the CPU's SHA instructions; a hash is no place for
// hand-written code). Used for the checksums of stored objects and for cache keys.
#pragma once

#include <loom/error.hpp>

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

#include <openssl/evp.h>

namespace loom::detail {

using sha256_digest = std::array<unsigned char, 32>;

inline sha256_digest sha256(std::string_view bytes) {
  sha256_digest digest{};
  unsigned int size = 0;
  if (EVP_Digest(bytes.data(), bytes.size(), digest.data(), &size, EVP_sha256(), nullptr) != 1 || size != 32) {
    throw error("sha256: OpenSSL's EVP_Digest failed");
  }
  return digest;
}

inline std::string to_hex(const sha256_digest& digest) {
  static constexpr char digits[] = "0123456789abcdef";
  std::string out(64, '0');
  for (std::size_t i = 0; i < digest.size(); ++i) {
    out[2 * i] = digits[digest[i] >> 4];
    out[2 * i + 1] = digits[digest[i] & 0xF];
  }
  return out;
}

/// The SHA-256 of `bytes` as 64 lowercase hex digits.
inline std::string sha256_hex(std::string_view bytes) { return to_hex(sha256(bytes)); }

}  // namespace loom::detail
