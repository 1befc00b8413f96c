// loom — inspects a store of recorded executions (docs/loom-tool.md):
//
//   loom executions [--json]                         the executions, newest first
//   loom show ID [--node PATH [--item K]] [--json]   the node tree of an execution
//   loom graph ID [--node PATH] [--format dot|svg]   its executed DAG (Graphviz)
//   loom inspect FILE|KEY [--json]                   pretty-print and check a stored object
//   loom gc --before DATE [--dry-run]                delete old executions
//
// Every command takes --store DIR (default: $LOOM_STORE). Exit codes: 0 success, 1
// failure (not found, damaged data), 2 bad command line. Errors go to stderr and name the
// file or key.
#include "dot_output.hpp"
#include "graph_file.hpp"
#include "store_view.hpp"
#include "ui_server.hpp"

#include <loom/detail/compact_value.hpp>
#include <loom/object_store.hpp>
#include <loom/state_store.hpp>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <arpa/inet.h>

extern char** environ;

namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;
using loom_tool::failure;
using loom_tool::usage_error;

// ---- output ----

void write_out(std::string_view text) {
  std::fwrite(text.data(), 1, text.size(), stdout);
}

std::string pad(std::string text, std::size_t width) {
  if (text.size() < width) text.append(width - text.size(), ' ');
  return text;
}

/// Rows as columns two spaces apart; the last column is not padded.
std::string table(const std::vector<std::vector<std::string>>& rows) {
  std::vector<std::size_t> widths;
  for (const auto& row : rows) {
    if (widths.size() < row.size()) widths.resize(row.size(), 0);
    for (std::size_t c = 0; c < row.size(); ++c) widths[c] = std::max(widths[c], row[c].size());
  }
  std::string out;
  for (const auto& row : rows) {
    std::string line;
    for (std::size_t c = 0; c < row.size(); ++c) line += c + 1 < row.size() ? pad(row[c], widths[c] + 2) : row[c];
    while (!line.empty() && line.back() == ' ') line.pop_back();
    out += line + "\n";
  }
  return out;
}

std::string first_line(const std::string& text, std::size_t max = 80) {
  std::string line = text.substr(0, text.find('\n'));
  if (line.size() > max) line = line.substr(0, max - 3) + "...";
  else if (line.size() < text.size()) line += " ...";
  return line;
}

std::string bytes_text(std::uintmax_t bytes) {
  char text[32];
  if (bytes < 1024) {
    std::snprintf(text, sizeof text, "%ju B", bytes);
  } else if (bytes < 1024 * 1024) {
    std::snprintf(text, sizeof text, "%.1f KiB", static_cast<double>(bytes) / 1024.0);
  } else if (bytes < 1024ull * 1024 * 1024) {
    std::snprintf(text, sizeof text, "%.1f MiB", static_cast<double>(bytes) / (1024.0 * 1024.0));
  } else {
    std::snprintf(text, sizeof text, "%.2f GiB", static_cast<double>(bytes) / (1024.0 * 1024.0 * 1024.0));
  }
  return text;
}

/// Indented JSON for people: objects one member a line, lists of scalars on one line
/// when they fit (a list of 26 counts is one line, not 26).
std::string pretty(const json& j, const std::string& indent = "") {
  const auto scalar = [](const json& v) { return !v.is_array() && !v.is_object(); };
  if (j.is_array()) {
    if (j.empty()) return "[]";
    if (std::all_of(j.begin(), j.end(), scalar)) {
      std::string line = "[";
      for (std::size_t i = 0; i < j.size(); ++i) line += (i == 0 ? "" : ", ") + j[i].dump();
      line += "]";
      if (line.size() + indent.size() <= 100) return line;
    }
    std::string out = "[\n";
    for (std::size_t i = 0; i < j.size(); ++i) {
      out += indent + "  " + pretty(j[i], indent + "  ") + (i + 1 < j.size() ? ",\n" : "\n");
    }
    return out + indent + "]";
  }
  if (j.is_object()) {
    if (j.empty()) return "{}";
    std::string out = "{\n";
    std::size_t i = 0;
    for (const auto& [key, value] : j.items()) {
      out += indent + "  " + json(key).dump() + ": " + pretty(value, indent + "  ") + (++i < j.size() ? ",\n" : "\n");
    }
    return out + indent + "}";
  }
  return j.dump();
}

// ---- the command line ----

struct command_line {
  std::vector<std::string> positional;
  std::map<std::string, std::string> values;  // "--store" -> "DIR"
  std::set<std::string> flags;                // "--json"
  bool help = false;

  [[nodiscard]] bool has(const std::string& flag) const { return flags.count(flag) != 0; }
  [[nodiscard]] std::optional<std::string> value(const std::string& option) const {
    const auto it = values.find(option);
    if (it == values.end()) return std::nullopt;
    return it->second;
  }
};

struct command_spec {
  std::string name;
  std::set<std::string> valued;  // options with a value (--store is always one)
  std::set<std::string> flags;
  std::size_t positional = 0;   // exactly this many
  std::string positional_name;  // "ID", "FILE"
};

