// What the `loom` command reads from a store: see store_view.hpp.
#include "store_view.hpp"
#include <loom/state_store.hpp>
#include <loom/object_store.hpp>

#include <algorithm>
#include <charconv>
#include <cstdio>
#include <ctime>
#include <functional>
#include <set>
#include <system_error>

namespace loom_tool {

namespace fs = std::filesystem;
using json = nlohmann::json;

std::string iso_time(std::int64_t us) {
  if (us <= 0) return "-";
  const std::time_t seconds = static_cast<std::time_t>(us / 1'000'000);
  std::tm parts{};
  if (gmtime_r(&seconds, &parts) == nullptr) return "-";
  char text[40];
  std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", &parts);
  return text;
}

std::string duration_text(std::int64_t us) {
  if (us < 0) us = 0;
  char text[40];
  if (us < 1000) {
    std::snprintf(text, sizeof text, "%lld us", static_cast<long long>(us));
  } else if (us < 1'000'000) {
    std::snprintf(text, sizeof text, "%.1f ms", static_cast<double>(us) / 1e3);
  } else if (us < 60'000'000) {
    std::snprintf(text, sizeof text, "%.2f s", static_cast<double>(us) / 1e6);
  } else {
    const long long s = us / 1'000'000;
    if (s < 3600) {
      std::snprintf(text, sizeof text, "%lldm%02llds", s / 60, s % 60);
    } else if (s < 86400) {
      std::snprintf(text, sizeof text, "%lldh%02lldm", s / 3600, (s % 3600) / 60);
    } else {
      std::snprintf(text, sizeof text, "%lldd%02lldh", s / 86400, (s % 86400) / 3600);
    }
  }
  return text;
}

namespace {

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
std::int64_t days_from_civil(std::int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const std::int64_t era = (y >= 0 ? y : y - 399) / 400;
  const auto yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<std::int64_t>(doe) - 719468;
}

/// Reads exactly `n` digits at `at` into `out`.
bool digits(std::string_view text, std::size_t& at, std::size_t n, int& out) {
  if (at + n > text.size()) return false;
  out = 0;
  for (std::size_t i = 0; i < n; ++i) {
    const char c = text[at + i];
    if (c < '0' || c > '9') return false;
    out = out * 10 + (c - '0');
  }
  at += n;
  return true;
}

/// Numbered segment order: "dn9" < "dn10"; otherwise by text.
int compare_segment(std::string_view a, std::string_view b) {
  auto split = [](std::string_view s) {
    std::size_t i = s.size();
    while (i > 0 && s[i - 1] >= '0' && s[i - 1] <= '9') --i;
    return std::pair{s.substr(0, i), s.substr(i)};
  };
  const auto [pa, na] = split(a);
  const auto [pb, nb] = split(b);
  if (pa != pb) return pa < pb ? -1 : 1;
  if (na.size() != nb.size()) return na.size() < nb.size() ? -1 : 1;  // no leading zeros in ids
  if (na != nb) return na < nb ? -1 : 1;
  return 0;
}

const char* kind_text(int kind) {
  switch (kind) {
    case 0: return "task";
    case 1: return "workflow";
    case 2: return "dynamic";
    case 3: return "map";
    case 4: return "branch";
    case 5: return "merge";
    default: return "";
  }
}

bool is_key_segment(std::string_view s) {
  if (s.empty() || s == "." || s == "..") return false;
  return std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '_' ||
           c == '-';
  });
}

}  // namespace

