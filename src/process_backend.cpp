// src/process_backend.cpp — the process backend (loom/process_backend.hpp): starting a
// node process and waiting for it, the run's private store, and the node process's
// side of the hidden verb `PROGRAM exec-node NAME ...`.
#include <loom/process_backend.hpp>

#include "attempt.hpp"
#include "child_processes.hpp"
#include "fork_server.hpp"
#include "slurm_pilots.hpp"

#include <loom/futures_file.hpp>
#include <loom/registry.hpp>

#include <algorithm>
#include <array>
#include <atomic>
#include <cerrno>
#include <condition_variable>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <mutex>
#include <system_error>
#include <thread>
#include <utility>

#include <fcntl.h>
#include <linux/magic.h>
#include <poll.h>
#include <sys/statfs.h>
#include <sys/wait.h>
#include <unistd.h>

namespace loom {

namespace detail {

LOOM_FUNC std::string signal_name(int sig) {
  switch (sig) {
    case SIGABRT: return "SIGABRT";
    case SIGSEGV: return "SIGSEGV";
    case SIGKILL: return "SIGKILL";
    case SIGTERM: return "SIGTERM";
    case SIGINT: return "SIGINT";
    case SIGBUS: return "SIGBUS";
    case SIGFPE: return "SIGFPE";
    case SIGILL: return "SIGILL";
    case SIGPIPE: return "SIGPIPE";
    case SIGHUP: return "SIGHUP";
    case SIGQUIT: return "SIGQUIT";
    case SIGTRAP: return "SIGTRAP";
    case SIGSYS: return "SIGSYS";
    case SIGXCPU: return "SIGXCPU";
    case SIGXFSZ: return "SIGXFSZ";
    case SIGALRM: return "SIGALRM";
    case SIGUSR1: return "SIGUSR1";
    case SIGUSR2: return "SIGUSR2";
    default: return "signal " + std::to_string(sig);
  }
}

LOOM_FUNC bool process_exit::exited_zero() const {
  return known && WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

LOOM_FUNC std::string process_exit::describe() const {
  if (timed_out.count() > 0) {
    return "was killed (SIGKILL) when it ran over its timeout of " + std::to_string(timed_out.count()) + " ms";
  }
  if (!known) return "ended with an unknown status (it could not be waited for)";
  if (WIFEXITED(status)) return "exited with status " + std::to_string(WEXITSTATUS(status));
  if (WIFSIGNALED(status)) {
    const int sig = WTERMSIG(status);
    const char* what = ::strsignal(sig);
    return "was killed by signal " + signal_name(sig) + (what != nullptr ? std::string(" (") + what + ")" : "") +
           (WCOREDUMP(status) ? ", core dumped" : "");
  }
  return "ended with wait status " + std::to_string(status);
}

LOOM_FUNC std::string process_exit::last_lines(std::size_t max_lines) const {
  std::vector<std::string_view> lines;
  std::string_view text = stderr_tail;
  while (!text.empty()) {
    const auto end = text.rfind('\n', text.size() - 1);
    const auto start = end == std::string_view::npos ? 0 : end + 1;
    std::string_view line = text.substr(start);
    while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) line.remove_suffix(1);
    if (!line.empty()) lines.push_back(line);
    if (lines.size() == max_lines || end == std::string_view::npos) break;
    text = text.substr(0, end);
  }
  std::string out;
  for (auto it = lines.rbegin(); it != lines.rend(); ++it) {
    std::string_view line = *it;
    if (line.size() > 300) line = line.substr(0, 300);
    out += "\n  | ";
    out += line;
  }
  return out;
}

LOOM_FUNC process_exit spawn_and_wait(const std::string& program, const std::vector<std::string>& args,
                                     bool forward_output, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  int pipe_fds[2];
  if (::pipe2(pipe_fds, O_CLOEXEC) != 0) {
    throw error(std::string("cannot create a pipe for a node process: ") + std::strerror(errno));
  }
  pid_t pid = -1;
  const int rc = spawn_process(program, args, pipe_fds[1], pipe_fds[1], -1, pid);
  ::close(pipe_fds[1]);
  if (rc != 0) {
    ::close(pipe_fds[0]);
    throw error("cannot start node process " + program + ": " + std::strerror(rc));
  }

  process_exit result;
  result.pid = pid;
  const output_tail output{forward_output, &result.stderr_tail};
  bool reaped = false;
  int status = 0;
  while (true) {
    int wait_ms = 250;
    if (timeout.count() > 0 && result.timed_out.count() == 0) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) {
        ::kill(pid, SIGKILL);  // still ours: not reaped yet
        result.timed_out = timeout;
      } else {
        wait_ms = static_cast<int>(std::min<std::int64_t>(wait_ms, left.count() + 1));
      }
    }
    pollfd p{pipe_fds[0], POLLIN, 0};
    const int ready = ::poll(&p, 1, wait_ms);
    if (ready < 0) {
      if (errno == EINTR) continue;
      break;
    }
    if (ready == 0) {
      // Quiet for a while: has it ended while something it started holds the pipe?
      const pid_t w = ::waitpid(pid, &status, WNOHANG);
      if (w == pid) {
        reaped = true;
        output.drain(pipe_fds[0]);
        break;
      }
      if (w < 0 && errno != EINTR) break;  // not ours to wait for (SIGCHLD ignored)
      continue;
    }
    if (!output.read_from(pipe_fds[0])) break;  // end of output: it has ended (or closed its output)
  }
  ::close(pipe_fds[0]);
  if (!reaped) {
    pid_t w;
    do {
      w = ::waitpid(pid, &status, 0);
    } while (w < 0 && errno == EINTR);
    reaped = w == pid;
  }
  result.known = reaped;
  result.status = status;
  output.finish();
  return result;
}