command_line parse(const std::vector<std::string>& args, const command_spec& spec) {
  command_line out;
  for (const auto& a : args) {
    if (a == "--") break;
    if (a == "--help" || a == "-h") {
      out.help = true;
      return out;
    }
  }
  const std::string see = " (see: loom " + spec.name + " --help)";
  bool options_done = false;
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (options_done || a.size() < 2 || a[0] != '-') {
      out.positional.push_back(a);
      continue;
    }
    if (a == "--") {
      options_done = true;
      continue;
    }
    std::string name = a;
    std::optional<std::string> value;
    if (const auto eq = a.find('='); eq != std::string::npos && a.rfind("--", 0) == 0) {
      name = a.substr(0, eq);
      value = a.substr(eq + 1);
    }
    if (name == "--store" || spec.valued.count(name) != 0) {
      if (!value) {
        if (i + 1 >= args.size()) throw usage_error(name + " needs a value" + see);
        value = args[++i];
      }
      if (out.values.count(name) != 0) throw usage_error(name + " given twice");
      out.values[name] = *value;
    } else if (spec.flags.count(name) != 0) {
      if (value) throw usage_error(name + " takes no value" + see);
      out.flags.insert(name);
    } else {
      throw usage_error("unknown option " + name + see);
    }
  }
  if (out.positional.size() < spec.positional) throw usage_error("missing " + spec.positional_name + see);
  if (out.positional.size() > spec.positional) {
    throw usage_error("unexpected argument '" + out.positional[spec.positional] + "'" + see);
  }
  return out;
}

/// --store DIR, else $LOOM_STORE.
std::optional<std::string> store_dir(const command_line& cl) {
  if (auto dir = cl.value("--store")) {
    if (dir->empty()) throw usage_error("--store needs a directory");
    return dir;
  }
  const char* env = std::getenv("LOOM_STORE");
  if (env != nullptr && *env != '\0') return std::string(env);
  return std::nullopt;
}

std::string require_store(const command_line& cl) {
  auto dir = store_dir(cl);
  if (!dir) throw usage_error("no store: give --store DIR or set LOOM_STORE");
  return *dir;
}

// ---- help ----

constexpr const char* store_option_help =
    "  --store DIR   the store (the directory a workflow binary was given with --store);\n"
    "                default: $LOOM_STORE\n";
constexpr const char* exit_help = "exit codes: 0 success, 1 failure (not found, damaged data), 2 bad command line\n";

std::string main_help() {
  return std::string(
             "usage: loom COMMAND [options]      (loom COMMAND --help for more)\n"
             "inspect a store of recorded executions (workflow binaries run with --store DIR)\n\n"
             "commands:\n"
             "  executions [--json]                          the executions: id, workflow, status, start (UTC),\n"
             "                                               duration, nodes done/total; newest first\n"
             "  show ID [--node PATH [--item K]] [--json]    the node tree of an execution: phase, attempts,\n"
             "                                               duration and error of every node; map items\n"
             "  graph ID [--node PATH] [--format dot|svg]    the executed DAG in Graphviz DOT (or SVG)\n"
             "  inspect FILE|KEY [--json]                    pretty-print and check a futures file or a stored\n"
             "                                               value (a file, or a key of the store)\n"
             "  gc --before DATE [--dry-run]                 delete the executions started before DATE\n"
             "  ui [--port 8080] [--bind 127.0.0.1]          a live web view of the store's executions\n\n"
             "options of every command:\n") +
         store_option_help + exit_help;
}

