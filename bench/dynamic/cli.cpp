// The seed's count_characters as a workflow binary (the command line of every Loom
// binary, loom::main), for timing whole processes: `run start_wf` with and without
// `--store`, as a user runs it (bench/dynamic/stored_cli.sh). Its entities are
// registered here rather than by loom-codegen, so the inputs are named i0 and i1.
#include <loom/loom.hpp>  // (the example includes only what it uses)
#include "../../examples/count_characters.hpp"

int main(int argc, char** argv) {
  loom::register_entities(start_wf);
  return loom::main(argc, argv);
}
