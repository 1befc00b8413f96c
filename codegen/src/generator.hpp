// The generator: the model of a translation unit as C++ (appended to that translation
// unit by loom_generate's wrapper, so it can name every type the TU declares, even in
// an anonymous namespace): serializers and type descriptors for plain structs and
// enums, and the registration of every entity with its input names and defaults.
#pragma once

#include "model.hpp"

#include <string>

namespace loom::codegen {

std::string generate_code(const tu_model& model);

}  // namespace loom::codegen