const std::map<std::string, std::string>& command_help() {
  static const std::map<std::string, std::string> help = {
      {"executions",
       std::string("usage: loom executions [--store DIR] [--json]\n"
                   "the executions recorded in the store, newest first: ID, WORKFLOW, STATUS, STARTED (UTC),\n"
                   "DURATION, NODES (done/total). STATUS is running, succeeded or failed as recorded, or\n"
                   "interrupted: recorded as running, but its owner (host:pid) is a process of this host that\n"
                   "is gone (killed, crashed); resume it with BINARY resume ID --store DIR.\n\n"
                   "options:\n") +
           store_option_help + "  --json        a JSON list, one object per execution, every recorded field\n" +
           exit_help},
      {"show",
       std::string("usage: loom show ID [--store DIR] [--node PATH [--item K]] [--json]\n"
                   "the node tree of execution ID: each node (n0, n0/dn3, n1/n0 ...) nested under the\n"
                   "dynamic or workflow node it belongs to, with its task, kind, phase (succeeded, failed,\n"
                   "running, cached, aborted, skipped, not started), attempts, duration and error; then each\n"
                   "map node's items: how many succeeded, failed and are not done, and the failed ones. Nodes\n"
                   "that ran as Slurm jobs (--backend slurm) add a SLURM column: the last job's id and state\n"
                   "(exited N, submitted, submitting); --node PATH lists each job with its script and logs.\n\n"
                   "options:\n") +
           store_option_help +
           "  --node PATH   only that node and what it contains (and every Slurm job of that node)\n"
           "  --item K      item K of map node PATH: its phase, attempts, error and outputs\n"
           "  --json        {\"execution\": {...}, \"nodes\": [{path, task, kind, phase, attempts, ..., children}]};\n"
           "                a node that ran as Slurm jobs has \"slurm\": [{attempt|batch, job, state, exit, script,\n"
           "                stdout, stderr, comment, record}]\n" +
           exit_help},
      {"graph",
       std::string("usage: loom graph ID [--store DIR] [--node PATH] [--format dot|svg]\n"
                   "the executed DAG of execution ID in Graphviz DOT: one box per node, edges from producers\n"
                   "to consumers, every dynamic sub-DAG and static workflow as a dashed cluster inside its\n"
                   "node, nodes filled by phase: succeeded green, failed red, running yellow, cached blue,\n"
                   "aborted orange, skipped grey (dashed), not started white (dashed); a map node is a double\n"
                   "box, a wf.when's branch node a diamond (dotted then/else edges) and its merge a trapezium.\n\n"
                   "options:\n") +
           store_option_help +
           "  --node PATH   only that node's subgraph\n"
           "  --format F    dot (the default) or svg (runs Graphviz's dot, which must be installed)\n" +
           exit_help},
      {"inspect",
       std::string("usage: loom inspect FILE [--json]\n"
                   "       loom inspect KEY --store DIR [--json]\n"
                   "pretty-prints and checks a stored object: a futures file (any <id>/<path>/futures.json,\n"
                   "<id>/workflow.json, <id>/specs/NAME.json) is checked against its own entities table\n"
                   "(references, types, cycles, limits) and shown node by node; any other value is printed\n"
                   "as indented JSON. FILE is a file on disk: an object file (checked against FILE.sha256,\n"
                   "the checksum beside it), a pack of objects (checks every record), or plain JSON. With --store\n"
                   "(or $LOOM_STORE, when FILE is not a file), a key such as ex-1/n0/dn3/outputs.json, which\n"
                   "may be in a pack. Damage (checksum mismatch, truncation, not JSON, an invalid futures\n"
                   "file) is reported with the file or key, exit code 1.\n\n"
                   "options:\n") +
           store_option_help +
           "  --json        a futures file as indented JSON rather than node by node\n"
           "  --max-nodes N the limit of nodes per graph (default 1000000, the executor's default)\n" +
           exit_help},
      {"ui",
       std::string("usage: loom ui [--store DIR] [--port 8080] [--bind 127.0.0.1]\n"
                   "serves a web page of the store's executions, live while runs progress: the executions\n"
                   "list, each execution's node tree (dynamic sub-DAGs and subworkflows at any depth), a\n"
                   "graph of one level at a time, map nodes' items, a timeline. It reads the store and never\n"
                   "changes it. The first line printed is its address; Ctrl-C (or SIGTERM) stops it. See\n"
                   "docs/ui.md.\n\n"
                   "options:\n") +
           store_option_help +
           "  --port N      the port (default 8080; 0: any free port, printed)\n"
           "  --bind ADDR   the address to listen on (default 127.0.0.1: this machine only); the\n"
           "                page answers only requests whose Host names it (127.0.0.1, localhost, ADDR)\n" +
           exit_help},
      {"gc",
       std::string("usage: loom gc --before DATE [--store DIR] [--dry-run]\n"
                   "deletes the executions that started before DATE, with their objects (inputs, outputs,\n"
                   "futures files, packs) and their rows in the database, and prints what it deleted. A\n"
                   "running execution whose owner may be alive is kept. DATE: YYYY-MM-DD (midnight UTC) or\n"
                   "ISO 8601, e.g. 2026-11-27T03:15:00Z (no zone: UTC).\n\n"
                   "options:\n") +
           store_option_help +
           "  --before DATE the cut-off (required)\n"
           "  --dry-run     print what would be deleted, delete nothing\n" +
           exit_help},
  };
  return help;
}

// ---- executions ----

int cmd_executions(const command_line& cl) {
  loom_tool::store s(require_store(cl));
  const bool as_json = cl.has("--json");
  if (!s.states) {
    if (as_json) write_out("[]\n");
    else std::fprintf(stderr, "loom executions: no executions recorded in %s\n", s.root.c_str());
    return 0;
  }
  const auto executions = s.states->executions();
  if (as_json) {
    auto out = nlohmann::ordered_json::array();
    for (const auto& e : executions) out.push_back(loom_tool::execution_json(loom_tool::view_of(e)));
    write_out(out.dump(2) + "\n");
    return 0;
  }
  if (executions.empty()) {
    std::fprintf(stderr, "loom executions: no executions recorded in %s\n", s.root.c_str());
    return 0;
  }
  std::vector<std::vector<std::string>> rows = {{"ID", "WORKFLOW", "STATUS", "STARTED (UTC)", "DURATION", "NODES"}};
  for (const auto& e : executions) {
    const auto v = loom_tool::view_of(e);
    rows.push_back({e.id, e.workflow, v.status, loom_tool::iso_time(e.started_us), loom_tool::duration_text(v.duration_us),
                    std::to_string(e.nodes_done) + "/" + std::to_string(e.nodes_total)});
  }
  write_out(table(rows));
  return 0;
}

// ---- show ----

/// The value of an option that is a count or an index: a non-negative integer.
std::size_t count_option(const std::string& option, const std::string& text) {
  std::size_t used = 0;
  std::size_t value = 0;
  try {
    value = static_cast<std::size_t>(std::stoull(text, &used));
  } catch (const std::exception&) {
    used = 0;
  }
  if (used == 0 || used != text.size() || text[0] < '0' || text[0] > '9') {
    throw usage_error(option + ": expected a non-negative integer, got '" + text + "'");
  }
  return value;
}

