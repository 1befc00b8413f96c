// loom_process_tasks: a workflow binary holding the process-backend tests' tasks and
// workflows, misbehaving ones included, with the command line every workflow binary
// gets (run, graph, list, and the node processes' exec-node). The tests run it.
#include "process_tasks.hpp"

int main(int argc, char** argv) {
  loom_process_test::register_all();
  return loom::main(argc, argv);
}
