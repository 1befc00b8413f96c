// The seed document's first example: count the characters two strings have in common
// with a dynamic workflow. The number of nodes depends on the lengths of the strings,
// which are known only at run time: the body runs with the materialized strings and
// records one return_index and one update_list node per character.
//
//   count_characters                                      # the seed's strings → 3
//   count_characters run start_wf --s1 Pear --s2 Earth    # → {"o0": 3}
//   count_characters graph start_wf --s1 Pear --s2 Earth  # the executed DAG (Graphviz DOT)
#include "count_characters.hpp"

#include <iostream>

int main(int argc, char** argv) {
  // With no arguments: the seed's call, start_wf(s1="Pear", s2="Earth"), printed plainly.
  if (argc == 1) {
    try {
      std::cout << start_wf() << '\n';
      return 0;
    } catch (const std::exception& e) {
      std::cerr << "count_characters: " << e.what() << '\n';
      return 1;
    }
  }
  // Otherwise the command line of every workflow binary:
  //   count_characters run start_wf --s1 Pear --s2 Earth     → {"o0": 3}
  //   count_characters graph start_wf --s1 Pear --s2 Earth   → the executed DAG (DOT)
  // Every task and workflow of this binary is registered by the code loom_generate
  // generates (with the input names of their parameters), so none is listed here.
  return loom::main(argc, argv);
}