void report_tree_problems(const char* command, const loom_tool::execution_tree& tree) {
  for (const auto& note : tree.notes) std::fprintf(stderr, "loom %s: note: %s\n", command, note.c_str());
  for (const auto& error : tree.errors) std::fprintf(stderr, "loom %s: %s\n", command, error.c_str());
}

/// The execution id given on the command line, its --node PATH checked too: an id or a
/// node path that would reach outside the store ("../x", "a/b", "/n0") is a usage error
/// (exit 2), not an execution or node that is not there.
const std::string& execution_id_argument(const command_line& cl) {
  const std::string& id = cl.positional[0];
  try {
    loom::object_store::check_execution_id(id);
  } catch (const loom::error& e) {
    throw usage_error(e.what());
  }
  if (const auto path = cl.value("--node")) {
    // A node path names keys of the store: nothing above it.
    if (const auto why = loom::object_store::key_problem(*path)) {
      throw usage_error("--node: invalid node path '" + *path + "' (node paths are as loom show lists them: n0/n2): " +
                        *why);
    }
  }
  return id;
}

const loom_tool::tree_node& node_or_root(const loom_tool::execution_tree& tree, const command_line& cl,
                                         const std::string& id) {
  const auto path = cl.value("--node");
  if (!path) return tree.root;
  const auto* node = tree.find(*path);
  if (node == nullptr || path->empty()) throw failure("no node '" + *path + "' in execution " + id);
  return *node;
}

int cmd_show(const command_line& cl) {
  const std::string& id = execution_id_argument(cl);
  loom_tool::store s(require_store(cl));
  const auto view = loom_tool::view_of(s.execution(id));
  const auto tree = loom_tool::load_tree(s, id);
  const auto& top = node_or_root(tree, cl, id);
  if (const auto item = cl.value("--item")) {  // one item of a map node
    if (&top == &tree.root) throw usage_error("--item needs --node PATH, the map node");
    const auto k = count_option("--item", *item);
    nlohmann::ordered_json j;
    try {
      j = loom_tool::item_json(s, id, top, k);
    } catch (const std::runtime_error& e) {
      throw failure(e.what());
    }
    if (cl.has("--json")) {
      write_out(j.dump(2) + "\n");
      return 0;
    }
    std::string out = "item " + std::to_string(k) + " of map node " + top.path + " (" + top.task + ")\n";
    out += "phase      " + j["phase"].get<std::string>() + "\n";
    out += "attempts   " + j["attempts"].dump() + "\n";
    if (j.contains("error")) out += "error      " + (j["error"].is_string() ? j["error"].get<std::string>() : j["error"].dump()) + "\n";
    if (j.contains("outputs")) {
      for (const auto& [name, value] : j["outputs"].items()) out += "output     " + name + " = " + value.dump() + "\n";
    }
    write_out(out);
    return 0;
  }
  if (cl.has("--json")) {
    auto nodes = nlohmann::ordered_json::array();
    if (&top == &tree.root) {
      for (const auto& c : tree.root.children) nodes.push_back(loom_tool::node_json(*c));
    } else {
      nodes.push_back(loom_tool::node_json(top));
    }
    write_out(nlohmann::ordered_json{{"execution", loom_tool::execution_json(view)}, {"nodes", std::move(nodes)}}.dump(2) +
              "\n");
  } else {
    const auto& e = view.record;
    std::string out;
    out += "execution  " + e.id + "\n";
    out += "workflow   " + e.workflow + "\n";
    out += "status     " + view.status + (view.status != e.status ? " (recorded as " + e.status + ")" : "") + "\n";
    out += "started    " + loom_tool::iso_time(e.started_us) + "\n";
    out += "duration   " + loom_tool::duration_text(view.duration_us) + (e.ended_us == 0 ? " so far" : "") + "\n";
    out += "nodes      " + std::to_string(e.nodes_done) + "/" + std::to_string(e.nodes_total) + " done, " +
           std::to_string(e.nodes_failed) + " failed\n";
    out += "owner      " + e.owner + " (" + std::to_string(e.runs) + (e.runs == 1 ? " run" : " runs") + ", " +
           e.backend + " backend)\n";
    if (!e.error.empty()) {
      std::string error = e.error;
      for (std::size_t at = 0; (at = error.find('\n', at)) != std::string::npos; at += 12) error.insert(at + 1, "           ");
      out += "error      " + error + "\n";
    }
    out += "\n";
    std::vector<std::vector<std::string>> rows = {{"NODE", "TASK", "KIND", "PHASE", "ATTEMPTS", "DURATION", "ERROR"}};
    std::vector<std::string> slurm_cells = {"SLURM"};
    const bool live = view.status == "running";
    std::function<void(const loom_tool::tree_node&, std::size_t)> add = [&](const loom_tool::tree_node& n,
                                                                              std::size_t depth) {
      std::string duration = "-";
      if (n.row && n.row->ended_us > 0 && n.row->started_us > 0) {
        duration = loom_tool::duration_text(n.row->ended_us - n.row->started_us);
      } else if (n.row && n.phase == "running" && live && n.row->started_us > 0) {
        duration = loom_tool::duration_text(loom::now_us() - n.row->started_us) + " so far";
      }
      // The top of a --node subtree by its whole path, every other node by its id.
      const std::string& name = depth == 0 && &top != &tree.root ? n.path : n.id;
      rows.push_back({std::string(2 * depth, ' ') + name, n.task, n.kind, n.phase,
                      n.row ? std::to_string(n.row->attempts) : "0", duration, n.row ? first_line(n.row->error) : ""});
      slurm_cells.push_back(loom_tool::slurm_summary(n));
      for (const auto& c : n.children) add(*c, depth + 1);
    };
    if (&top == &tree.root) {
      for (const auto& c : tree.root.children) add(*c, 0);
    } else {
      add(top, 0);
    }
    // Nodes that ran as Slurm jobs: a SLURM column before ERROR (the last job of each).
    if (std::any_of(slurm_cells.begin() + 1, slurm_cells.end(), [](const std::string& c) { return !c.empty(); })) {
      for (std::size_t r = 0; r < rows.size(); ++r) rows[r].insert(rows[r].end() - 1, slurm_cells[r]);
    }
    if (rows.size() == 1) out += "(no nodes recorded)\n";
    else out += table(rows);
    // Each map node's items, summed up (one row of the state store per map node).
    std::string maps;
    std::function<void(const loom_tool::tree_node&)> summarise = [&](const loom_tool::tree_node& n) {
      if (n.items) maps += loom_tool::items_summary(n);
      for (const auto& c : n.children) summarise(*c);
    };
    summarise(top);
    if (!maps.empty()) out += "\n" + maps;
    // --node PATH: every Slurm job of that node, with its script and logs.
    if (&top != &tree.root) {
      if (const std::string jobs = loom_tool::slurm_detail(top); !jobs.empty()) out += "\n" + jobs;
    }
    write_out(out);
  }
  std::fflush(stdout);
  report_tree_problems("show", tree);
  return tree.errors.empty() ? 0 : 1;
}

