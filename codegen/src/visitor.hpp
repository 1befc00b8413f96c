// The visitor: walks a parsed translation unit and builds its model — every
// loom::task, loom::dynamic and loom::workflow object at namespace (or class) scope,
// their interfaces, and every user type reachable from their signatures. Types that
// cannot be serialized become diagnostics with file:line:col, the type and the reason.
#pragma once

#include "model.hpp"

#include <clang/Frontend/FrontendAction.h>

#include <memory>
#include <set>
#include <string>
#include <vector>

namespace loom::codegen {

struct diagnostic {
  std::string location;  // file:line:col
  std::string message;
};

struct visit_result {
  tu_model model;
  std::vector<diagnostic> errors;
  std::set<std::string> files_read;  // for the depfile: the source and every header it includes
};

/// The frontend action that fills `out` (one translation unit per run).
std::unique_ptr<clang::FrontendAction> make_visit_action(visit_result& out);

}  // namespace loom::codegen