std::optional<std::int64_t> parse_time(std::string_view text) {
  std::size_t at = 0;
  int year = 0, month = 0, day = 0, hour = 0, minute = 0, second = 0;
  if (!digits(text, at, 4, year) || at >= text.size() || text[at++] != '-' || !digits(text, at, 2, month) ||
      at >= text.size() || text[at++] != '-' || !digits(text, at, 2, day)) {
    return std::nullopt;
  }
  static constexpr int month_days[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  const bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
  if (month < 1 || month > 12 || day < 1 || day > month_days[month - 1] || (month == 2 && day == 29 && !leap)) {
    return std::nullopt;
  }
  std::int64_t fraction_us = 0;
  std::int64_t offset_s = 0;
  if (at < text.size()) {
    if (text[at] != 'T' && text[at] != 't' && text[at] != ' ') return std::nullopt;
    ++at;
    if (!digits(text, at, 2, hour) || at >= text.size() || text[at++] != ':' || !digits(text, at, 2, minute)) {
      return std::nullopt;
    }
    if (at < text.size() && text[at] == ':') {
      ++at;
      if (!digits(text, at, 2, second)) return std::nullopt;
      if (at < text.size() && (text[at] == '.' || text[at] == ',')) {
        ++at;
        std::int64_t scale = 100'000;
        const std::size_t start = at;
        while (at < text.size() && text[at] >= '0' && text[at] <= '9') {
          fraction_us += (text[at] - '0') * scale;
          scale /= 10;
          ++at;
        }
        if (at == start) return std::nullopt;
      }
    }
    if (hour > 23 || minute > 59 || second > 60) return std::nullopt;
    if (at < text.size()) {
      if (text[at] == 'Z' || text[at] == 'z') {
        ++at;
      } else if (text[at] == '+' || text[at] == '-') {
        const int sign = text[at++] == '+' ? 1 : -1;
        int oh = 0, om = 0;
        if (!digits(text, at, 2, oh)) return std::nullopt;
        if (at < text.size() && text[at] == ':') ++at;
        if (!digits(text, at, 2, om) || oh > 23 || om > 59) return std::nullopt;
        offset_s = sign * (oh * 3600 + om * 60);
      } else {
        return std::nullopt;
      }
    }
    if (at != text.size()) return std::nullopt;
  }
  const std::int64_t seconds = days_from_civil(year, static_cast<unsigned>(month), static_cast<unsigned>(day)) * 86400 +
                               hour * 3600 + minute * 60 + second - offset_s;
  return seconds * 1'000'000 + fraction_us;
}

bool path_less(std::string_view a, std::string_view b) {
  while (!a.empty() && !b.empty()) {
    const auto ea = std::min(a.find('/'), a.size());
    const auto eb = std::min(b.find('/'), b.size());
    if (const int c = compare_segment(a.substr(0, ea), b.substr(0, eb)); c != 0) return c < 0;
    a.remove_prefix(ea == a.size() ? ea : ea + 1);
    b.remove_prefix(eb == b.size() ? eb : eb + 1);
  }
  return a.empty() && !b.empty();
}

store::store(const fs::path& dir, bool read_only) : root(dir) {
  std::error_code ec;
  if (!fs::exists(dir, ec)) throw failure("no store at " + dir.string() + " (the directory does not exist)");
  if (!fs::is_directory(dir, ec)) throw failure("no store at " + dir.string() + " (not a directory)");
  try {
    objects.emplace(dir);
  } catch (const std::exception& e) {
    throw failure(e.what());
  }
  const fs::path db = loom::state_store::default_path(dir);
  if (!fs::exists(db, ec)) return;
  if (!read_only) {
    states = std::make_unique<loom::state_store>(db, /*create=*/false);
    return;
  }
  // A run that has the database open keeps its -wal beside it: read through it. Else
  // the file is all there is, and is read without SQLite making its -shm and -wal.
  const bool written = fs::exists(fs::path(db.string() + "-wal"), ec);
  try {
    states = std::make_unique<loom::state_store>(
        db, written ? loom::state_store::reading::shared : loom::state_store::reading::immutable);
  } catch (const std::exception& e) {
    throw failure(e.what());
  }
}

loom::state_store& store::database() {
  if (!states) throw failure("no executions recorded in " + root.string() + " (no " +
                             loom::state_store::default_path(root).string() + ")");
  return *states;
}

loom::execution_record store::execution(const std::string& id) {
  auto& db = database();
  auto e = db.execution(id);
  if (!e) throw failure("no execution '" + id + "' in " + db.path().string());
  return *e;
}

execution_view view_of(const loom::execution_record& e) {
  execution_view v;
  v.record = e;
  v.status = e.status;
  if (e.status == "running") {
    v.owner_alive = loom::state_store::owner_may_be_alive(e);
    if (!v.owner_alive && loom::state_store::owned_by_this_host(e)) v.status = "interrupted";
  }
  if (e.ended_us > 0) {
    v.duration_us = e.ended_us - e.started_us;
  } else if (v.status == "running") {
    v.duration_us = loom::now_us() - e.started_us;
  } else {
    v.duration_us = std::max<std::int64_t>(0, e.heartbeat_us - e.started_us);  // until it was last heard of
  }
  return v;
}

nlohmann::ordered_json execution_json(const execution_view& v) {
  const auto& e = v.record;
  return nlohmann::ordered_json{{"id", e.id},
              {"workflow", e.workflow},
              {"status", v.status},
              {"recorded_status", e.status},
              {"started", iso_time(e.started_us)},
              {"started_us", e.started_us},
              {"ended_us", e.ended_us},
              {"duration_us", v.duration_us},
              {"nodes_done", e.nodes_done},
              {"nodes_total", e.nodes_total},
              {"nodes_failed", e.nodes_failed},
              {"owner", e.owner},
              {"owner_alive", v.owner_alive},
              {"heartbeat_us", e.heartbeat_us},
              {"runs", e.runs},
              {"backend", e.backend},
              {"error", e.error}};
}

namespace {

class tree_builder {
 public:
  tree_builder(store& s, execution_tree& tree) : store_(s), tree_(tree) {}

  void build() {
    for (auto& row : store_.database().nodes(tree_.id)) {
      auto path = row.path;
      rows_.emplace(std::move(path), std::move(row));
    }
    for (auto& items : store_.database().map_items(tree_.id)) {
      auto path = items.path;
      items_.emplace(std::move(path), std::move(items));
    }
    const graph_file* root = load(tree_.id + "/workflow.json", /*expected=*/true);
    tree_.root.file = root;
    if (root != nullptr) {
      tree_.root.graph = &root->top;
      expand(tree_.root, root->top, *root, "", 0);
    }
    place_orphans();
    attach_slurm_jobs();
  }

 private:
  /// The graph file under `key`, read and checked once; null (and an error or a note) if
  /// it is missing, damaged or invalid.
  const graph_file* load(const std::string& key, bool expected) {
    if (const auto it = tree_.files.find(key); it != tree_.files.end()) return it->second.get();
    std::unique_ptr<graph_file> file;
    try {
      const auto text = store_.objects->get(key);
      if (!text) {
        if (expected) tree_.notes.push_back(key + " is missing: nodes that did not start are not shown");
      } else {
        graph_check_options options;
        options.store = &*store_.objects;
        file = std::make_unique<graph_file>(read_graph_file(*text, key, options));
        if (!file->valid()) {
          tree_.errors.push_back(file->report());
          file.reset();
        }
      }
    } catch (const std::exception& e) {
      tree_.errors.push_back(e.what());
    }
    const graph_file* out = file.get();
    tree_.files.emplace(key, std::move(file));
    return out;
  }

  void expand(tree_node& parent, const graph_decl& g, const graph_file& file, const std::string& prefix, int depth) {
    if (depth > 1000) {
      tree_.errors.push_back("execution " + tree_.id + ": nodes nested more than 1000 deep under '" + prefix + "'");
      return;
    }
    for (const auto& decl : g.nodes) {
      auto child = std::make_unique<tree_node>();
      child->id = decl.id;
      child->path = prefix + decl.id;
      child->task = decl.entity;
      child->kind = decl.kind;
      claim(*child);
      if (child->row) {  // what it expanded into, once it started
        if (child->kind == "dynamic") {
          const std::string key = tree_.id + "/" + child->path + "/futures.json";
          // Its body may still be running (or died running): no futures file yet.
          const bool expected = child->phase == "succeeded";
          if (const graph_file* sub = is_valid_key(key) ? load(key, expected) : nullptr) {
            child->graph = &sub->top;
            child->file = sub;
            expand(*child, sub->top, *sub, child->path + "/", depth + 1);
          }
        } else if (child->kind == "workflow") {
          const graph_file* holder = nullptr;
          const graph_decl* sub = nullptr;
          const std::string key = tree_.id + "/specs/" + child->task + ".json";
          if (is_key_segment(child->task + ".json") && store_.objects->contains(key)) {
            holder = load(key, true);
            if (holder != nullptr) sub = &holder->top;
          } else if (const auto it = file.subworkflows.find(child->task); it != file.subworkflows.end()) {
            holder = &file;
            sub = &it->second;
          }
          if (sub != nullptr) {
            child->graph = sub;
            child->file = holder;
            expand(*child, *sub, *holder, child->path + "/", depth + 1);
          }
        }
      }
      parent.children.push_back(std::move(child));
    }
  }

  static bool is_valid_key(const std::string& key) {
    try {
      loom::object_store::check_key(key);
      return true;
    } catch (const std::exception&) {
      return false;
    }
  }

  /// Gives the node its row, if it has one.
  void claim(tree_node& n) {
    const auto it = rows_.find(n.path);
    if (it == rows_.end()) {
      n.phase = "not started";
      return;
    }
    n.row = std::move(it->second);
    rows_.erase(it);
    if (const auto items = items_.find(n.path); items != items_.end()) n.items = std::move(items->second);
    n.phase = std::string(loom::phase_name(n.row->phase));
    if (n.task.empty()) n.task = n.row->task;
    if (n.kind.empty()) n.kind = kind_text(n.row->kind);
  }

  /// Rows no stored graph accounts for (an older execution, a graph that is missing or
  /// damaged): placed under their parent path, which is made up if need be.
  void place_orphans() {
    std::vector<std::string> paths;
    for (const auto& [path, _] : rows_) paths.push_back(path);
    std::sort(paths.begin(), paths.end(), [](const std::string& a, const std::string& b) { return path_less(a, b); });
    std::map<std::string, tree_node*> by_path;
    std::function<void(tree_node&)> index = [&](tree_node& n) {
      by_path[n.path] = &n;
      for (auto& c : n.children) index(*c);
    };
    index(tree_.root);
    std::function<tree_node*(const std::string&)> node_at = [&](const std::string& path) -> tree_node* {
      if (const auto it = by_path.find(path); it != by_path.end()) return it->second;
      const auto slash = path.rfind('/');
      tree_node* parent = node_at(slash == std::string::npos ? std::string() : path.substr(0, slash));
      auto made = std::make_unique<tree_node>();
      made->path = path;
      made->id = slash == std::string::npos ? path : path.substr(slash + 1);
      claim(*made);
      tree_node* raw = made.get();
      parent->children.push_back(std::move(made));
      by_path[path] = raw;
      return raw;
    };
    for (const auto& path : paths) {
      if (rows_.count(path) == 0) continue;  // claimed as a parent already
      if (path.empty() || path.size() > 4096) continue;
      node_at(path);
    }
  }

  /// The Slurm backend's job records of the execution (any run of it, whatever backend
  /// its last run had), each given to its node with the state its done record tells.
  void attach_slurm_jobs() {
    const std::string prefix = tree_.id + "/";
    std::vector<std::string> keys;
    try {
      if (!is_valid_key(tree_.id)) return;
      keys = store_.objects->list(tree_.id);
    } catch (const std::exception& e) {
      tree_.errors.push_back("cannot list the objects of execution " + tree_.id + ": " + e.what());
      return;
    }
    std::map<std::string, tree_node*, std::less<>> by_path;
    std::function<void(tree_node&)> index = [&](tree_node& n) {
      by_path[n.path] = &n;
      for (auto& c : n.children) index(*c);
    };
    index(tree_.root);
    attach_pilot_nodes(by_path);
    for (const auto& key : keys) {
      if (key.compare(0, prefix.size(), prefix) != 0) continue;
      const std::string_view rel = std::string_view(key).substr(prefix.size());
      const auto where = job_record_place(rel);
      if (!where) continue;
      const auto node = by_path.find(where->path);
      if (node == by_path.end() || where->path.empty()) {
        tree_.notes.push_back("Slurm job record " + key + ": execution " + tree_.id + " has no node '" +
                              std::string(where->path) + "'");
        continue;
      }
      if (auto job = read_job(key, where->batch, where->number)) node->second->slurm.push_back(std::move(*job));
    }
    for (const auto& [path, n] : by_path) {
      std::stable_sort(n->slurm.begin(), n->slurm.end(), [](const slurm_job_view& a, const slurm_job_view& b) {
        return std::pair(a.batch, a.number) < std::pair(b.batch, b.number);
      });
    }
  }

  /// The pilot workers' journal (`<execution>/pilots/nodes.jsonl`, src/slurm_pilots.hpp):
  /// each node a worker ran, with the worker's Slurm job and how it ended. A line that
  /// is not one (a torn last line of a driver killed mid-write) is skipped.
  void attach_pilot_nodes(const std::map<std::string, tree_node*, std::less<>>& by_path) {
    const std::string key = tree_.id + "/pilots/nodes.jsonl";
    const auto text = loom::detail::read_file(store_.root / key);
    if (!text) return;
    std::map<std::string, slurm_job_view> by_id;
    std::vector<std::string> order;
    std::size_t start = 0;
    while (start < text->size()) {
      auto end = text->find('\n', start);
      if (end == std::string::npos) end = text->size();
      const json line = json::parse(std::string_view(*text).substr(start, end - start), nullptr, false);
      start = end + 1;
      if (!line.is_object() || !line.contains("id") || !line["id"].is_string()) continue;
      const std::string id = line["id"].get<std::string>();
      const auto field = [&](const char* name) {
        const auto it = line.find(name);
        return it != line.end() && it->is_string() ? it->get<std::string>() : std::string();
      };
      if (line.contains("node")) {  // sent to a worker
        slurm_job_view job;
        job.record_key = key;
        job.pilot = id;
        job.job = field("worker");
        job.comment = field("node");
        job.number = line.value("attempt", 0u);
        job.stdout_log = field("stdout");
        job.stderr_log = field("stderr");
        job.state = "running";
        if (by_id.emplace(id, std::move(job)).second) order.push_back(id);
        continue;
      }
      const auto it = by_id.find(id);
      if (it == by_id.end()) continue;
      if (line.contains("exit") && line["exit"].is_number_integer()) {
        it->second.exit = line["exit"].get<int>();
        it->second.state = "exited " + std::to_string(*it->second.exit);
      } else if (line.contains("lost")) {
        it->second.state = "lost: " + field("lost");
      }
    }
    for (const auto& id : order) {
      auto& job = by_id[id];
      const auto node = by_path.find(job.comment);
      if (node == by_path.end() || job.comment.empty()) {
        tree_.notes.push_back(key + ": execution " + tree_.id + " has no node '" + job.comment + "'");
        continue;
      }
      job.comment = id;
      node->second->slurm.push_back(std::move(job));
    }
  }

  struct job_place {
    std::string_view path;  // the node's
    bool batch = false;
    std::uint32_t number = 0;
  };

  /// `<path>/job-a<N>.json` (attempt N) or `<path>/batch-<K>/job.json` (batch K), keys
  /// relative to the execution; nothing for any other key.
  static std::optional<job_place> job_record_place(std::string_view rel) {
    const auto number_of = [](std::string_view digits) -> std::optional<std::uint32_t> {
      std::uint32_t n = 0;
      const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), n);
      if (digits.empty() || ec != std::errc() || end != digits.data() + digits.size()) return std::nullopt;
      return n;
    };
    const auto slash = rel.rfind('/');
    if (slash == std::string_view::npos) return std::nullopt;
    const std::string_view dir = rel.substr(0, slash);
    const std::string_view file = rel.substr(slash + 1);
    constexpr std::string_view attempt_start = "job-a";
    constexpr std::string_view json_end = ".json";
    if (file.size() > attempt_start.size() + json_end.size() && file.substr(0, attempt_start.size()) == attempt_start &&
        file.substr(file.size() - json_end.size()) == json_end) {
      const auto n = number_of(file.substr(attempt_start.size(), file.size() - attempt_start.size() - json_end.size()));
      if (n) return job_place{dir, false, *n};
      return std::nullopt;
    }
    constexpr std::string_view batch_start = "batch-";
    const auto parent_slash = dir.rfind('/');
    if (file != "job.json" || parent_slash == std::string_view::npos) return std::nullopt;
    const std::string_view batch = dir.substr(parent_slash + 1);
    if (batch.substr(0, batch_start.size()) != batch_start) return std::nullopt;
    const auto k = number_of(batch.substr(batch_start.size()));
    if (!k) return std::nullopt;
    return job_place{dir.substr(0, parent_slash), true, *k};
  }

  /// A job record and its done record; nothing (and an error naming the key) when the
  /// record is damaged or is not one.
  std::optional<slurm_job_view> read_job(const std::string& key, bool batch, std::uint32_t number) {
    slurm_job_view job;
    job.record_key = key;
    job.batch = batch;
    job.number = number;
    try {
      const auto text = store_.objects->get(key);
      if (!text) return std::nullopt;  // removed since it was listed
      const json record = json::parse(*text, nullptr, /*allow_exceptions=*/false);
      if (!record.is_object()) throw failure(key + ": not a Slurm job record (not a JSON object)");
      const auto field = [&](const char* name) {
        const auto it = record.find(name);
        return it != record.end() && it->is_string() ? it->get<std::string>() : std::string();
      };
      job.job = field("job");
      job.comment = field("comment");
      job.script = field("script");
      job.stdout_log = field("stdout");
      job.stderr_log = field("stderr");
    } catch (const std::exception& e) {
      tree_.errors.push_back(e.what());
      return std::nullopt;
    }
    // The done record of this job (one of an earlier submission of the attempt, whose
    // job id differs, does not count: as the backend reads it).
    const std::string stem = key.substr(0, key.size() - std::string_view(".json").size());
    if (const auto done_text = loom::detail::read_file(store_.root / (stem + ".done"))) {
      const json done = json::parse(*done_text, nullptr, /*allow_exceptions=*/false);
      if (done.is_object() && done.contains("job") && done["job"].is_string() && done.contains("exit") &&
          done["exit"].is_number_integer()) {
        const auto done_job = done["job"].get<std::string>();
        if (job.job.empty() || done_job == job.job) {
          if (job.job.empty()) job.job = done_job;  // sbatch's answer was not recorded, the job ran
          job.exit = done["exit"].get<int>();
        }
      }
    }
    job.state = job.exit ? "exited " + std::to_string(*job.exit) : job.job.empty() ? "submitting" : "submitted";
    return job;
  }

  store& store_;
  execution_tree& tree_;
  std::map<std::string, loom::node_record> rows_;
  std::map<std::string, loom::map_items_record> items_;
};

}  // namespace