// ---- graph ----

/// The program `name` found in $PATH, or nothing.
std::optional<std::string> find_program(const std::string& name) {
  const char* path = std::getenv("PATH");
  if (path == nullptr) return std::nullopt;
  std::string_view rest(path);
  while (true) {
    const auto colon = rest.find(':');
    std::string dir(rest.substr(0, colon));
    if (dir.empty()) dir = ".";
    const std::string candidate = dir + "/" + name;
    std::error_code ec;
    if (::access(candidate.c_str(), X_OK) == 0 && !fs::is_directory(candidate, ec)) return candidate;
    if (colon == std::string_view::npos) return std::nullopt;
    rest.remove_prefix(colon + 1);
  }
}

/// Runs `dot -Tsvg` on `dot_text`, its output to our stdout; its exit code.
int run_graphviz(const std::string& program, const std::string& dot_text) {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) throw failure(std::string("cannot create a pipe: ") + std::strerror(errno));
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, fds[0], 0);
  posix_spawnattr_t attributes;
  posix_spawnattr_init(&attributes);
  sigset_t defaults;
  sigemptyset(&defaults);
  sigaddset(&defaults, SIGPIPE);  // we ignore it; dot should not inherit that
  posix_spawnattr_setsigdefault(&attributes, &defaults);
  posix_spawnattr_setflags(&attributes, POSIX_SPAWN_SETSIGDEF);
  std::string arg0 = program;
  std::string arg1 = "-Tsvg";
  char* argv[] = {arg0.data(), arg1.data(), nullptr};
  std::fflush(stdout);
  pid_t pid = 0;
  const int rc = posix_spawn(&pid, program.c_str(), &actions, &attributes, argv, environ);
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attributes);
  ::close(fds[0]);
  if (rc != 0) {
    ::close(fds[1]);
    throw failure("cannot run " + program + ": " + std::strerror(rc));
  }
  std::size_t written = 0;
  while (written < dot_text.size()) {
    const auto n = ::write(fds[1], dot_text.data() + written, dot_text.size() - written);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;  // dot stopped reading: its exit code says why
    written += static_cast<std::size_t>(n);
  }
  ::close(fds[1]);
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return 0;
  throw failure(program + " -Tsvg failed (" +
                (WIFEXITED(status) ? "exit code " + std::to_string(WEXITSTATUS(status))
                                   : "signal " + std::to_string(WTERMSIG(status))) +
                ")");
}

int cmd_graph(const command_line& cl) {
  const std::string format = cl.value("--format").value_or("dot");
  if (format != "dot" && format != "svg") throw usage_error("--format: expected dot or svg, got '" + format + "'");
  const std::string& id = execution_id_argument(cl);
  loom_tool::store s(require_store(cl));
  const auto e = s.execution(id);
  const auto tree = loom_tool::load_tree(s, id);
  const auto& top = node_or_root(tree, cl, id);
  report_tree_problems("graph", tree);
  if (!tree.errors.empty()) return 1;
  const std::string dot_text = loom_tool::execution_dot(tree, e.workflow, &top);
  if (format == "dot") {
    write_out(dot_text);
    return 0;
  }
  const auto dot = find_program("dot");
  if (!dot) {
    throw failure("--format svg needs Graphviz's 'dot' program, which is not installed (not found in PATH); "
                  "install Graphviz (Debian: apt-get install graphviz), or use --format dot and render it elsewhere");
  }
  return run_graphviz(*dot, dot_text);
}

