// The futures file of the seed's count_characters on two random 50,000-letter strings:
// a sub-DAG of 200,001 nodes written as JSON, then parsed and validated into an
// executable graph, as another process would.
//
//   bench_dynamic_futures_file [--length N] [--reps R (default 7)] [--stored-length M]
//
// The sub-DAG is the one a run executes: taken from a run's trace (run_options::trace)
// of start_wf(s1, s2). On a small input (--stored-length letters, default 500) the file
// written here is checked to be byte for byte the one a stored run
// (run_options::store) keeps as <execution>/n0/futures.json.
//
// Timed separately: write (write_futures_text: straight from the graph to text), and
// parse + validate (read_futures_file(text, ...)), and the same without asking for huge
// pages for the graph's large arrays (loom/detail/huge_pages.hpp), alternately; then the parts of reading as the
// reader does them (loom/detail/futures_document.hpp): the text parsed by simdjson with
// the frame checked (futures_document::read_frame; its parser is the one the reader
// reuses from read to read), and the rest (entities, the graph's checks, building it;
// derived from the medians). For comparison, the nlohmann::json document the reader
// built before (json::parse, destroying it), and dumping it: what writing cost when it
// built a document first (issue 3's writer). Then whole runs with and without
// run_options::verify_futures (the executor writing and reading the file in the run).
#include <loom/loom.hpp>  // (the example includes only what it uses)
#include "../../examples/count_characters.hpp"
#include <loom/object_store.hpp>
#include <loom/detail/futures_document.hpp>
#include <loom/detail/huge_pages.hpp>
#include <loom/futures_file.hpp>

#include "bench_util.hpp"

#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <random>
#include <string>
#include <vector>

namespace {

/// The sub-DAG of count_characters(s1, s2), as the executor ran it.
std::shared_ptr<const loom::detail::graph> sub_dag(const std::string& s1, const std::string& s2) {
  loom::executor ex({.threads = 1});
  loom::run_trace trace;
  loom::run_options options;
  options.trace = &trace;
  (void)ex.run(options, start_wf, s1, s2);
  for (const auto& frame : trace.frames()) {
    if (frame.path == "n0") return frame.graph;
  }
  std::fprintf(stderr, "no frame n0 in the trace\n");
  std::exit(1);
}

// One line: wall-clock median, min, max; CPU-time median; wall µs per node.
void row(const char* what, const bench::samples& s, double nodes) {
  std::printf("%-46s %9.2f %9.2f %9.2f %9.2f %8.3f\n", what, s.median(), s.min(), s.max(), s.cpu_median(),
              1000.0 * s.median() / nodes);
}

}  // namespace

