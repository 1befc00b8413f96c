// src/cli.cpp — the command line every workflow binary gets (loom/cli.hpp): parsing
// it, the progress line, and run_command_line.
#include <loom/cli.hpp>

#include <loom/dot.hpp>
#include <loom/executor.hpp>
#include <loom/object_store.hpp>
#include <loom/process_backend.hpp>
#include <loom/registry.hpp>
#include <loom/slurm.hpp>

#include <algorithm>
#include <chrono>
#include <csignal>

#include <arpa/inet.h>
#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <iostream>
#include <mutex>
#include <optional>
#include <ostream>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include <unistd.h>

namespace loom {

namespace detail {

class usage_error : public error {
 public:
  using error::error;
};

LOOM_FUNC std::size_t parse_count(std::string_view flag, const std::string& text) {
  const auto value = parse_non_negative(text);
  if (!value) throw usage_error("--" + std::string(flag) + ": expected a non-negative integer, got '" + text + "'");
  return *value;
}

/// A command-line value for an input: JSON, or (for string inputs) the text itself.
LOOM_FUNC any_value parse_input_value(const entity_info& info, std::size_t i, const std::string& text) {
  const port& p = info.interface.inputs[i];
  json value;
  bool parsed = true;
  try {
    value = json::parse(text);
  } catch (const json::parse_error&) {
    parsed = false;
  }
  // A string, or an enumerator's name, may be given as plain text.
  const bool text_value = p.type.kind() == type_kind::string || p.type.kind() == type_kind::enumeration;
  if (text_value && (!parsed || !value.is_string())) value = text;
  else if (!parsed) {
    throw usage_error("--" + p.name + ": '" + text + "' is not valid JSON for " + p.type.to_string());
  }
  try {
    return info.input_codecs[i].decode(value, p.name);
  } catch (const literal_error& e) {
    throw usage_error("--" + p.name + ": " + e.what());
  }
}

struct parsed_command {
  std::string verb;
  const entity_info* entity = nullptr;
  std::vector<any_value> inputs;
  run_options options;
  std::optional<std::string> store_root;
  std::size_t threads = 0;
  bool quiet = false;  // no progress line
};

/// The live progress line of a run on a terminal: nodes done of those known, running,
/// failed, and the time so far, redrawn in place a few times a second on standard
/// error; the last state stays on its own line at the end.
class progress_line {
 public:
  progress_line(std::ostream& err, const run_progress& progress)
      : err_(err), progress_(progress), start_(std::chrono::steady_clock::now()), thread_([this] { loop(); }) {}
  progress_line(const progress_line&) = delete;
  progress_line& operator=(const progress_line&) = delete;
  ~progress_line() {
    {
      std::lock_guard lock(mutex_);
      stop_ = true;
    }
    wake_.notify_all();
    thread_.join();
    draw();
    err_ << '\n' << std::flush;
  }

 private:
  void loop() {
    std::unique_lock lock(mutex_);
    draw();  // at once: a long first node should not leave the terminal blank
    while (!wake_.wait_for(lock, std::chrono::milliseconds(200), [&] { return stop_; })) draw();
  }
  void draw() {
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
    char line[160];
    std::snprintf(line, sizeof line, "\r\x1b[2Kloom: %lld/%lld nodes done, %lld running, %lld failed, %.1f s",
                  static_cast<long long>(progress_.done.load()), static_cast<long long>(progress_.total.load()),
                  static_cast<long long>(std::max<std::int64_t>(progress_.running.load(), 0)),
                  static_cast<long long>(progress_.failed.load()), seconds);
    err_ << line << std::flush;
  }

