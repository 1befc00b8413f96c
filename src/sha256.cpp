// src/sha256.cpp — SHA-256 by OpenSSL's EVP interface (loom/detail/sha256.hpp); the
// only file that includes OpenSSL's headers.
#include <loom/detail/sha256.hpp>

#include <loom/error.hpp>

#include <cstddef>

#include <openssl/crypto.h>
#include <openssl/evp.h>

namespace loom::detail {

namespace sha256_detail {

/// OpenSSL 3's SHA-256, fetched from its provider once. EVP_sha256() would be fetched
/// again by every EVP_Digest (a lookup under locks, reference counts written): about a
/// fifth of a forked node process's time went to that (docs/process-backend.md#results).
/// Kept for the life of the process, as OpenSSL keeps its own tables.
inline const EVP_MD* fetched() {
  static const EVP_MD* const md = [] {
    const EVP_MD* found = EVP_MD_fetch(nullptr, "SHA256", nullptr);
    return found != nullptr ? found : EVP_sha256();
  }();
  return md;
}

}  // namespace sha256_detail

LOOM_FUNC sha256_digest sha256(std::string_view bytes) {
  sha256_digest digest{};
  unsigned int size = 0;
  if (EVP_Digest(bytes.data(), bytes.size(), digest.data(), &size, sha256_detail::fetched(), nullptr) != 1 ||
      size != 32) {
    throw error("sha256: OpenSSL's EVP_Digest failed");
  }
  return digest;
}

LOOM_FUNC void prepare_sha256_for_forks() {
  // Without OPENSSL_INIT_NO_ATEXIT, every child's exit would free OpenSSL's tables (and
  // touch, so copy, their pages) first.
  OPENSSL_init_crypto(OPENSSL_INIT_NO_ATEXIT, nullptr);
  sha256({});
}

LOOM_FUNC std::string to_hex(const sha256_digest& digest) {
  static constexpr char digits[] = "0123456789abcdef";
  std::string out(64, '0');
  for (std::size_t i = 0; i < digest.size(); ++i) {
    out[2 * i] = digits[digest[i] >> 4];
    out[2 * i + 1] = digits[digest[i] & 0xF];
  }
  return out;
}

LOOM_FUNC std::string sha256_hex(std::string_view bytes) { return to_hex(sha256(bytes)); }

}  // namespace loom::detail
