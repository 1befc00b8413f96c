// examples/common_characters.cpp calls its static workflow natively and has no command
// line; this test-only binary is that example's translation unit with the command line
// every workflow binary gets (run, graph, list, and the node processes' exec-node), so
// that the process backend can run it: `process_common_characters run start_wf --s1 abc
// --s2 cab --backend process`.
#include <loom/loom.hpp>

#include <iostream>

// The example's own main() becomes a function this binary never calls (it would fall
// off its end: main() alone may).
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wreturn-type"
#define main common_characters_main
#include "../examples/common_characters.cpp"
#undef main
#pragma GCC diagnostic pop

int main(int argc, char** argv) { return loom::main(argc, argv, start_wf); }
