// loom/cli.hpp — the command line every workflow binary gets:
//
//   BINARY run NAME [--INPUT VALUE]... [--store DIR] [--threads N] [--execution-id ID]
//                   [--max-depth N] [--max-dynamic-nodes N] [--map-checkpoint-ms N] [--verify-futures]
//                   [--backend thread|process] [--overwrite-cache] [--quiet]
//   BINARY graph NAME [--INPUT VALUE]... [same options]   # the executed DAG, as DOT
//   BINARY resume ID --store DIR [--threads N] [--backend thread|process] [limits]
//                                                          # continue a recorded execution
//   BINARY list                                            # the entities it knows
//
// `run` prints the outputs as one JSON object on stdout ({"o0": 3}) and nothing else
// there. Values are JSON; a plain string is a string. Exit codes: 0 success, 1 the run
// failed, 2 bad command line (unknown name, missing or malformed input).
//
// `--backend process` runs every task node (and every dynamic node's body) in a fresh
// process of this binary, through the hidden verb `BINARY exec-node NAME ...` (see
// loom/process_backend.hpp); at most --threads of them at a time.
//
// run_command_line and its parsing are compiled once into loom::runtime (src/cli.cpp);
// loom::main, a template over the entities it registers, stays here.
#pragma once

#include <loom/detail/config.hpp>
#include <loom/detail/registry.hpp>

#include <exception>
#include <iostream>
#include <ostream>

namespace loom {

/// The command line of a workflow binary, on the given streams (testable).
int run_command_line(int argc, char** argv, std::ostream& out, std::ostream& err);

/// `int main(int argc, char** argv) { return loom::main(argc, argv, start_wf, ...); }`:
/// registers the given entities (and, for static workflows, what they call) and runs
/// the command line.
template <class... E>
int main(int argc, char** argv, const E&... entities) {
  try {
    register_entities(entities...);
  } catch (const std::exception& e) {
    std::cerr << (argc > 0 ? argv[0] : "loom") << ": " << e.what() << '\n';
    return 2;
  }
  return run_command_line(argc, argv, std::cout, std::cerr);
}

}  // namespace loom