const tree_node* execution_tree::find(std::string_view path) const {
  const tree_node* at = &root;
  while (at != nullptr && at->path != path) {
    const tree_node* next = nullptr;
    for (const auto& c : at->children) {
      if (path == c->path || (path.size() > c->path.size() && path.substr(0, c->path.size()) == c->path &&
                              path[c->path.size()] == '/')) {
        next = c.get();
        break;
      }
    }
    at = next;
  }
  return at;
}

execution_tree load_tree(store& s, const std::string& id) {
  execution_tree tree;
  tree.id = id;
  tree_builder(s, tree).build();
  return tree;
}

nlohmann::ordered_json node_fields(const tree_node& n) {
  auto out = nlohmann::ordered_json::object();
  out["path"] = n.path;
  out["id"] = n.id;
  out["task"] = n.task;
  out["kind"] = n.kind;
  out["phase"] = n.phase;
  out["attempts"] = n.row ? n.row->attempts : 0;
  out["started"] = n.row ? iso_time(n.row->started_us) : "-";
  out["started_us"] = n.row ? n.row->started_us : 0;
  out["ended_us"] = n.row ? n.row->ended_us : 0;
  out["duration_us"] = n.row && n.row->ended_us > 0 && n.row->started_us > 0 ? n.row->ended_us - n.row->started_us : 0;
  return out;
}