LOOM_FUNC std::string self_program_name() {
  std::array<char, 4096> buffer{};
  const auto n = ::readlink("/proc/self/exe", buffer.data(), buffer.size() - 1);
  if (n <= 0) return "/proc/self/exe";
  return std::string(buffer.data(), static_cast<std::size_t>(n));
}

LOOM_FUNC std::filesystem::path temporary_base() {
  if (const char* tmpdir = std::getenv("TMPDIR"); tmpdir != nullptr && *tmpdir != '\0') return tmpdir;
  struct statfs fs{};
  if (::statfs("/dev/shm", &fs) == 0 && fs.f_type == TMPFS_MAGIC && ::access("/dev/shm", W_OK | X_OK) == 0 &&
      static_cast<unsigned long long>(fs.f_bavail) * static_cast<unsigned long long>(fs.f_bsize) >= (1ULL << 30)) {
    return "/dev/shm";
  }
  std::error_code ec;
  auto base = std::filesystem::temp_directory_path(ec);
  return ec ? std::filesystem::path("/tmp") : base;
}

LOOM_FUNC temporary_store::temporary_store() {
  const auto base = temporary_base();
  std::string pattern = (base / "loom-run-XXXXXX").string();
  if (::mkdtemp(pattern.data()) == nullptr) {
    throw error("cannot create a temporary object store under " + base.string() + ": " + std::strerror(errno));
  }
  path_ = pattern;
  store_.emplace(path_);
}

