// loom/type_descriptor.hpp — the schema of a task value: printable, comparable and
// serializable, so that a futures file written by one process can be type-checked by
// another without the C++ types at hand. Its non-template code is compiled once into
// loom::runtime (src/type_descriptor.cpp). The class is defined in
// loom/detail/type_descriptor.hpp (which Loom's own headers include without
// <nlohmann/json.hpp>); this header adds JSON for to_json() and from_json().
#pragma once

#include <loom/detail/type_descriptor.hpp>

#include <nlohmann/json.hpp>

#include <ostream>