nlohmann::ordered_json node_json(const tree_node& n) {
  auto out = node_fields(n);
  out["error"] = n.row ? n.row->error : "";
  if (n.row && !n.row->outputs.empty()) out["outputs"] = n.row->outputs;
  if (n.items) out["items"] = items_json(*n.items);
  if (!n.slurm.empty()) {
    auto jobs = nlohmann::ordered_json::array();
    for (const auto& job : n.slurm) jobs.push_back(slurm_json(job));
    out["slurm"] = std::move(jobs);
  }
  auto children = nlohmann::ordered_json::array();
  for (const auto& c : n.children) children.push_back(node_json(*c));
  out["children"] = std::move(children);
  return out;
}

nlohmann::ordered_json slurm_json(const slurm_job_view& job) {
  auto out = nlohmann::ordered_json::object();
  out[job.batch ? "batch" : "attempt"] = job.number;
  out["job"] = job.job;
  out["state"] = job.state;
  out["exit"] = job.exit ? nlohmann::ordered_json(*job.exit) : nlohmann::ordered_json();
  out["script"] = job.script;
  out["stdout"] = job.stdout_log;
  out["stderr"] = job.stderr_log;
  out["comment"] = job.comment;
  out["record"] = job.record_key;
  if (!job.pilot.empty()) out["pilot"] = job.pilot;
  return out;
}

