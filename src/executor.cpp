// src/executor.cpp — loom::executor's out-of-line members: they hand over to the
// scheduler (src/scheduler.hpp).
#include "scheduler.hpp"

#include <cstdio>
#include <ctime>

#include <unistd.h>

namespace loom {

namespace detail {

LOOM_FUNC std::string& last_execution_id() {
  static thread_local std::string id;
  return id;
}

}  // namespace detail

LOOM_FUNC executor::executor(executor_options options)
    : options_(options), scheduler_(std::make_unique<detail::scheduler>(options.threads)) {}

LOOM_FUNC executor::~executor() = default;

LOOM_FUNC std::size_t executor::thread_count() const { return scheduler_->thread_count(); }

LOOM_FUNC void executor::run_graph(const detail::graph& g, const run_options& options,
                                   const std::function<void(detail::any_value*)>& fill,
                                   const std::function<void(detail::any_value*)>& read) {
  scheduler_->run_graph(g, options, fill, read);
}

LOOM_FUNC std::vector<detail::any_value> executor::run_erased(const detail::entity_info& info,
                                                              std::vector<detail::any_value> inputs,
                                                              const run_options& options) {
  if (inputs.size() != info.interface.inputs.size()) {
    throw error("'" + info.name + "' takes " + std::to_string(info.interface.inputs.size()) + " inputs, " +
                std::to_string(inputs.size()) + " given");
  }
  // A static workflow runs as its own graph (node paths as in a native call).
  detail::graph single;
  if (info.kind != detail::node_kind::workflow) single = detail::single_node_graph(info);
  const detail::graph& g = info.kind == detail::node_kind::workflow ? info.subgraph() : single;
  std::vector<detail::any_value> outputs;
  run_graph(
      g, options,
      [&](detail::any_value* slots) {
        for (std::size_t i = 0; i < inputs.size(); ++i) slots[i] = std::move(inputs[i]);
      },
      [&](detail::any_value* slots) {
        for (const auto& b : g.outputs) outputs.push_back(detail::copy_binding(g, b, slots));
      });
  return outputs;
}

LOOM_FUNC const std::string& executor::last_execution_id() { return detail::last_execution_id(); }

LOOM_FUNC std::string executor::new_execution_id() {
  const auto now = std::chrono::system_clock::now();
  const std::time_t t = std::chrono::system_clock::to_time_t(now);
  std::tm parts{};
  gmtime_r(&t, &parts);
  char stamp[32];
  std::strftime(stamp, sizeof stamp, "%Y%m%d-%H%M%S", &parts);
  static std::atomic<std::uint64_t> counter{0};
  const auto noise = static_cast<std::uint64_t>(now.time_since_epoch().count()) ^
                     (counter.fetch_add(1) * 0x9E3779B97F4A7C15ULL) ^ (static_cast<std::uint64_t>(::getpid()) << 20);
  char suffix[16];
  std::snprintf(suffix, sizeof suffix, "%06llx", static_cast<unsigned long long>(noise & 0xFFFFFF));
  return std::string("ex-") + stamp + "-" + suffix;
}

LOOM_FUNC executor& executor::shared() {
  static executor instance;
  return instance;
}

}  // namespace loom
