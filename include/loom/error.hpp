// loom/error.hpp — the exceptions Loom throws. Every one derives from loom::error
// (itself a std::runtime_error), so `catch (const std::exception&)` sees them all.
// Their constructors are compiled once into loom::runtime (src/error.cpp).
#pragma once

#include <loom/detail/config.hpp>

#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace loom {

class error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// A literal (JSON) value does not have the shape its type requires.
/// what(): "freq_list[3]: expected integer, got string".
class literal_error : public error {
 public:
  literal_error(std::string path, std::string problem);
  /// Where inside the value: `freq_list[3]`, `point.x`, `scores["ann"]`.
  [[nodiscard]] const std::string& path() const { return path_; }
  [[nodiscard]] const std::string& problem() const { return problem_; }

 private:
  std::string path_;
  std::string problem_;
};

/// A node failed during a run. what() names the node path and the task and carries
/// the original message: "node n3 (task 'derive_count') failed: division by zero".
class task_failed : public error {
 public:
  task_failed(std::string node_path, std::string task_name, std::string message);
  [[nodiscard]] const std::string& node_path() const { return node_path_; }
  [[nodiscard]] const std::string& task_name() const { return task_name_; }
  /// The failing task's own message (what() of what it threw).
  [[nodiscard]] const std::string& original_message() const { return message_; }

 private:
  std::string node_path_;
  std::string task_name_;
  std::string message_;
};

/// A stored object whose bytes are not what was written: truncated, or not matching the
/// checksum stored with them. Never used: what(): "object store: ex-1/n0/outputs.json is
/// damaged (…/ex-1/n0/outputs.json: checksum mismatch)".
class object_corrupt : public error {
 public:
  object_corrupt(std::string key, std::string problem);
  [[nodiscard]] const std::string& key() const { return key_; }
  [[nodiscard]] const std::string& problem() const { return problem_; }

 private:
  std::string key_;
  std::string problem_;
};

}  // namespace loom

namespace loom {

/// A futures file that cannot be executed: every problem found, each naming the node,
/// the input and the types involved. Nothing of the file has run.
class futures_error : public error {
 public:
  futures_error(std::string where, std::vector<std::string> problems);
  [[nodiscard]] const std::string& where() const { return where_; }
  [[nodiscard]] const std::vector<std::string>& problems() const { return problems_; }

 private:
  static std::string summary(const std::string& where, const std::vector<std::string>& problems);
  std::string where_;
  std::vector<std::string> problems_;
};

/// Runs `f`; the message of what it threw, or "" when it returned (for code that
/// records failures as text: a map's items, a node process).
template <class F>
std::string failure_message(F&& f) {
  try {
    f();
    return {};
  } catch (const std::exception& e) {
    return e.what();
  } catch (...) {
    return "unknown exception (not derived from std::exception)";
  }
}

}  // namespace loom