namespace {

/// "job 123 (exited 0)"; "submitting (no job id yet)" before sbatch answered.
std::string job_text(const slurm_job_view& job) {
  if (job.job.empty() && !job.exit) return "submitting (no job id yet)";
  if (!job.pilot.empty()) return job.pilot + " on pilot worker job " + job.job + " (" + job.state + ")";
  return "job " + (job.job.empty() ? std::string("?") : job.job) + " (" + job.state + ")";
}

}  // namespace

std::string slurm_summary(const tree_node& n) {
  std::vector<const slurm_job_view*> attempts;
  std::vector<const slurm_job_view*> batches;
  for (const auto& job : n.slurm) (job.batch ? batches : attempts).push_back(&job);
  std::string out;
  if (!attempts.empty()) out = job_text(*attempts.back());  // the last attempt's
  if (batches.size() == 1) {
    out += (out.empty() ? "" : "; ") + job_text(*batches.front());
  } else if (!batches.empty()) {
    // Counted by state: exited 0, the other exit statuses, submitted, submitting.
    std::map<std::pair<int, int>, std::pair<std::string, std::size_t>> counts;
    for (const auto* job : batches) {
      const auto order = job->exit ? std::pair(*job->exit == 0 ? 0 : 1, *job->exit)
                                   : std::pair(job->job.empty() ? 3 : 2, 0);
      auto& [state, count] = counts[order];
      state = job->state;
      ++count;
    }
    std::string states;
    for (const auto& [_, entry] : counts) states += (states.empty() ? "" : ", ") + std::to_string(entry.second) + " " + entry.first;
    out += (out.empty() ? "" : "; ") + std::to_string(batches.size()) + " jobs: " + states;
  }
  return out;
}

