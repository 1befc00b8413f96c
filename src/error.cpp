// src/error.cpp — the constructors of Loom's exceptions (loom/error.hpp), compiled once:
// every workflow translation unit throws them, none needs to build their messages.
#include <loom/error.hpp>

#include <string>
#include <utility>
#include <vector>

namespace loom {

LOOM_FUNC literal_error::literal_error(std::string path, std::string problem)
    : error(path + ": " + problem), path_(std::move(path)), problem_(std::move(problem)) {}

LOOM_FUNC task_failed::task_failed(std::string node_path, std::string task_name, std::string message)
    : error("node " + node_path + " (task '" + task_name + "') failed: " + message),
      node_path_(std::move(node_path)),
      task_name_(std::move(task_name)),
      message_(std::move(message)) {}

LOOM_FUNC object_corrupt::object_corrupt(std::string key, std::string problem)
    : error("object store: " + key + " is damaged (" + problem + ")"), key_(std::move(key)), problem_(std::move(problem)) {}

LOOM_FUNC futures_error::futures_error(std::string where, std::vector<std::string> problems)
    : error(summary(where, problems)), where_(std::move(where)), problems_(std::move(problems)) {}

LOOM_FUNC std::string futures_error::summary(const std::string& where, const std::vector<std::string>& problems) {
  std::string out = "futures file " + where + " rejected (" + std::to_string(problems.size()) +
                    (problems.size() == 1 ? " problem)" : " problems)");
  for (const auto& p : problems) out += "\n  - " + p;
  return out;
}

}  // namespace loom
