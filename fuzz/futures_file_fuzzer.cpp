// fuzz_futures_file: a futures file (a dynamic node's sub-DAG as JSON,
// docs/futures-file.md), validated and made executable by loom::read_futures_file, the
// public reader (src/futures_file.cpp, src/futures_document.cpp). The input is the
// file's text.
//
// The entities a file may name are the examples' (count_characters, merge_sort) and
// those of tests/schema/futures_forms.cpp, which use every binding and type form (lists,
// maps, a subworkflow, records, tuples, optionals, a map node, stored literals), so that
// real files taken from stored runs of them (fuzz/corpus/fuzz_futures_file/) validate.
// The reader gets an object store holding the stored literals of a run of `forms`
// (execution "forms", made at start-up as the corpus's file was), so {"stored": key}
// bindings are read too.
//
// The rules checked: a file is accepted, or refused with loom::futures_error listing
// its problems (never a crash, a hang or another exception); what is accepted is
// written back by write_futures_text and that text is accepted again.
#include <loom/futures_file.hpp>
#include <loom/generated.hpp>
#include <loom/object_store.hpp>

#include "../examples/count_characters.hpp"
#include "../examples/merge_sort.hpp"
#include "fuzz_support.hpp"

// The entities of futures_forms (its main() renamed: this program's is libFuzzer's).
#define main futures_forms_main
#include "schema/futures_forms.cpp"
#undef main

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace {

// The examples' input names, as their generated code registers them.
[[maybe_unused]] const bool registered = [] {
  using loom::detail::register_generated;
  register_generated(return_index, {"character"}, {nullptr});
  register_generated(update_list, {"freq_list", "list_index"}, {nullptr, nullptr});
  register_generated(derive_count, {"freq1", "freq2"}, {nullptr, nullptr});
  register_generated(count_characters, {"s1", "s2"}, {nullptr, nullptr});
  register_generated(split, {"numbers"}, {nullptr});
  register_generated(merge, {"sorted_list1", "sorted_list2"}, {nullptr, nullptr});
  register_generated(sort_locally, {"numbers"}, {nullptr});
  register_generated(merge_sort_remotely, {"numbers", "threshold"}, {nullptr, nullptr});
  register_generated(merge_sort, {"numbers", "threshold"}, {nullptr, nullptr});
  loom::register_entities(forms::forms, forms::square, forms::total, forms::to_text, forms::join, forms::weigh,
                          forms::place, forms::pair_total);
  return true;
}();

/// A store with the stored literals of forms(4), run as execution "forms" with
/// futures_forms' inline limit.
const loom::object_store& forms_store() {
  static const loom::object_store store = [] {
    loom::object_store s(loom_fuzz::scratch_directory() / "store");
    loom::run_options options;
    options.store = &s;
    options.execution_id = "forms";
    options.inline_literal_bytes = 16;
    loom::executor ex({.threads = 1});
    (void)ex.run(options, forms::forms, std::int64_t{4});
    return s;
  }();
  return store;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  loom::futures_read_options options;
  options.max_nodes = 10'000;
  options.store = &forms_store();
  std::unique_ptr<loom::detail::graph> graph;
  std::string workflow;
  try {
    graph = loom::read_futures_file(text, "fuzz.json", options);
    workflow = loom::json::parse(text).at("workflow").get<std::string>();
  } catch (const loom::futures_error& e) {
    loom_fuzz::check_message(e);
    loom_fuzz::check(!e.problems().empty(), "a futures file refused without a problem");
    return 0;
  }
  const std::string again = loom::write_futures_text(*graph, workflow);
  try {
    (void)loom::read_futures_file(again, "again.json", options);
  } catch (const loom::futures_error& e) {
    loom_fuzz::fail(std::string("a futures file read and written again is refused: ") + e.what() + "\n" + again);
  }
  return 0;
}