std::string slurm_detail(const tree_node& n) {
  if (n.slurm.empty()) return {};
  std::string out = "slurm jobs of " + n.path + " (" + n.task + ")\n";
  for (const auto& job : n.slurm) {
    out += std::string("  ") + (job.batch ? "batch " : "attempt ") + std::to_string(job.number) + ": " +
           (!job.pilot.empty() ? job.pilot + " on pilot worker job " + job.job
            : job.job.empty()  ? "no job id yet"
                               : "job " + job.job) +
           ", " + job.state + "\n";
    const auto path = [](const std::string& p) { return p.empty() ? std::string("-") : p; };
    out += "    script  " + path(job.script) + "\n";
    out += "    stdout  " + path(job.stdout_log) + "\n";
    out += "    stderr  " + path(job.stderr_log) + "\n";
  }
  return out;
}

namespace {

/// A sparse {"index": value} object of an item row; empty when it is damaged.
nlohmann::json sparse(const std::string& text) {
  auto j = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  return j.is_object() ? j : nlohmann::json::object();
}

/// The indices of sparse object `j`, in order.
std::vector<std::pair<std::size_t, nlohmann::json>> by_index(const nlohmann::json& j) {
  std::vector<std::pair<std::size_t, nlohmann::json>> out;
  for (const auto& [key, value] : j.items()) {
    std::size_t k = 0;
    const auto [end, ec] = std::from_chars(key.data(), key.data() + key.size(), k);
    if (ec == std::errc() && end == key.data() + key.size()) out.emplace_back(k, value);
  }
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  return out;
}

}  // namespace