LOOM_FUNC temporary_store::~temporary_store() {
  store_.reset();
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

LOOM_FUNC std::optional<json> read_json_object(const object_store& store, const std::string& key) {
  const auto text = store.get(key);
  if (!text) return std::nullopt;
  try {
    return json::parse(*text);
  } catch (const json::exception& e) {
    throw error(key + " is not valid JSON (" + std::to_string(text->size()) + " bytes): " + e.what());
  }
}

LOOM_FUNC std::vector<std::string> node_request::arguments(std::string argv0) const {
  std::vector<std::string> args = {std::move(argv0), "exec-node", entity,
                                   "--store", store_root,
                                   "--inputs", inputs_key,
                                   "--outputs", outputs_key,
                                   "--error", error_key,
                                   "--node", node_path,
                                   "--max-dynamic-nodes", std::to_string(max_dynamic_nodes),
                                   "--inline-literal-bytes", std::to_string(inline_literal_bytes),
                                   "--sync", sync ? "1" : "0"};
  if (map_mapped) {
    args.insert(args.end(), {"--map", std::to_string(*map_mapped), "--map-partial", map_partial ? "1" : "0"});
  }
  return args;
}

LOOM_FUNC std::optional<std::size_t> parse_non_negative(const std::string& text) {
  std::size_t used = 0;
  unsigned long long value = 0;
  try {
    value = std::stoull(text, &used);
  } catch (const std::exception&) {
    return std::nullopt;
  }
  if (text.empty() || used != text.size() || text[0] == '-') return std::nullopt;
  return static_cast<std::size_t>(value);
}

LOOM_FUNC node_request node_request::parse(int argc, char** argv) {
  node_request r;
  if (argc < 3 || std::string_view(argv[1]) != "exec-node") throw error("usage: exec-node NAME --store DIR ...");
  r.entity = argv[2];
  auto count = [](const std::string& flag, const std::string& text) {
    const auto value = parse_non_negative(text);
    if (!value) throw error("--" + flag + ": expected a non-negative integer, got '" + text + "'");
    return *value;
  };
  for (int a = 3; a < argc; ++a) {
    const std::string_view arg = argv[a];
    if (arg.size() <= 2 || arg.substr(0, 2) != "--" || a + 1 >= argc) {
      throw error("exec-node: unexpected argument '" + std::string(arg) + "'");
    }
    const std::string flag(arg.substr(2));
    const std::string value = argv[++a];
    if (flag == "store") r.store_root = value;
    else if (flag == "inputs") r.inputs_key = value;
    else if (flag == "outputs") r.outputs_key = value;
    else if (flag == "error") r.error_key = value;
    else if (flag == "node") r.node_path = value;
    else if (flag == "max-dynamic-nodes") r.max_dynamic_nodes = count(flag, value);
    else if (flag == "inline-literal-bytes") r.inline_literal_bytes = count(flag, value);
    else if (flag == "sync") r.sync = count(flag, value) != 0;
    else if (flag == "map") r.map_mapped = count(flag, value);
    else if (flag == "map-partial") r.map_partial = count(flag, value) != 0;
    else throw error("exec-node: unknown option --" + flag);
  }
  if (r.store_root.empty() || r.inputs_key.empty() || r.outputs_key.empty() || r.error_key.empty()) {
    throw error("exec-node: --store, --inputs, --outputs and --error are required");
  }
  for (const auto* key : {&r.inputs_key, &r.outputs_key, &r.error_key}) object_store::check_key(*key);
  return r;
}

LOOM_FUNC std::string key_directory(const std::string& key) {
  const auto slash = key.rfind('/');
  return slash == std::string::npos ? std::string() : key.substr(0, slash);
}

LOOM_FUNC void execute_map_batch(const node_request& r, const entity_info& info, const json& given,
                                 const object_store& store) {
  if (info.map == nullptr) throw error("'" + info.name + "' is a " + std::string(kind_name(info.kind)) + ", not a task");
  const std::uint64_t mapped = *r.map_mapped;
  std::vector<any_value> inputs(info.interface.inputs.size());
  std::size_t length = 0;
  bool any_list = false;
  for (std::size_t i = 0; i < inputs.size(); ++i) {
    const port& p = info.interface.inputs[i];
    const auto it = given.find(p.name);
    if (it == given.end()) throw error(r.inputs_key + ": no value for input '" + p.name + "'");
    const bool is_mapped = ((mapped >> i) & 1U) != 0;
    inputs[i] = (is_mapped ? info.input_list_codecs[i] : info.input_codecs[i]).decode(*it, p.name);
    if (!is_mapped) continue;
    const std::size_t size = info.map->list_size(i, inputs[i]);
    if (any_list && size != length) {
      throw error(r.inputs_key + ": the mapped lists differ in length (" + p.name + " has " + std::to_string(size) +
                  " items, the list before it " + std::to_string(length) + ")");
    }
    length = size;
    any_list = true;
  }
  if (!any_list) throw error("--map " + std::to_string(mapped) + " maps none of the inputs of " + info.name);
  std::vector<any_value> outputs(info.interface.outputs.size());
  info.map->make_outputs(length, /*partial=*/true, outputs.data());  // optional items: a failed one stays empty
  const node_policy policy = info.policy != nullptr ? info.policy(info.entity) : node_policy{};
  bool abandoned = false;  // an attempt that timed out still runs on a thread of its own
  json failed = json::object();
  json attempts = json::object();
  std::size_t done = 0;
  for (; done < length; ++done) {
    // Each item's attempts (attempt.hpp). With a timeout, an attempt runs on a thread of
    // its own that is left behind when it takes too long: the process ends without
    // waiting for it, and it writes nothing but item k's own element, which is not read
    // once k has failed.
    const std::size_t k = done;
    std::uint32_t tries = 0;
    const attempt_result result = attempt_in_line(
        policy,
        [&info, &inputs, &outputs, mapped, k] {
          info.map->run_item(info.entity, inputs.data(), mapped, k, /*partial=*/true, outputs.data());
        },
        [] { return false; }, tries);
    abandoned = abandoned || result.abandoned;
    if (tries > 1) attempts[std::to_string(k)] = tries;
    if (!result.ok()) {
      failed[std::to_string(k)] = result.error;
      if (!r.map_partial) {
        ++done;
        break;  // a whole map has failed: the other items need not run
      }
    }
  }
  json out = json::object();
  for (std::size_t o = 0; o < outputs.size(); ++o) {
    json list = json::array();
    for (std::size_t k = 0; k < length; ++k) {
      // A failed item is null, and not read: a timed-out attempt may still write it.
      const bool ok = k < done && !failed.contains(std::to_string(k));
      json& item = list.emplace_back();  // null: a failed item
      if (ok) info.map->item_literal(item, o, outputs[o], k, true);
    }
    out[info.interface.outputs[o].name] = std::move(list);
  }
  out["done"] = done;
  out["failed"] = std::move(failed);
  out["attempts"] = std::move(attempts);
  if (!abandoned) {
    store.put(r.outputs_key, out.dump(-1, ' ', false, json::error_handler_t::replace), r.sync);
    return;
  }
  // An attempt left running must not outlive the process's exit as static objects are
  // destroyed under it (it reads `inputs` and writes `outputs`): end here, either way.
  try {
    store.put(r.outputs_key, out.dump(-1, ' ', false, json::error_handler_t::replace), r.sync);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "node %s (task '%s'): cannot store the batch result: %s\n", r.node_path.c_str(),
                 info.name.c_str(), e.what());
    std::_Exit(1);
  }
  std::_Exit(0);
}

