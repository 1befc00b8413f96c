// Whether this test program is built with a sanitizer (ASan, UBSan with ASan, TSan): its
// programs run several times slower and take tens of megabytes more memory, which a
// test that measures either must allow for.
#pragma once

namespace loom_test {

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
inline constexpr bool sanitized = true;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
inline constexpr bool sanitized = true;
#else
inline constexpr bool sanitized = false;
#endif
#else
inline constexpr bool sanitized = false;
#endif

}  // namespace loom_test