std::vector<std::pair<std::size_t, nlohmann::json>> sparse_by_index(const std::string& text) {
  return by_index(sparse(text));
}

const char* item_phase_name(int phase) {
  switch (phase) {
    case loom::map_items_record::succeeded_item: return "succeeded";
    case loom::map_items_record::failed_item: return "failed";
    default: return "not done";
  }
}

nlohmann::ordered_json items_json(const loom::map_items_record& items) {
  auto out = nlohmann::ordered_json::object();
  out["length"] = items.length;
  out["succeeded"] = items.succeeded;
  out["failed"] = items.failed;
  out["not_done"] = std::max<std::int64_t>(0, items.length - items.succeeded - items.failed);
  auto failed = nlohmann::ordered_json::array();
  for (const auto& [k, error] : by_index(sparse(items.errors))) {
    failed.push_back(nlohmann::ordered_json{{"item", k}, {"error", error}});
  }
  out["failed_items"] = std::move(failed);
  auto retried = nlohmann::ordered_json::object();
  for (const auto& [k, attempts] : by_index(sparse(items.attempts))) retried[std::to_string(k)] = attempts;
  out["attempts"] = std::move(retried);
  return out;
}

std::string items_summary(const tree_node& n, std::size_t failed_shown) {
  const auto& items = *n.items;
  const auto not_done = std::max<std::int64_t>(0, items.length - items.succeeded - items.failed);
  std::string out = "map " + n.path + " (" + n.task + "): " + std::to_string(items.length) + " items, " +
                    std::to_string(items.succeeded) + " succeeded, " + std::to_string(items.failed) + " failed, " +
                    std::to_string(not_done) + " not done\n";
  const auto errors = by_index(sparse(items.errors));
  std::size_t shown = 0;
  for (const auto& [k, error] : errors) {
    if (shown++ == failed_shown) break;
    std::string text = error.is_string() ? error.get<std::string>() : error.dump();
    if (const auto nl = text.find('\n'); nl != std::string::npos) text = text.substr(0, nl) + " ...";
    out += "  item " + std::to_string(k) + " failed: " + text + "\n";
  }
  if (static_cast<std::int64_t>(std::min(shown, failed_shown)) < items.failed) {
    out += "  (" + std::to_string(items.failed - static_cast<std::int64_t>(std::min(shown, failed_shown))) +
           " more failed items; --item K shows one)\n";
  }
  const auto retried = by_index(sparse(items.attempts));
  if (!retried.empty()) out += "  " + std::to_string(retried.size()) + " items were tried more than once\n";
  return out;
}

