// tools/ui_server.hpp — `loom ui`: an HTTP server (cpp-httplib) of the page built into
// the program (ui_assets.hpp) and of the JSON of ui_api.hpp, with the store's changes
// pushed as Server-Sent Events. docs/ui.md is the contract: pages, API, security.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>

namespace loom_tool {

struct ui_options {
  std::filesystem::path store;
  std::string bind = "127.0.0.1";
  int port = 8080;  // 0: any free port
  /// How often the store is looked at for changes.
  int watch_ms = 100;
  /// A comment on each event stream this often, so that proxies and browsers keep it.
  int heartbeat_ms = 15000;
  /// Event streams open at once, at most (one more is refused with 503).
  int max_streams = 16;
};

/// Serves until SIGINT or SIGTERM; prints "loom ui: http://ADDRESS:PORT/ ..." first.
/// Returns the exit code: 0 after a signal, 1 when it cannot listen.
int run_ui(const ui_options& options);

}  // namespace loom_tool
