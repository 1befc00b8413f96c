// loom/detail/sha256.hpp — SHA-256 of a byte string, by OpenSSL's libcrypto (a
// well-kept implementation that uses the CPU's SHA instructions; a hash is no place for
// hand-written code). Used for the checksums of stored objects and for cache keys.
// Compiled into the runtime (src/sha256.cpp): this header does not parse OpenSSL's.
#pragma once

#include <loom/detail/config.hpp>

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

namespace loom::detail {

using sha256_digest = std::array<unsigned char, 32>;

sha256_digest sha256(std::string_view bytes);

std::string to_hex(const sha256_digest& digest);

/// The SHA-256 of `bytes` as 64 lowercase hex digits.
std::string sha256_hex(std::string_view bytes);

}  // namespace loom::detail
