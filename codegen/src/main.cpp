// loom-codegen: reads one translation unit with the compile flags of the user's build
// and writes what templates cannot see (serializers for plain structs and enums, input
// names and defaults, the registration of every entity) plus a JSON manifest.
//
//   loom-codegen SOURCE -p BUILD_DIR --output GEN.inc --manifest GEN.json [--depfile GEN.d]
//   loom-codegen SOURCE --output GEN.inc --manifest GEN.json -- COMPILER FLAGS...
//   loom-codegen --merge OUT.json IN.json...     # one manifest for a target
//
// Exit codes: 0 done, 1 the source does not parse or has a type loom cannot serialize
// (each reported as file:line:col: error: ...), 2 bad command line.
#include "generator.hpp"
#include "model.hpp"
#include "visitor.hpp"

#include <clang/Tooling/ArgumentsAdjusters.h>
#include <clang/Tooling/CompilationDatabase.h>
#include <clang/Tooling/Tooling.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

namespace {

using loom::codegen::json;

const char* const usage =
    "usage: loom-codegen SOURCE (-p BUILD_DIR | -- COMPILER FLAGS...) --output FILE.inc --manifest FILE.json\n"
    "                    [--depfile FILE.d]\n"
    "       loom-codegen --merge OUT.json IN.json...\n"
    "Reads SOURCE with its compile command (from BUILD_DIR/compile_commands.json, or the command after --)\n"
    "and writes the generated code (to append to SOURCE's translation unit) and a manifest.\n";

struct usage_error : std::runtime_error {
  using std::runtime_error::runtime_error;
};

/// Writes a file whole (through a temporary file and a rename: never half-written).
void write_file(const std::filesystem::path& path, const std::string& text) {
  if (path.has_parent_path()) std::filesystem::create_directories(path.parent_path());
  const auto tmp = path.string() + ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    if (!out) throw std::runtime_error("cannot write " + tmp);
    out << text;
    if (!out.flush()) throw std::runtime_error("cannot write " + tmp);
  }
  std::filesystem::rename(tmp, path);
}

/// Writes `text` to `path` only if it differs, so that an unchanged result does not
/// trigger a rebuild of what depends on it.
void write_if_changed(const std::filesystem::path& path, const std::string& text) {
  {
    std::ifstream in(path, std::ios::binary);
    if (in) {
      std::ostringstream old;
      old << in.rdbuf();
      if (old.str() == text) return;
    }
  }
  write_file(path, text);
}

std::string depfile_escape(const std::string& path) {
  std::string out;
  for (const char c : path) {
    if (c == ' ' || c == '#' || c == '\\') out += '\\';
    if (c == '$') out += '$';
    out += c;
  }
  return out;
}

json read_json(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw std::runtime_error("cannot read " + path);
  try {
    return json::parse(in);
  } catch (const json::exception& e) {
    throw std::runtime_error(path + ": not a manifest: " + e.what());
  }
}

int merge(const std::vector<std::string>& args) {
  if (args.size() < 2) throw usage_error("--merge needs an output file");
  std::vector<json> manifests;
  for (std::size_t i = 2; i < args.size(); ++i) manifests.push_back(read_json(args[i]));
  write_if_changed(args[1], loom::codegen::merge_manifests(manifests).dump(2) + "\n");
  return 0;
}

int generate(const std::vector<std::string>& args) {
  std::string source, build_dir, output, manifest, depfile;
  std::vector<std::string> command;
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    auto value = [&]() -> const std::string& {
      if (i + 1 >= args.size()) throw usage_error(a + " needs a value");
      return args[++i];
    };
    if (a == "--") {
      command.assign(args.begin() + static_cast<std::ptrdiff_t>(i) + 1, args.end());
      break;
    }
    if (a == "-p") build_dir = value();
    else if (a == "--output") output = value();
    else if (a == "--manifest") manifest = value();
    else if (a == "--depfile") depfile = value();
    else if (a.rfind("-", 0) == 0) throw usage_error("unknown option '" + a + "'");
    else if (source.empty()) source = a;
    else throw usage_error("one source at a time (got '" + source + "' and '" + a + "')");
  }
  if (source.empty()) throw usage_error("which source?");
  if (output.empty() || manifest.empty()) throw usage_error("--output and --manifest are required");
  if (build_dir.empty() == command.empty()) throw usage_error("give either -p BUILD_DIR or -- COMPILER FLAGS...");
  source = std::filesystem::absolute(source).lexically_normal().string();

  std::unique_ptr<clang::tooling::CompilationDatabase> db;
  std::string problem;
  if (!build_dir.empty()) {
    db = clang::tooling::CompilationDatabase::loadFromDirectory(build_dir, problem);
    if (!db) throw std::runtime_error("no compilation database in " + build_dir + ": " + problem);
    if (db->getCompileCommands(source).empty()) {
      throw std::runtime_error(source + " is not in " + build_dir + "/compile_commands.json");
    }
  } else {
    // FixedCompilationDatabase takes the flags without the compiler's name.
    db = std::make_unique<clang::tooling::FixedCompilationDatabase>(
        ".", std::vector<std::string>(command.begin() + (command.empty() ? 0 : 1), command.end()));
  }

  clang::tooling::ClangTool tool(*db, {source});
  // The tool parses with Clang whatever compiler the build uses: its builtin headers,
  // LOOM_CODEGEN (the wrapper then skips the generated file it is producing), and no
  // complaint about flags only g++ knows.
  tool.appendArgumentsAdjuster(clang::tooling::getInsertArgumentAdjuster(
      {"-resource-dir", LOOM_CODEGEN_RESOURCE_DIR, "-DLOOM_CODEGEN=1", "-Wno-unknown-warning-option",
       "-Wno-unused-command-line-argument"},
      clang::tooling::ArgumentInsertPosition::BEGIN));

  loom::codegen::visit_result result;
  struct factory : clang::tooling::FrontendActionFactory {
    loom::codegen::visit_result* out;
    std::unique_ptr<clang::FrontendAction> create() override { return loom::codegen::make_visit_action(*out); }
  } action_factory;
  action_factory.out = &result;
  const int status = tool.run(&action_factory);
  if (status != 0) {
    std::cerr << "loom-codegen: " << source << " does not compile (see the errors above)\n";
    return 1;
  }
  if (!result.errors.empty()) {
    for (const auto& e : result.errors) std::cerr << e.location << ": error: " << e.message << '\n';
    std::cerr << "loom-codegen: " << result.errors.size() << " error(s) in " << source << '\n';
    return 1;
  }
  // The generated code is rewritten only when it changes (what includes it is then not
  // recompiled); the manifest, the build's primary output, is always rewritten.
  write_if_changed(output, loom::codegen::generate_code(result.model));
  write_file(manifest, loom::codegen::manifest_json(result.model).dump(2) + "\n");
  if (!depfile.empty()) {
    std::string deps = depfile_escape(manifest) + ":";
    for (const auto& f : result.files_read) deps += " \\\n  " + depfile_escape(f);
    write_file(depfile, deps + "\n");
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  try {
    if (args.empty() || args[0] == "--help" || args[0] == "-h") {
      (args.empty() ? std::cerr : std::cout) << usage;
      return args.empty() ? 2 : 0;
    }
    if (args[0] == "--merge") return merge(args);
    return generate(args);
  } catch (const usage_error& e) {
    std::cerr << "loom-codegen: " << e.what() << '\n' << usage;
    return 2;
  } catch (const std::exception& e) {
    std::cerr << "loom-codegen: " << e.what() << '\n';
    return 1;
  }
}
