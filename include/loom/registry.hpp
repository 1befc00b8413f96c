// loom/registry.hpp — the tasks and workflows a process knows by name, with their
// interfaces and type-erased entry points. A futures file names entities; reading one
// back (in this process or another) resolves the names here. Entities register
// themselves the first time a builder records them; `loom::register_entities(...)`
// registers them up front (a process that only reads futures files needs that).
// Its non-template code is compiled once into loom::runtime (src/registry.cpp).
// The registry itself is in loom/detail/registry.hpp (which Loom's own headers include
// without <nlohmann/json.hpp>); this header adds JSON for entity_interface's to_json
// and from_json.
#pragma once

#include <loom/detail/registry.hpp>

#include <nlohmann/json.hpp>