  std::ostream& err_;
  const run_progress& progress_;
  std::chrono::steady_clock::time_point start_;
  std::mutex mutex_;
  std::condition_variable wake_;
  bool stop_ = false;
  std::thread thread_;  // last: starts when the rest is ready
};

LOOM_FUNC std::string known_names() {
  std::string names;
  for (const auto* info : registry::global().all()) names += (names.empty() ? "" : ", ") + info->name;
  return names.empty() ? "none" : names;
}

/// The options that take no value (`--quiet`; `--quiet=false` is allowed).
LOOM_FUNC bool is_switch(std::string_view flag) {
  return flag == "verify-futures" || flag == "overwrite-cache" || flag == "quiet";
}

/// Walks the options from args[first]: `--flag value`, `--flag=value`, or a switch
/// (`is_switch(flag)` true) given alone, whose value is "true". Calls handle(flag, value).
template <class IsSwitch, class Handle>
LOOM_FUNC void for_each_option(const std::vector<std::string>& args, std::size_t first, IsSwitch&& takes_no_value,
                     Handle&& handle) {
  for (std::size_t a = first; a < args.size(); ++a) {
    const std::string& arg = args[a];
    if (arg.rfind("--", 0) != 0 || arg.size() == 2) throw usage_error("unexpected argument '" + arg + "'");
    std::string flag = arg.substr(2);
    std::optional<std::string> value;
    if (const auto eq = flag.find('='); eq != std::string::npos) {
      value = flag.substr(eq + 1);
      flag.resize(eq);
    }
    if (!value && takes_no_value(flag)) value = "true";
    if (!value) {
      if (a + 1 >= args.size()) throw usage_error("--" + flag + " needs a value");
      value = args[++a];
    }
    handle(flag, *value);
  }
}

/// An option shared by run, graph and resume; false if `flag` is none of them.
LOOM_FUNC bool parse_run_option(parsed_command& cmd, const std::string& flag, const std::string& value) {
  if (flag == "store") {
    cmd.store_root = value;
  } else if (flag == "threads") {
    cmd.threads = parse_count(flag, value);
  } else if (is_switch(flag)) {
    if (value != "true" && value != "false") throw usage_error("--" + flag + ": expected no value, 'true' or 'false'");
    const bool on = value == "true";
    if (flag == "overwrite-cache") cmd.options.overwrite_cache = on;
    if (flag == "verify-futures") cmd.options.verify_futures = on;
    if (flag == "quiet") cmd.quiet = on;
  } else if (flag == "max-depth") {
    cmd.options.limits.max_depth = parse_count(flag, value);
  } else if (flag == "max-dynamic-nodes") {
    cmd.options.limits.max_dynamic_nodes = parse_count(flag, value);
  } else if (flag == "map-checkpoint-ms") {
    cmd.options.map_checkpoint_interval = std::chrono::milliseconds(parse_count(flag, value));
  } else if (flag == "compact-subdag-nodes") {
    cmd.options.compact_subdag_nodes = parse_count(flag, value);
  } else if (flag == "backend") {
    if (value == "thread") {
      cmd.options.backend = execution_backend::thread;
    } else if (value == "process") {
      cmd.options.backend = execution_backend::process;
    } else if (value == "slurm") {
      cmd.options.backend = execution_backend::slurm;
    } else {
      throw usage_error("--backend: expected 'thread', 'process' or 'slurm', got '" + value + "'");
    }
  } else if (flag == "process-fork-server") {
    if (value != "on" && value != "off") throw usage_error("--process-fork-server: expected 'on' or 'off', got '" + value + "'");
    cmd.options.process.fork_server = value == "on";
  } else if (flag == "process-nodes-per-process") {
    const std::size_t nodes = parse_count(flag, value);
    if (nodes == 0) throw usage_error("--process-nodes-per-process: expected a positive number of nodes");
    cmd.options.process.nodes_per_process = nodes;
  } else if (flag == "slurm-partition" || flag == "slurm-account") {
    if (value.empty() || value.find_first_of(" \t\n'\"\\") != std::string::npos) {
      throw usage_error("--" + flag + ": expected a name without spaces or quotes, got '" + value + "'");
    }
    (flag == "slurm-partition" ? cmd.options.slurm.partition : cmd.options.slurm.account) = value;
  } else if (flag == "slurm-time") {
    // Slurm's spellings: M, M:S, H:M:S, D-H, D-H:M, D-H:M:S, or UNLIMITED.
    if (value != "UNLIMITED" && (value.empty() || value.find_first_not_of("0123456789:-") != std::string::npos ||
                                 value.front() == ':' || value.front() == '-')) {
      throw usage_error("--slurm-time: expected a Slurm time limit (30, 1:00:00, 2-00:00:00 or UNLIMITED), got '" +
                        value + "'");
    }
    cmd.options.slurm.time = value;
  } else if (flag == "slurm-liveness-ms") {
    const std::size_t ms = parse_count(flag, value);
    if (ms == 0) throw usage_error("--slurm-liveness-ms: expected a positive number of milliseconds");
    cmd.options.slurm.liveness_interval = std::chrono::milliseconds(ms);
  } else if (flag == "slurm-system-retries") {
    cmd.options.slurm.system_retries = static_cast<std::uint32_t>(parse_count(flag, value));
  } else if (flag == "slurm-workers") {
    cmd.options.slurm.workers = parse_count(flag, value);
  } else if (flag == "slurm-worker-slots") {
    const std::size_t slots = parse_count(flag, value);
    if (slots == 0) throw usage_error("--slurm-worker-slots: expected a positive number of nodes");
    cmd.options.slurm.worker_slots = slots;
  } else if (flag == "slurm-worker-nodes-per-process") {
    const std::size_t nodes = parse_count(flag, value);
    if (nodes == 0) throw usage_error("--slurm-worker-nodes-per-process: expected a positive number of nodes");
    cmd.options.slurm.worker_nodes_per_process = nodes;
  } else if (flag == "slurm-worker-address") {
    in_addr parsed{};
    if (::inet_pton(AF_INET, value.c_str(), &parsed) != 1) {
      throw usage_error("--slurm-worker-address: expected an IPv4 address (192.168.1.5), got '" + value + "'");
    }
    cmd.options.slurm.worker_address = value;
  } else if (flag == "slurm-items-per-job") {
    const std::size_t items = parse_count(flag, value);
    if (items == 0) throw usage_error("--slurm-items-per-job: expected a positive number of items");
    cmd.options.slurm.items_per_job = items;
  } else {
    return false;
  }
  return true;
}

/// `resume ID --store DIR [options]`: the entity and its inputs come from the store.
LOOM_FUNC parsed_command parse_resume(const std::vector<std::string>& args) {
  parsed_command cmd;
  cmd.verb = "resume";
  if (args.size() < 2 || args[1].rfind("--", 0) == 0) throw usage_error("resume: which execution? (resume ID --store DIR)");
  object_store::check_execution_id(args[1]);
  cmd.options.execution_id = args[1];
  cmd.options.resume = true;
  for_each_option(args, 2, is_switch, [&](const std::string& flag, const std::string& value) {
    if (!parse_run_option(cmd, flag, value)) {
      throw usage_error("resume: unknown option --" + flag +
                        " (resume takes --store, --threads, --backend, --process-*, --slurm-*, --overwrite-cache, --quiet, --max-depth,"
                        " --max-dynamic-nodes, --map-checkpoint-ms, --compact-subdag-nodes; the inputs are the execution's)");
    }
  });
  if (!cmd.store_root) throw usage_error("resume: --store DIR is required (the store the execution was recorded in)");
  return cmd;
}

/// The entity and inputs of a recorded execution (`<ID>/inputs.json`).
LOOM_FUNC void load_execution_inputs(parsed_command& cmd, const object_store& store) {
  const std::string& id = cmd.options.execution_id;
  const std::string key = id + "/inputs.json";
  const auto doc = read_json_object(store, key);
  if (!doc) throw usage_error("no execution " + id + " in " + store.root().string() + " (" + key + " is missing)");
  if (!doc->is_object() || !doc->contains("entity") || !(*doc)["entity"].is_string() || !doc->contains("inputs") ||
      !(*doc)["inputs"].is_object()) {
    throw error(key + ": expected {\"entity\": NAME, \"inputs\": {...}}");
  }
  const std::string name = (*doc)["entity"].get<std::string>();
  cmd.entity = registry::global().find(name);
  if (cmd.entity == nullptr) {
    throw usage_error("execution " + id + " ran '" + name + "', which this program does not know (known: " +
                      known_names() + ")");
  }
  const auto& inputs = (*doc)["inputs"];
  for (std::size_t i = 0; i < cmd.entity->interface.inputs.size(); ++i) {
    const std::string slot = detail::positional_name('i', i);
    if (!inputs.contains(slot)) throw error(key + ": no input " + slot + " (" + cmd.entity->interface.inputs[i].name + ")");
    try {
      cmd.inputs.push_back(cmd.entity->input_codecs[i].decode(inputs[slot], cmd.entity->interface.inputs[i].name));
    } catch (const literal_error& e) {
      throw error(key + ": " + e.what());
    }
  }
}

LOOM_FUNC parsed_command parse_command(int argc, char** argv) {
  parsed_command cmd;
  std::vector<std::string> args(argv + 1, argv + argc);
  if (args.empty()) throw usage_error("no command (try 'run', 'graph' or 'list'; --help for help)");
  cmd.verb = args[0];
  if (cmd.verb == "list") return cmd;
  if (cmd.verb == "resume") return parse_resume(args);
  if (cmd.verb != "run" && cmd.verb != "graph") throw usage_error("unknown command '" + cmd.verb + "'");
  if (args.size() < 2 || args[1].rfind("--", 0) == 0) throw usage_error(cmd.verb + ": which workflow or task?");
  cmd.entity = registry::global().find(args[1]);
  if (cmd.entity == nullptr) {
    throw usage_error("unknown workflow or task '" + args[1] + "' (known: " + known_names() + ")");
  }
  const entity_info& info = *cmd.entity;
  std::vector<std::optional<any_value>> given(info.interface.inputs.size());
  auto input_index = [&](std::string_view name) -> std::optional<std::size_t> {
    for (std::size_t i = 0; i < info.interface.inputs.size(); ++i) {
      if (info.interface.inputs[i].name == name) return i;
    }
    return std::nullopt;
  };
  // An input named like a switch (an input `--quiet`) is the input.
  const auto takes_no_value = [&](const std::string& flag) { return is_switch(flag) && !input_index(flag); };
  for_each_option(args, 2, takes_no_value, [&](const std::string& flag, const std::string& value) {
    if (const auto i = input_index(flag)) {
      if (given[*i]) throw usage_error("--" + flag + " given twice");
      given[*i] = parse_input_value(info, *i, value);
    } else if (parse_run_option(cmd, flag, value)) {
    } else if (flag == "execution-id") {
      object_store::check_execution_id(value);
      cmd.options.execution_id = value;
    } else {
      std::string inputs;
      for (const auto& p : info.interface.inputs) inputs += (inputs.empty() ? "--" : ", --") + p.name;
      throw usage_error("'" + info.name + "' has no input --" + flag + " (its inputs: " +
                        (inputs.empty() ? std::string("none") : inputs) + ")");
    }
  });
  if (cmd.verb == "run" && cmd.options.backend == execution_backend::slurm && !cmd.store_root) {
    throw usage_error("--backend slurm needs --store DIR, on a directory the cluster's nodes share (its jobs read "
                      "their inputs from it and write their outputs to it)");
  }
  for (std::size_t i = 0; i < given.size(); ++i) {
    if (given[i]) {
      cmd.inputs.push_back(std::move(*given[i]));
    } else if (info.defaults[i] != nullptr) {
      cmd.inputs.push_back(info.defaults[i](info.entity));
    } else {
      throw usage_error("missing input --" + info.interface.inputs[i].name + " (" +
                        info.interface.inputs[i].type.to_string() + ") for " + info.name);
    }
  }
  return cmd;
}

LOOM_FUNC void print_help(std::ostream& out, std::string_view binary) {
  out << "usage:\n"
      << "  " << binary << " run NAME [--INPUT VALUE]... [options]    run a workflow, dynamic workflow or task;\n"
      << "      prints its outputs as one JSON object on stdout\n"
      << "  " << binary << " graph NAME [--INPUT VALUE]... [options]  run it and print the executed DAG (DOT)\n"
      << "  " << binary << " resume ID --store DIR [options]          continue a recorded execution that was\n"
      << "      interrupted: what finished is not run again; prints its outputs as run does\n"
      << "  " << binary << " list                                     the workflows and tasks it knows\n"
      << "values are JSON; a plain string is a string. options:\n"
      << "  --store DIR             keep and record the run (an execution: inputs, outputs, futures files,\n"
      << "                          node statuses in DIR/loom.db) in this store\n"
      << "  --execution-id ID       the run's key in the store (default: generated, printed on stderr)\n"
      << "  --threads N             size of the thread pool (default: the hardware concurrency)\n"
      << "  --max-depth N           nesting depth limit (default 100)\n"
      << "  --max-dynamic-nodes N   nodes per dynamic workflow (default 1000000)\n"
      << "  --map-checkpoint-ms N   a stored map keeps its finished items at most every N ms per chunk\n"
      << "                          (default 1000): what a resume does not run again\n"
      << "  --compact-subdag-nodes N  a stored run records the nodes of a dynamic sub-DAG of N nodes\n"
      << "                          or more in one row, and keeps their outputs in batches (default\n"
      << "                          1000; see docs/executions.md)\n"
      << "  --verify-futures        run every dynamic sub-DAG through its futures file\n"
      << "  --overwrite-cache       run cached tasks even when the store's cache has their outputs\n"
      << "  --quiet                 no progress line (it is shown only when standard error is a terminal)\n"
      << "  --backend thread|process|slurm  run nodes on the thread pool (default); or each task node\n"
      << "                          and dynamic body in a process of its own (--threads of them at a\n"
      << "                          time); or as a Slurm job each (needs --store on a shared directory)\n"
      << "  --process-fork-server on|off  node processes forked by a server started once per run (on,\n"
      << "                          the default), or each spawned as a program of its own (off)\n"
      << "  --process-nodes-per-process K  nodes a forked process runs in turn (default 1: a fresh\n"
      << "                          process per node; more is faster for short nodes, but what a node\n"
      << "                          leaves in its process the next ones see)\n"
      << "  --slurm-partition P     sbatch --partition for nodes whose task names none\n"
      << "  --slurm-account A       sbatch --account\n"
      << "  --slurm-time T          sbatch --time for nodes whose task declares none (30, 1:00:00, ...)\n"
      << "  --slurm-liveness-ms N   ask the controller which jobs are alive every N ms (default 5000)\n"
      << "  --slurm-system-retries N  resubmissions of a node whose job was lost or whose machine failed\n"
      << "                          (default 3; the task's own retries are apart)\n"
      << "  --slurm-workers N       N pilot workers (Slurm jobs) run the short nodes, each in a fork\n"
      << "  --slurm-worker-slots S  nodes at once in one pilot worker (default 1)\n"
      << "  --slurm-worker-nodes-per-process K  nodes one forked process of a pilot worker runs in\n"
      << "                          turn (default 100; 1: a fresh process for every node)\n"
      << "  --slurm-worker-address A  the IPv4 address the workers reach the driver at\n"
      << "  --slurm-items-per-job N  a map's items per element of its job arrays (default: at most\n"
      << "                          1,000 elements a map)\n"
      << "environment: LOOM_HUGE_PAGES=0  no transparent huge pages for a run's large arrays (fewer\n"
      << "                          page faults with them; docs/benchmarks-dynamic.md)\n"
      << "exit codes: 0 success, 1 the run failed, 2 bad command line\n";
}

}  // namespace detail

namespace detail {

/// While it lives, SIGINT and SIGTERM stop this process's Slurm runs (stop_slurm_runs)
/// instead of killing it, so that its jobs are cancelled; the handlers before are put
/// back after.
struct stop_signals_to_slurm {
  struct sigaction old_int {};
  struct sigaction old_term {};
  stop_signals_to_slurm() {
    struct sigaction action {};
    action.sa_handler = [](int sig) { stop_slurm_runs(sig); };
    sigemptyset(&action.sa_mask);
    ::sigaction(SIGINT, &action, &old_int);
    ::sigaction(SIGTERM, &action, &old_term);
  }
  ~stop_signals_to_slurm() {
    ::sigaction(SIGINT, &old_int, nullptr);
    ::sigaction(SIGTERM, &old_term, nullptr);
  }
  stop_signals_to_slurm(const stop_signals_to_slurm&) = delete;
  stop_signals_to_slurm& operator=(const stop_signals_to_slurm&) = delete;
};

}  // namespace detail

LOOM_FUNC int run_command_line(int argc, char** argv, std::ostream& out, std::ostream& err) {
  const std::string binary = argc > 0 ? argv[0] : "loom";
  // A node process of the process backend (hidden verb: the executor starts it).
  if (is_node_process(argc, argv)) return run_node_process(argc, argv, err);
  if (argc >= 2 && (std::string_view(argv[1]) == "--help" || std::string_view(argv[1]) == "help" ||
                    std::string_view(argv[1]) == "-h")) {
    detail::print_help(out, binary);
    return 0;
  }
  detail::parsed_command cmd;
  try {
    cmd = detail::parse_command(argc, argv);
  } catch (const std::exception& e) {
    err << binary << ": " << e.what() << '\n';
    return 2;
  }
  if (cmd.verb == "list") {
    for (const auto* info : detail::registry::global().all()) {
      out << kind_name(info->kind) << ' ' << info->name << ' ' << info->interface.to_json().dump() << '\n';
    }
    return 0;
  }
  std::optional<object_store> store;
  run_trace trace;
  try {
    if (cmd.store_root) {
      store.emplace(*cmd.store_root);
      cmd.options.store = &*store;
      if (cmd.options.execution_id.empty()) cmd.options.execution_id = executor::new_execution_id();
      if (cmd.verb == "resume") {
        try {
          detail::load_execution_inputs(cmd, *store);
        } catch (const detail::usage_error& e) {
          err << binary << ": " << e.what() << '\n';
          return 2;
        }
        err << "resuming execution " << cmd.options.execution_id << '\n';
      } else {
        err << "execution " << cmd.options.execution_id << '\n';
      }
    }
    if (cmd.verb == "graph") cmd.options.trace = &trace;
    executor ex({.threads = cmd.threads});
    run_progress progress;
    std::optional<detail::progress_line> shown;
    if (!cmd.quiet && &err == &std::cerr && ::isatty(STDERR_FILENO) == 1) {
      cmd.options.progress = &progress;
      shown.emplace(err, progress);
    }
    // Ctrl-C or SIGTERM during a Slurm run: the run stops and cancels its jobs, and
    // the command exits as the signal would have made it (128 + its number).
    std::optional<detail::stop_signals_to_slurm> signals;
    if (cmd.options.backend == execution_backend::slurm) signals.emplace();
    auto outputs = [&] {
      try {
        auto result = ex.run_erased(*cmd.entity, std::move(cmd.inputs), cmd.options);
        shown.reset();  // the last state, before anything else is printed
        return result;
      } catch (...) {
        shown.reset();
        throw;
      }
    }();
    if (cmd.verb == "graph") {
      out << to_dot(trace);
    } else {
      json result = json::object();
      for (std::size_t o = 0; o < outputs.size(); ++o) {
        result[cmd.entity->interface.outputs[o].name] = outputs[o].to_json();
      }
      out << result.dump() << '\n';
    }
    return 0;
  } catch (const std::exception& e) {
    err << binary << ": " << e.what() << '\n';
    if (cmd.verb == "graph") out << to_dot(trace);
    if (const int sig = slurm_runs_stopped_by(); sig > 0) return 128 + sig;
    return 1;
  }
}

}  // namespace loom