/// A pilot's node: its result document, kept for its worker (node_request::result).
LOOM_FUNC std::string result_text(const json& result) {
  return result.dump(-1, ' ', false, json::error_handler_t::replace);
}

LOOM_FUNC void execute_node_request(const node_request& r, const object_store& store) {
  const entity_info* info = registry::global().find(r.entity);
  if (info == nullptr) {
    throw error("'" + r.entity +
                "' is not known to this program (a node process finds its task in the registry: "
                "register it with loom::main or loom::register_entities)");
  }
  if (info->kind == node_kind::workflow) {
    throw error("'" + r.entity + "' is a static workflow: its nodes run one by one, not in one process");
  }
  std::optional<json> stored;
  if (r.given_inputs == nullptr) stored = read_json_object(store, r.inputs_key);
  const json* doc = r.given_inputs != nullptr ? r.given_inputs : stored ? &*stored : nullptr;
  if (doc == nullptr) throw error("no inputs: " + r.inputs_key + " does not exist");
  const auto inputs_it = doc->find("inputs");
  if (!doc->is_object() || inputs_it == doc->end() || !inputs_it->is_object()) {
    throw error(r.inputs_key + ": expected {\"entity\": ..., \"inputs\": {...}}");
  }
  if (r.map_mapped) return execute_map_batch(r, *info, *inputs_it, store);
  graph g = single_node_graph(*info);
  std::unique_ptr<any_value[]> slots(new any_value[g.slot_count]);
  for (std::size_t i = 0; i < info->interface.inputs.size(); ++i) {
    const port& p = info->interface.inputs[i];
    const auto it = inputs_it->find(p.name);
    if (it == inputs_it->end()) throw error(r.inputs_key + ": no value for input '" + p.name + "'");
    slots[i] = info->input_codecs[i].decode(*it, p.name);
  }
  node_io io(g, g.nodes[0], slots.get());
  if (info->kind == node_kind::task) {
    info->run(info->entity, io);
    json out = json::object();
    for (std::size_t o = 0; o < info->interface.outputs.size(); ++o) {
      out[info->interface.outputs[o].name] = slots[g.nodes[0].first_slot + o].to_json();
    }
    if (r.result != nullptr) {
      *r.result = result_text(json{{"outputs", std::move(out)}});
    } else {
      store.put(r.outputs_key, out.dump(), r.sync);
    }
    return;
  }
  std::unique_ptr<graph> sub = info->expand(info->entity, io);
  if (sub->nodes.size() > r.max_dynamic_nodes) {
    throw error("dynamic workflow produced " + std::to_string(sub->nodes.size()) + " nodes, over the limit of " +
                std::to_string(r.max_dynamic_nodes) + " nodes per futures file");
  }
  futures_write_options write;
  write.store = &store;
  write.store_prefix = key_directory(r.outputs_key);
  write.inline_literal_bytes = r.inline_literal_bytes;
  store.put(r.outputs_key, write_futures_text(*sub, info->name, write), r.sync);
}

LOOM_FUNC int run_node_request(const node_request& r, const object_store& store, std::ostream& err) {
  std::string message;
  try {
    execute_node_request(r, store);
    return 0;
  } catch (const std::exception& e) {
    message = e.what();
  } catch (...) {
    message = "unknown exception (not derived from std::exception)";
  }
  try {
    if (r.result != nullptr) {
      *r.result = result_text(json{{"error", message}});
    } else {
      store.put(r.error_key, json{{"message", message}, {"entity", r.entity}}.dump(), r.sync);
    }
  } catch (const std::exception& e) {
    err << "node " << r.node_path << " (task '" << r.entity << "') failed: " << message
        << "\nand its error could not be kept: " << e.what() << '\n';
  }
  return 1;
}

}  // namespace detail

LOOM_FUNC int run_node_process(int argc, char** argv, std::ostream& err) {
  if (argc >= 2 && argv[1] != nullptr && std::string_view(argv[1]) == "worker") {
    return detail::run_pilot_worker(argc, argv, err);
  }
  if (argc >= 3 && argv[2] != nullptr && std::string_view(argv[2]) == "--serve") {
    return detail::serve_forks(argc, argv, err);
  }
  std::optional<object_store> store;
  return detail::run_node_command(std::vector<std::string>(argv, argv + argc), nullptr, nullptr, store, err);
}

}  // namespace loom
