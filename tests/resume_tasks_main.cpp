// loom_resume_tasks: the resume tests' workflow binary (run, resume, list, ...).
#include "resume_tasks.hpp"

int main(int argc, char** argv) {
  loom_resume_test::register_all();
  return loom::main(argc, argv);
}
