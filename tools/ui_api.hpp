// tools/ui_api.hpp — what `loom ui` answers under /api (docs/ui.md): JSON built from a
// store opened read-only (store_view.hpp), apart from HTTP so that it is tested without
// a server. Each answer opens the store, reads, and closes it; the node tree of an
// execution is kept between answers until the store changes (a 10,000-node level is
// paged through without reading its graphs again for every page).
#pragma once

#include "store_view.hpp"

#include <nlohmann/json.hpp>

#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

namespace loom_tool {

/// An answer: its HTTP status and its JSON text ({"error": ...} unless 200).
struct api_answer {
  int status = 200;
  std::string body;
};

/// The query string's parameters (decoded).
using api_params = std::multimap<std::string, std::string>;

class ui_api {
 public:
  /// `store_root` must exist (checked by the caller: `loom ui` refuses to start without it).
  explicit ui_api(std::filesystem::path store_root);

  /// The store changed (the server's watcher saw it): trees read before are stale.
  void changed(std::uint64_t version);
  [[nodiscard]] std::uint64_t version() const;

  /// GET /api/executions, /api/executions/ID and /api/executions/ID/WHAT (children,
  /// node, graph, items, item, timeline). `what` empty: the execution itself.
  api_answer executions(const api_params& params);
  api_answer execution(const std::string& id, const std::string& what, const api_params& params);

  /// Whether the page a deep link names exists: the execution, a node of it, an item of
  /// that node (a map node's). The server answers 404 when not; nothing when the store
  /// cannot be read now (503).
  std::optional<bool> page_exists(const std::string& id, const std::optional<std::string>& path,
                                  const std::optional<std::uint64_t>& item);

 private:
  struct loaded {
    std::uint64_t version = 0;
    std::shared_ptr<const execution_tree> tree;
    std::uint64_t used = 0;  // when it was last read (uses_)
  };
  api_answer list_executions(const api_params& params);
  api_answer answer_execution(const std::string& id, const std::string& what, const api_params& params);
  bool look_up(const std::string& id, const std::optional<std::string>& path, const std::optional<std::uint64_t>& item);
  std::shared_ptr<const execution_tree> tree_of(store& s, const std::string& id);
  /// The store for one answer: the database opened for it, the objects shared by all.
  [[nodiscard]] store open_store() const;

  std::filesystem::path root_;
  loom::object_store objects_;
  mutable std::mutex mutex_;
  std::uint64_t version_ = 0;
  std::map<std::string, loaded> trees_;  // by execution id: the last few read
  std::uint64_t uses_ = 0;
};

/// A node as the API summarises it (docs/ui.md).
nlohmann::ordered_json node_summary(const tree_node& n);

}  // namespace loom_tool