nlohmann::ordered_json item_json(store& s, const std::string& id, const tree_node& n, std::size_t k) {
  if (!n.items) throw std::runtime_error("node " + n.path + " is not a map node with recorded items");
  const auto& items = *n.items;
  if (k >= static_cast<std::size_t>(items.length)) {
    throw std::runtime_error("map node " + n.path + " has " + std::to_string(items.length) + " items: there is no item " +
                             std::to_string(k));
  }
  auto out = nlohmann::ordered_json::object();
  out["node"] = n.path;
  out["task"] = n.task;
  out["item"] = k;
  const int phase = items.phase(k);
  out["phase"] = item_phase_name(phase);
  const auto attempts = sparse(items.attempts);
  const auto key = std::to_string(k);
  out["attempts"] = attempts.contains(key) ? attempts[key] : nlohmann::json(phase == loom::map_items_record::not_done ? 0 : 1);
  const auto errors = sparse(items.errors);
  if (errors.contains(key)) out["error"] = errors[key];
  if (phase != loom::map_items_record::succeeded_item) return out;
  // Its outputs: element k of the node's output lists, or in a record of finished items.
  auto outputs = nlohmann::ordered_json::object();
  // (Text nested deeper than max_json_depth is not parsed: printing it would recurse
  // that deep.)
  const auto parsed = [](const std::optional<std::string>& text) {
    return text && json_depth(*text) <= max_json_depth ? nlohmann::json::parse(*text, nullptr, false) : nlohmann::json();
  };
  const auto whole = s.objects->get(id + "/" + n.path + "/outputs.json");
  if (const auto doc = parsed(whole); doc.is_object()) {
    for (const auto& [name, list] : doc.items()) {
      if (list.is_array() && k < list.size()) outputs[name] = list[k];
    }
  } else {
    for (const auto& record_key : s.objects->list(id + "/" + n.path + "/items")) {
      const auto text = s.objects->get(record_key);
      const auto record = parsed(text);
      if (!record.is_object() || !record.contains("items") || !record["items"].is_array()) continue;
      const auto& indices = record["items"];
      for (std::size_t j = 0; j < indices.size(); ++j) {
        if (indices[j] != k) continue;
        for (const auto& [name, list] : record.items()) {
          if (name != "items" && list.is_array() && j < list.size()) outputs[name] = list[j];
        }
      }
    }
  }
  if (!outputs.empty()) out["outputs"] = std::move(outputs);
  return out;
}

}  // namespace loom_tool
