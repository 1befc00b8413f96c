// loom/detail/config.hpp — how the runtime's non-template code is compiled.
//
// By default it is compiled once, into the library loom::runtime (src/), and the
// headers only declare it: a workflow translation unit does not parse SQLite, OpenSSL,
// posix_spawn or the executor's body. With LOOM_HEADER_ONLY defined (CMake target
// loom::header_only), <loom/loom.hpp> includes the runtime's sources themselves, their
// functions made `inline` by LOOM_FUNC, as {fmt} does with FMT_HEADER_ONLY.
#pragma once

#ifdef LOOM_HEADER_ONLY
#define LOOM_FUNC inline
#else
#define LOOM_FUNC
#endif
