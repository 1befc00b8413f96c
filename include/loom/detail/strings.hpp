// Building strings in Loom's headers so that a user's optimized build stays silent.
//
// g++ 12 at -O2/-O3 warns (-Wrestrict, "__builtin_memcpy ... may overlap", GCC bug
// 105329) on `"i" + std::to_string(n)` once both are inlined: a literal or char on the
// left of a temporary string is inserted at its front (basic_string::_M_replace), whose
// overlap path the optimizer misjudges. Appending to a string that starts with the
// prefix gives the same text without that path.
#pragma once

#include <loom/detail/config.hpp>

#include <cstddef>
#include <string>

namespace loom::detail {

/// The default name of a port: prefix 'i' (inputs) or 'o' (outputs), then its 0-based
/// index: "i0", "o3". (The code generator replaces input names with the parameter names
/// of the user's function.)
/// (Compiled once, src/strings.cpp.)
std::string positional_name(char prefix, std::size_t i);

}  // namespace loom::detail