// ---- inspect ----

bool is_valid_key(const std::string& key) {
  try {
    loom::object_store::check_key(key);
    return true;
  } catch (const std::exception&) {
    return false;
  }
}

/// A file of the futures-file format, by its name: futures.json, workflow.json, specs/*.json.
bool named_like_graph(const std::string& name) {
  const fs::path p(name);
  const auto file = p.filename().string();
  return file == "futures.json" || file == "workflow.json" || p.parent_path().filename() == "specs";
}

void print_futures_file(const loom_tool::graph_file& f) {
  std::string out;
  out += (f.static_ids ? "workflow graph " : "futures file ") + f.where + ": valid (loom-futures, version 1)\n";
  out += "workflow: " + f.workflow + "\n";
  out += "entities (" + std::to_string(f.entities.size()) + "):\n";
  {
    std::vector<std::vector<std::string>> rows;
    for (const auto& [name, e] : f.entities) {
      auto ports = [](const std::vector<loom::port>& list) {
        std::string text;
        for (const auto& p : list) text += (text.empty() ? "" : ", ") + p.name + ": " + p.type.to_string();
        return "(" + text + ")";
      };
      rows.push_back({"  " + name, e.kind, ports(e.interface.inputs) + " -> " + ports(e.interface.outputs)});
    }
    out += table(rows);
  }
  auto graph = [&](const json& nodes, const json& outputs, const std::string& indent) {
    std::vector<std::vector<std::string>> rows;
    for (const auto& n : nodes) {
      // A map node reads "map square(x: [...]) over x".
      const bool is_map = n.contains("map") && n["map"].is_object() && n["map"].contains("mapped");
      std::string call = (is_map ? "map " : "") + n["entity"].get<std::string>() + "(";
      bool first = true;
      for (const auto& [port, b] : n["inputs"].items()) {
        call += (first ? "" : ", ") + port + ": " + loom_tool::binding_text(b);
        first = false;
      }
      call += ")";
      if (is_map) {
        std::string over;
        for (const auto& name : n["map"]["mapped"]) over += (over.empty() ? " over " : ", ") + name.dump();
        call += over;
        if (n["map"].value("partial", false)) call += " (partial)";
      }
      rows.push_back({indent + n["id"].get<std::string>(), call});
    }
    out += table(rows);
    std::string list;
    for (const auto& [name, b] : outputs.items()) list += (list.empty() ? "" : ", ") + name + " = " + loom_tool::binding_text(b);
    out += (indent == "  " ? std::string() : indent) + "outputs: " + (list.empty() ? "none" : list) + "\n";
  };
  const json& doc = f.document;
  out += "nodes (" + std::to_string(doc["nodes"].size()) + "):\n";
  graph(doc["nodes"], doc["outputs"], "  ");
  if (!doc["subworkflows"].empty()) {
    out += "subworkflows (" + std::to_string(doc["subworkflows"].size()) + "):\n";
    for (const auto& [name, spec] : doc["subworkflows"].items()) {
      std::string inputs;
      for (const auto& i : spec["inputs"]) inputs += (inputs.empty() ? "" : ", ") + i.get<std::string>();
      out += "  " + name + "(" + inputs + "):\n";
      graph(spec["nodes"], spec["outputs"], "    ");
    }
  }
  write_out(out);
}

/// A pack (`<execution>/packs/*.pack`): every record checked.
int inspect_pack(const std::string& name, const std::string& text, bool as_json) {
  json records = json::array();
  std::vector<std::vector<std::string>> rows = {{"OFFSET", "KEY", "BYTES", "CHECK"}};
  std::vector<std::string> damage;
  std::string_view rest(text);
  std::size_t offset = 0;
  // Records name their keys within the execution; a pack at <execution>/packs/ shows them whole.
  const fs::path packs = fs::path(name).parent_path();
  const std::string execution = packs.filename() == "packs" ? packs.parent_path().filename().string() + "/" : "";
  while (!rest.empty()) {
    const loom::detail::pack_record r = loom::detail::read_pack_record(rest, offset);
    using state = loom::detail::pack_record::state;
    if (r.status == state::incomplete) {
      damage.push_back("at offset " + std::to_string(offset) + ": a record cut short (a crash while it was written)");
      break;
    }
    if (r.status == state::unframed) {  // what follows cannot be framed
      damage.push_back("at offset " + std::to_string(offset) + ": " + r.problem);
      break;
    }
    const std::string key = execution + std::string(r.key);
    std::string check = r.status == state::whole ? "ok" : r.problem;
    if (r.status == state::whole && loom::detail::holds_compact_outputs(r.key, rest.substr(r.body, r.size))) {
      try {  // (a compact body must read as its JSON text too, as get() reads it)
        (void)loom::detail::compact_to_json_text(rest.substr(r.body, r.size));
      } catch (const loom::error& e) {
        check = e.what();
      }
    }
    rows.push_back({std::to_string(offset), key, std::to_string(r.size), check});
    records.push_back(json{{"offset", offset}, {"key", key}, {"bytes", r.size}, {"check", check}});
    if (check != "ok") damage.push_back(key + " at offset " + std::to_string(offset) + ": " + check);
    offset += r.length;
    rest.remove_prefix(r.length);
  }
  if (as_json) {
    write_out(json{{"pack", name}, {"records", records}}.dump(2) + "\n");
  } else {
    write_out("pack " + name + ": " + std::to_string(records.size()) + " records\n" + table(rows));
  }
  std::fflush(stdout);
  for (const auto& d : damage) std::fprintf(stderr, "loom inspect: %s is damaged: %s\n", name.c_str(), d.c_str());
  return damage.empty() ? 0 : 1;
}

