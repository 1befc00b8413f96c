// The one translation unit that holds Catch2's main (its cost is paid once).
#define CATCH_CONFIG_MAIN
#include <catch2/catch.hpp>
