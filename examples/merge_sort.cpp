// The seed document's second example: merge sort by recursion through dynamic
// workflows. merge_sort decides at run time whether to sort locally or to split;
// merge_sort_remotely splits, sorts both halves with merge_sort (recursion), and merges.
//
//   merge_sort                                                  # a fixed list → sorted
//   merge_sort run merge_sort --numbers '[5,3,1,4,2]' --threshold 2  # → {"o0":[1,2,3,4,5]}
#include "merge_sort.hpp"

#include <iostream>

int main(int argc, char** argv) {
  // With no arguments: a fixed list, sorted with the default threshold (5).
  if (argc == 1) {
    try {
      const numbers_t numbers{31, 4, 15, 9, 26, 5, 35, 8, 97, 93, 23, 84, 62, 64, 33, 83, 27, 95};
      std::cout << loom::to_literal(merge_sort(numbers)).dump() << '\n';
      return 0;
    } catch (const std::exception& e) {
      std::cerr << "merge_sort: " << e.what() << '\n';
      return 1;
    }
  }
  //   merge_sort run merge_sort --numbers '[5,3,1,4,2]' --threshold 2   → {"o0":[1,2,3,4,5]}
  return loom::main(argc, argv);  // the entities are registered by the generated code
}