int main(int argc, char** argv) {
  const auto length = static_cast<std::size_t>(bench::int_arg(argc, argv, "--length", 50'000));
  const int reps = bench::int_arg(argc, argv, "--reps", 7);
  const auto stored_length = static_cast<std::size_t>(bench::int_arg(argc, argv, "--stored-length", 500));
  const std::string s1 = bench::random_letters(length, 1);
  const std::string s2 = bench::random_letters(length, 2);
  bench::print_machine("bench_dynamic_futures_file");

  loom::register_entities(start_wf, count_characters, return_index, update_list, derive_count);
  const loom::detail::entity_info* counting = loom::detail::registry::global().find("count_characters");
  if (counting == nullptr) {
    std::fprintf(stderr, "count_characters is not registered\n");
    return 1;
  }

  // The trace's sub-DAG gives the same file as a stored run (checked on a small input).
  {
    const std::string a = bench::random_letters(stored_length, 3), b = bench::random_letters(stored_length, 4);
    const auto dir = std::filesystem::temp_directory_path() / ("loom-bench-futures-" + std::to_string(::getpid()));
    std::filesystem::remove_all(dir);
    std::string stored;
    {
      loom::object_store store(dir);
      loom::executor ex({.threads = 1});
      loom::run_options options;
      options.store = &store;
      options.execution_id = "bench";
      const auto start = bench::clock::now();
      (void)ex.run(options, start_wf, a, b);
      const double ms = bench::ms_since(start);
      stored = store.get("bench/n0/futures.json").value_or("");
      std::printf("# stored run of %zu + %zu letters (%zu nodes, one outputs.json per node): %.1f ms, %zu objects\n",
                  a.size(), b.size(), 4 * stored_length + 1, ms, store.list().size());
    }
    std::filesystem::remove_all(dir);
    const std::string traced = loom::write_futures_text(*sub_dag(a, b), "count_characters");
    if (stored.empty() || stored != traced) {
      std::fprintf(stderr, "the traced sub-DAG's file differs from the stored run's futures.json\n");
      return 1;
    }
    std::printf("# the trace's sub-DAG writes the stored run's futures.json byte for byte (%zu bytes)\n",
                stored.size());
  }

  const auto g = sub_dag(s1, s2);
  const double nodes = static_cast<double>(g->nodes.size());
  std::printf("# two random strings of %zu letters: %zu nodes; median of %d runs (1 warm-up)\n", length,
              g->nodes.size(), reps);

  // The operations as the executor does them (each destroys its temporaries)...
  std::string text;
  const auto write = bench::time_reps(reps, 1, [&] { text = loom::write_futures_text(*g, "count_characters"); });
  // ...and stored as a recorded run stores it (object_store::put: the file, its SHA-256
  // checksum file, both synced), under $TMPDIR (default /tmp: a disk here).
  bench::samples put;
  {
    const auto dir = std::filesystem::temp_directory_path() / ("loom-bench-futures-put-" + std::to_string(::getpid()));
    std::filesystem::remove_all(dir);
    loom::object_store store(dir);
    int n = 0;
    put = bench::time_reps(reps, 1, [&] { store.put("bench/n" + std::to_string(n++) + "/futures.json", text); });
    std::filesystem::remove_all(dir);
  }
  // The graphs read are kept until the end: freeing one is not part of reading it.
  std::vector<std::unique_ptr<loom::detail::graph>> graphs_read;
  // Read with the graph's large arrays in huge pages where the system offers them
  // (loom/detail/huge_pages.hpp; the default), and without, alternately.
  bench::samples read, read_small_pages;
  for (int i = 0; i < reps + 1; ++i) {
    for (const bool huge : {true, false}) {
      loom::detail::huge_page_advice = huge;
      const double cpu = bench::process_cpu_ms();
      const auto start = bench::clock::now();
      graphs_read.push_back(loom::read_futures_file(text, "bench.json", {}, counting));
      if (i == 0) continue;  // a warm-up
      bench::samples& into = huge ? read : read_small_pages;
      into.ms.push_back(bench::ms_since(start));
      into.cpu_ms.push_back(bench::process_cpu_ms() - cpu);
    }
  }
  loom::detail::huge_page_advice = true;
  const auto& back = graphs_read.back();
  // ... and the parts of reading: the text parsed (simdjson) and its frame checked, as
  // read_futures_file does it; for comparison, the document the reader built before
  // (nlohmann::json), destroyed, and dumping it, against writing text directly.
  bench::samples frame, dump, parse, destroy_parsed;
  for (int i = 0; i < reps + 1; ++i) {
    const bool keep = i > 0;  // the first round is a warm-up
    std::unique_ptr<loom::json> parsed;
    std::string dumped;
    auto step = [&](bench::samples& into, auto&& fn) {
      const double cpu = bench::process_cpu_ms();
      const auto start = bench::clock::now();
      fn();
      if (keep) {
        into.ms.push_back(bench::ms_since(start));
        into.cpu_ms.push_back(bench::process_cpu_ms() - cpu);
      }
    };
    {
      loom::detail::futures_document_options options;
      options.keep_document = false;  // as read_futures_file reads
      loom::detail::futures_document doc(options);
      bool framed = false;
      step(frame, [&] { framed = doc.read_frame(text); });
      if (!framed) {
        std::fprintf(stderr, "futures_document::read_frame refused the file\n");
        return 1;
      }
    }  // (its parser goes back for the next read)
    step(parse, [&] { parsed = std::make_unique<loom::json>(loom::json::parse(text)); });
    step(dump, [&] { dumped = parsed->dump(); });
    step(destroy_parsed, [&] { parsed.reset(); });
    // The text writer writes what nlohmann would dump: compact, keys in order.
    if (dumped != text) {
      std::fprintf(stderr, "write_futures_text differs from nlohmann's dump of the same document\n");
      return 1;
    }
  }

  // What was read is what was written.
  if (back->nodes.size() != g->nodes.size() || loom::write_futures_text(*back, "count_characters") != text) {
    std::fprintf(stderr, "the graph read back does not write the same file\n");
    return 1;
  }

  loom::executor ex({.threads = 1});
  loom::run_options plain_run;
  loom::run_options verified;
  verified.verify_futures = true;
  const auto run_plain = bench::time_reps(reps, 1, [&] { (void)ex.run(plain_run, start_wf, s1, s2); });
  const auto run_verified = bench::time_reps(reps, 1, [&] { (void)ex.run(verified, start_wf, s1, s2); });

  std::printf("# futures file: %zu bytes, %.1f bytes per node\n", text.size(), static_cast<double>(text.size()) / nodes);
  std::printf("\n%-46s %9s %9s %9s %9s %8s\n", "step", "median ms", "min ms", "max ms", "cpu ms", "us/node");
  row("write: write_futures_text (no document)", write, nodes);
  row("store: object_store::put of the file, synced", put, nodes);
  row("parse + validate: read_futures_file(text)", read, nodes);
  bench::samples sum;
  sum.ms = {write.median() + read.median()};
  sum.cpu_ms = {write.cpu_median() + read.cpu_median()};
  row("write + parse + validate (sum of medians)", sum, nodes);
  row("parse + validate, no huge-page advice", read_small_pages, nodes);
  std::printf("\n# parts of reading\n");
  row("read: parse (simdjson), check the frame", frame, nodes);
  bench::samples rest;
  rest.ms = {read.median() - frame.median()};
  rest.cpu_ms = {read.cpu_median() - frame.cpu_median()};
  row("read: the rest (validate, build the graph)", rest, nodes);
  std::printf("\n# for comparison: the nlohmann::json document the reader built before\n");
  row("json::parse(text) into a document", parse, nodes);
  row("destroy the parsed document", destroy_parsed, nodes);
  row("dump() the parsed document", dump, nodes);
  std::printf("\n# whole runs of start_wf(s1, s2), executor threads=1\n");
  row("run, in memory", run_plain, nodes);
  row("run, verify_futures = true", run_verified, nodes);
  std::printf("# load average at end: %s\n", bench::load_average().c_str());
  return 0;
}
