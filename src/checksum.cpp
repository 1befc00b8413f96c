// src/checksum.cpp — the checksum of pack records (loom/detail/checksum.hpp): XXH3,
// compiled inline from xxhash.h here, the only file that includes it.
#include <loom/detail/checksum.hpp>

#ifndef XXH_INLINE_ALL
#define XXH_INLINE_ALL  // static inline functions under their own names: no symbol clashes
#endif
#include <xxhash.h>

namespace loom::detail {

LOOM_FUNC std::uint64_t checksum64(std::string_view bytes, std::uint64_t seed) {
  return XXH3_64bits_withSeed(bytes.data(), bytes.size(), seed);
}

}  // namespace loom::detail