int cmd_inspect(const command_line& cl) {
  const std::string& target = cl.positional[0];
  const bool as_json = cl.has("--json");
  loom_tool::graph_check_options options;
  if (const auto text = cl.value("--max-nodes")) options.max_nodes = count_option("--max-nodes", *text);
  const bool explicit_store = cl.value("--store").has_value();
  const auto dir = store_dir(cl);
  std::optional<loom_tool::store> s;
  std::string name = target;
  std::string payload;
  bool from_store = false;
  std::error_code ec;
  auto open = [&] {
    if (!s) s.emplace(*dir);
  };
  if (explicit_store) {
    open();
    from_store = is_valid_key(target) && s->objects->contains(target);
  }
  if (!from_store && fs::exists(target, ec)) {
    if (fs::is_directory(target, ec)) throw failure(target + " is a directory, not a file");
    auto text = loom::detail::read_file(target);
    if (!text) throw failure("cannot read " + target);
    if (text->rfind(loom::detail::pack_record_magic, 0) == 0) return inspect_pack(target, *text, as_json);
    if (text->rfind("loom-object ", 0) == 0) {  // a Loom 0.1 object file: its header line, then the bytes
      payload = loom::object_store::verified_object(target, std::move(*text));
    } else if (const auto sum = loom::detail::read_file(target + std::string(loom::detail::checksum_suffix))) {
      payload = loom::object_store::verified_file(target, std::move(*text), sum);  // an object file and its checksum
    } else {
      payload = std::move(*text);
    }
  } else {
    if (!dir) {
      throw failure("no file " + target + " (to read a key of a store, give --store DIR or set LOOM_STORE)");
    }
    open();
    if (!is_valid_key(target)) throw failure("no file " + target + ", and it is not a key of the store in " + *dir);
    auto text = s->objects->get(target);
    if (!text) throw failure("no object " + target + " in the store " + *dir);
    payload = std::move(*text);
    from_store = true;
  }
  // Nothing recursive may walk what nests deeper than this (it would overflow the stack).
  if (const auto depth = loom_tool::json_depth(payload); depth > loom_tool::max_json_depth) {
    throw failure(name + ": nested " + std::to_string(depth) + " levels deep, over the limit of " +
                  std::to_string(loom_tool::max_json_depth));
  }
  // A futures-format file: named like one, or saying it is one.
  bool graph = named_like_graph(name);
  if (!graph && payload.find("\"loom-futures\"") != std::string::npos) {
    try {
      const json doc = json::parse(payload);
      graph = doc.is_object() && doc.contains("format") && doc["format"] == "loom-futures";
    } catch (const json::exception&) {
    }
  }
  if (graph) {
    if (s) options.store = &*s->objects;
    const auto f = loom_tool::read_graph_file(payload, name, options);
    if (f.valid() && !as_json) {
      print_futures_file(f);
      return 0;
    }
    if (!f.document.is_discarded() && !f.document.is_null()) write_out(pretty(f.document) + "\n");
    if (f.valid()) return 0;
    std::fflush(stdout);
    std::fprintf(stderr, "loom inspect: %s\n", f.report().c_str());
    return 1;
  }
  json value;
  try {
    value = json::parse(payload);
  } catch (const json::parse_error& e) {
    throw failure(name + ": not valid JSON (truncated or corrupt?): " + e.what());
  }
  write_out(pretty(value) + "\n");
  return 0;
}

// ---- gc ----

