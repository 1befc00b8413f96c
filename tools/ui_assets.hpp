// tools/ui_assets.hpp — the files of `loom ui`'s page (tools/ui/assets/), built into the
// program by tools/ui/embed_assets.cmake: it serves them without reading any file.
#pragma once

#include <string_view>
#include <vector>

namespace loom_tool {

struct ui_asset_file {
  std::string_view name;  // "app.js"
  std::string_view type;  // its Content-Type
  std::string_view bytes;
};

/// Every asset, in the order CMake listed them.
const std::vector<ui_asset_file>& ui_assets();

}  // namespace loom_tool
