// Catch2 v2's runner, compiled once for every test program (it is slow to build).
#define CATCH_CONFIG_MAIN
#include <catch2/catch.hpp>