int cmd_gc(const command_line& cl) {
  const auto before_text = cl.value("--before");
  if (!before_text) throw usage_error("--before DATE is required (see: loom gc --help)");
  const auto before = loom_tool::parse_time(*before_text);
  if (!before) {
    throw usage_error("--before: expected YYYY-MM-DD or an ISO 8601 time such as 2026-11-27T03:15:00Z, got '" +
                      *before_text + "'");
  }
  const bool dry_run = cl.has("--dry-run");
  loom_tool::store s(require_store(cl));
  if (!s.states) {
    std::printf("nothing to delete: no executions recorded in %s\n", s.root.c_str());
    return 0;
  }
  const auto candidates = s.states->executions_started_before(*before);
  std::size_t deleted = 0;
  std::size_t kept = 0;
  std::uintmax_t freed = 0;
  bool failed = false;
  for (const auto& candidate : candidates) {
    // Read again just before deleting: a resume may have claimed it meanwhile.
    const auto current = s.states->execution(candidate.id);
    if (!current) continue;
    const auto v = loom_tool::view_of(*current);
    const std::string what = current->id + " (" + current->workflow + ", " + v.status + ", started " +
                             loom_tool::iso_time(current->started_us) + ")";
    if (current->status == "running" && v.owner_alive) {
      std::printf("kept %s: it is running, and its owner %s is alive\n", what.c_str(), current->owner.c_str());
      ++kept;
      continue;
    }
    if (loom::object_store::execution_id_problem(current->id)) {
      std::fprintf(stderr, "loom gc: cannot delete execution '%s': its id is not a key of its own in the store\n",
                   current->id.c_str());
      failed = true;
      continue;
    }
    std::uintmax_t bytes = 0;
    try {
      bytes = s.objects->bytes_under(current->id);
    } catch (const std::exception&) {
    }
    if (dry_run) {
      std::printf("would delete %s: %s\n", what.c_str(), bytes_text(bytes).c_str());
    } else {
      try {
        // The objects first: if that fails the row stays, and gc can be run again.
        s.objects->remove_prefix(current->id);
        s.states->delete_execution(current->id);
      } catch (const std::exception& e) {
        std::fprintf(stderr, "loom gc: cannot delete %s: %s\n", current->id.c_str(), e.what());
        failed = true;
        continue;
      }
      std::printf("deleted %s: %s\n", what.c_str(), bytes_text(bytes).c_str());
    }
    ++deleted;
    freed += bytes;
  }
  std::string summary = dry_run ? "would delete " : "deleted ";
  summary += std::to_string(deleted) + (deleted == 1 ? " execution" : " executions") + " started before " +
             loom_tool::iso_time(*before) + " (" + bytes_text(freed) + ")";
  if (kept > 0) summary += ", kept " + std::to_string(kept) + " running";
  std::printf("%s\n", summary.c_str());
  return failed ? 1 : 0;
}

// ---- ui ----

int cmd_ui(const command_line& cl) {
  loom_tool::ui_options options;
  options.store = require_store(cl);
  if (const auto port = cl.value("--port")) {
    const auto n = count_option("--port", *port);
    if (n > 65535) throw usage_error("--port: expected 0 to 65535, got '" + *port + "'");
    options.port = static_cast<int>(n);
  }
  if (const auto bind = cl.value("--bind")) {
    in6_addr v6{};
    in_addr v4{};
    if (::inet_pton(AF_INET, bind->c_str(), &v4) != 1 && ::inet_pton(AF_INET6, bind->c_str(), &v6) != 1) {
      throw usage_error("--bind: expected an IP address (127.0.0.1, 0.0.0.0, ::1), got '" + *bind + "'");
    }
    options.bind = *bind;
  }
  if (!std::filesystem::is_directory(options.store)) {
    throw failure("no store at " + options.store.string() + " (not a directory)");
  }
  return loom_tool::run_ui(options);
}

// ---- main ----

struct command {
  command_spec spec;
  std::function<int(const command_line&)> run;
};

const std::vector<command>& commands() {
  static const std::vector<command> list = {
      {{"executions", {}, {"--json"}, 0, ""}, cmd_executions},
      {{"show", {"--node", "--item"}, {"--json"}, 1, "ID"}, cmd_show},
      {{"graph", {"--node", "--format"}, {}, 1, "ID"}, cmd_graph},
      {{"inspect", {"--max-nodes"}, {"--json"}, 1, "FILE"}, cmd_inspect},
      {{"gc", {"--before"}, {"--dry-run"}, 0, ""}, cmd_gc},
      {{"ui", {"--port", "--bind"}, {}, 0, ""}, cmd_ui},
  };
  return list;
}

int run(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  if (args.empty()) {
    std::fputs(("loom: no command\n" + main_help()).c_str(), stderr);
    return 2;
  }
  const std::string verb = args[0];
  if (verb == "--help" || verb == "-h" || verb == "help") {
    if (verb == "help" && args.size() > 1 && command_help().count(args[1]) != 0) {
      write_out(command_help().at(args[1]));
    } else {
      write_out(main_help());
    }
    return 0;
  }
  const auto it = std::find_if(commands().begin(), commands().end(), [&](const command& c) { return c.spec.name == verb; });
  if (it == commands().end()) {
    std::fprintf(stderr, "loom: unknown command '%s' (commands: executions, show, graph, inspect, gc, ui; see loom --help)\n",
                 verb.c_str());
    return 2;
  }
  args.erase(args.begin());
  try {
    const command_line cl = parse(args, it->spec);
    if (cl.help) {
      write_out(command_help().at(verb));
      return 0;
    }
    return it->run(cl);
  } catch (const usage_error& e) {
    std::fflush(stdout);
    std::fprintf(stderr, "loom %s: %s\n", verb.c_str(), e.what());
    return 2;
  } catch (const std::exception& e) {
    // failure, a damaged object (loom::object_corrupt names its key), a damaged database
    // (loom::state_store_error names its file), a file that cannot be read.
    std::fflush(stdout);
    std::fprintf(stderr, "loom %s: %s\n", verb.c_str(), e.what());
    return 1;
  }
}

}  // namespace

int main(int argc, char** argv) {
  std::signal(SIGPIPE, SIG_IGN);  // a reader that stops early (| head) is not an error of ours
  const int code = run(argc, argv);
  std::fflush(stdout);
  return code;
}
