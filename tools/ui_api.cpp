// tools/ui_api.cpp — the JSON of `loom ui` (ui_api.hpp; the contract: docs/ui.md).
#include "ui_api.hpp"

#include <loom/state_store.hpp>

#include <algorithm>
#include <charconv>
#include <functional>
#include <set>
#include <stdexcept>
#include <unordered_map>
#include <vector>

namespace loom_tool {

namespace fs = std::filesystem;
using ojson = nlohmann::ordered_json;

namespace {

/// A request the API cannot answer as asked: 400, or 404 for what is not there.
struct api_refusal : std::runtime_error {
  int status;
  api_refusal(int s, const std::string& what) : std::runtime_error(what), status(s) {}
};

[[noreturn]] void not_found(const std::string& what) { throw api_refusal(404, what); }
[[noreturn]] void bad_request(const std::string& what) { throw api_refusal(400, what); }

api_answer json_answer(const ojson& j) {
  return {200, j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace)};
}

std::string param(const api_params& p, const std::string& name, const std::string& otherwise = "") {
  const auto it = p.find(name);
  return it == p.end() ? otherwise : it->second;
}

/// A count from the query string: `otherwise` when absent, at most `most`.
std::size_t count_param(const api_params& p, const std::string& name, std::size_t otherwise, std::size_t most) {
  const auto it = p.find(name);
  if (it == p.end() || it->second.empty()) return std::min(otherwise, most);
  std::size_t value = 0;
  const auto& text = it->second;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size()) {
    bad_request(name + ": expected a non-negative integer, got '" + text + "'");
  }
  return std::min(value, most);
}

/// Text cut to `most` bytes, at a character's start (UTF-8).
std::string cut(const std::string& text, std::size_t most) {
  if (text.size() <= most) return text;
  std::size_t end = most;
  while (end > 0 && (static_cast<unsigned char>(text[end]) & 0xC0U) == 0x80U) --end;
  return text.substr(0, end);
}

const tree_node& node_at(const execution_tree& tree, const std::string& path) {
  if (path.empty()) return tree.root;
  const tree_node* n = tree.find(path);
  if (n == nullptr) not_found("no node '" + path + "' in execution " + tree.id);
  return *n;
}

constexpr std::size_t stored_text_shown = 256 * 1024;

/// A stored JSON object, parsed when it is small enough to show whole, else its start
/// as text; null when it is not there.
ojson stored_json(const store& s, const std::string& key) {
  std::optional<std::string> text;
  try {
    loom::object_store::check_key(key);
    text = s.objects->get(key);
  } catch (const std::exception& e) {
    return ojson{{"key", key}, {"problem", e.what()}};
  }
  if (!text) return nullptr;
  if (text->size() <= stored_text_shown && json_depth(*text) <= max_json_depth) {
    auto parsed = ojson::parse(*text, nullptr, false);
    if (!parsed.is_discarded()) return ojson{{"key", key}, {"size", text->size()}, {"value", std::move(parsed)}};
  }
  return ojson{{"key", key},
               {"size", text->size()},
               {"text", cut(*text, stored_text_shown)},
               {"truncated", text->size() > stored_text_shown}};
}

/// Where node `n`'s outputs are: the key its row names, else the usual one.
std::string outputs_key(const std::string& id, const tree_node& n) {
  if (n.row && !n.row->outputs.empty()) return n.row->outputs;
  return id + "/" + n.path + "/outputs.json";
}

/// The bindings of node `n` as its graph file wrote them (null when unknown).
const nlohmann::json* bindings_of(const tree_node& parent, const tree_node& n) {
  if (parent.file == nullptr || !parent.file->document.is_object()) return nullptr;
  const nlohmann::json& doc = parent.file->document;
  const nlohmann::json* nodes = nullptr;
  if (parent.graph == &parent.file->top) {
    const auto it = doc.find("nodes");
    if (it != doc.end()) nodes = &*it;
  } else if (const auto subs = doc.find("subworkflows"); subs != doc.end() && subs->is_object()) {
    const auto sub = subs->find(parent.task);
    if (sub != subs->end() && sub->is_object() && sub->contains("nodes")) nodes = &(*sub)["nodes"];
  }
  if (nodes == nullptr || !nodes->is_array()) return nullptr;
  for (const auto& decl : *nodes) {
    if (decl.is_object() && decl.value("id", std::string()) == n.id) {
      const auto inputs = decl.find("inputs");
      return inputs != decl.end() && inputs->is_object() ? &*inputs : nullptr;
    }
  }
  return nullptr;
}

/// Node `n`'s inputs: the document its process read (the process and Slurm backends
/// store one), else its bindings, each with its value when a literal or the output of
/// a sibling that is kept.
ojson inputs_of(const store& s, const execution_tree& tree, const tree_node& parent, const tree_node& n) {
  const std::string key = tree.id + "/" + n.path + "/inputs.json";
  auto stored = stored_json(s, key);
  if (!stored.is_null() && stored.contains("value") && stored["value"].is_object() &&
      stored["value"].contains("inputs")) {
    auto out = ojson::object();
    for (const auto& [name, value] : stored["value"]["inputs"].items()) out[name] = ojson{{"value", value}};
    return out;
  }
  const nlohmann::json* bindings = bindings_of(parent, n);
  if (bindings == nullptr) return nullptr;
  auto out = ojson::object();
  std::unordered_map<std::string, ojson> sibling_outputs;
  // A binding's value when it can be known here: a literal, a stored literal, an output
  // of a sibling that is kept, or a list or map of those.
  std::function<std::optional<ojson>(const nlohmann::json&)> value_of =
      [&](const nlohmann::json& binding) -> std::optional<ojson> {
    if (!binding.is_object() || binding.size() != 1) return std::nullopt;
    const auto only = binding.begin();  // (its key and value, not a binding of a temporary's)
    const std::string form = only.key();
    const nlohmann::json& body = only.value();
    if (form == "literal") return ojson(body);
    if (form == "stored" && body.is_string()) {
      auto stored_value = stored_json(s, body.get<std::string>());
      if (stored_value.is_object() && stored_value.contains("value")) return stored_value["value"];
      return std::nullopt;
    }
    if (form == "ref" && body.is_string()) {
      const std::string ref = body;
      const auto dot = ref.find('.');
      if (dot == std::string::npos) return std::nullopt;
      const std::string sibling = (parent.path.empty() ? "" : parent.path + "/") + ref.substr(0, dot);
      auto it = sibling_outputs.find(sibling);
      if (it == sibling_outputs.end()) {
        const tree_node* producer = tree.find(sibling);
        it = sibling_outputs.emplace(sibling, producer != nullptr && producer->row
                                                  ? stored_json(s, outputs_key(tree.id, *producer))
                                                  : ojson())
                 .first;
      }
      const auto& found = it->second;
      const std::string output = ref.substr(dot + 1);
      if (found.is_object() && found.contains("value") && found["value"].is_object() && found["value"].contains(output)) {
        return found["value"][output];
      }
      return std::nullopt;
    }
    if (form == "list" && body.is_array()) {
      auto list = ojson::array();
      for (const auto& item : body) {
        auto v = value_of(item);
        if (!v) return std::nullopt;
        list.push_back(std::move(*v));
      }
      return list;
    }
    if (form == "map" && body.is_object()) {
      auto map = ojson::object();
      for (const auto& [key, item] : body.items()) {
        auto v = value_of(item);
        if (!v) return std::nullopt;
        map[key] = std::move(*v);
      }
      return map;
    }
    return std::nullopt;  // an input of the enclosing workflow
  };
  for (const auto& [name, binding] : bindings->items()) {
    ojson entry{{"binding", binding_text(binding, 200)}};
    if (auto v = value_of(binding)) entry["value"] = std::move(*v);
    out[name] = std::move(entry);
  }
  return out;
}

/// An answer, asked once more when the store could not be read (503): a run may have
/// opened or closed the database between the look for its WAL and the read (an
/// immutable read of a database a run has just started to write can see it damaged).
template <class Answer>
api_answer read_again_if_unreadable(Answer&& answer) {
  api_answer first = answer();
  return first.status == 503 ? answer() : first;
}

}  // namespace

ojson node_summary(const tree_node& n) {
  ojson out = node_fields(n);
  out["error"] = n.row ? cut(n.row->error, 500) : "";
  out["child_count"] = n.children.size();
  if (n.items) {
    const auto& items = *n.items;
    out["items"] = ojson{{"length", items.length},
                         {"succeeded", items.succeeded},
                         {"failed", items.failed},
                         {"running", std::max<std::int64_t>(0, items.length - items.succeeded - items.failed)}};
  }
  if (const std::string slurm = slurm_summary(n); !slurm.empty()) out["slurm"] = slurm;
  return out;
}

ui_api::ui_api(fs::path store_root) : root_(std::move(store_root)), objects_(root_) {}

store ui_api::open_store() const {
  store s(root_, /*read_only=*/true);
  s.objects = objects_;  // (its packs' index is shared: read once, then only what was appended)
  return s;
}

void ui_api::changed(std::uint64_t version) {
  std::lock_guard lock(mutex_);
  version_ = version;
}

std::uint64_t ui_api::version() const {
  std::lock_guard lock(mutex_);
  return version_;
}

std::shared_ptr<const execution_tree> ui_api::tree_of(store& s, const std::string& id) {
  {
    std::lock_guard lock(mutex_);
    const auto it = trees_.find(id);
    if (it != trees_.end() && it->second.version == version_) {
      it->second.used = ++uses_;
      return it->second.tree;
    }
  }
  const std::uint64_t seen = version();
  auto tree = std::make_shared<const execution_tree>(load_tree(s, id));
  std::lock_guard lock(mutex_);
  if (trees_.size() >= 8 && trees_.count(id) == 0) {  // a few executions at a time: the least recently read goes
    auto oldest = trees_.begin();
    for (auto it = trees_.begin(); it != trees_.end(); ++it) {
      if (it->second.used < oldest->second.used) oldest = it;
    }
    trees_.erase(oldest);
  }
  trees_[id] = loaded{seen, tree, ++uses_};
  return tree;
}

api_answer ui_api::executions(const api_params& params) { return read_again_if_unreadable([&] { return list_executions(params); }); }

api_answer ui_api::list_executions(const api_params& params) {
  try {
    store s = open_store();
    const std::string status = param(params, "status");
    const std::string workflow = param(params, "workflow");
    const std::size_t offset = count_param(params, "offset", 0, SIZE_MAX);
    const std::size_t limit = count_param(params, "limit", 200, 1000);
    auto list = ojson::array();
    std::set<std::string> workflows;
    std::size_t total = 0;
    if (s.states) {
      for (const auto& e : s.states->executions()) {  // newest first
        workflows.insert(e.workflow);
        const auto view = view_of(e);
        if (!status.empty() && view.status != status) continue;
        if (!workflow.empty() && e.workflow != workflow) continue;
        if (total++ < offset || list.size() >= limit) continue;
        auto j = execution_json(view);
        list.push_back(std::move(j));
      }
    }
    return json_answer(ojson{{"executions", std::move(list)},
                             {"total", total},
                             {"workflows", workflows},
                             {"statuses", {"running", "succeeded", "failed", "interrupted"}},
                             {"version", version()}});
  } catch (const api_refusal& e) {
    return {e.status, ojson{{"error", e.what()}}.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace)};
  } catch (const std::exception& e) {
    return {503, ojson{{"error", e.what()}}.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace)};
  }
}

api_answer ui_api::execution(const std::string& id, const std::string& what, const api_params& params) {
  return read_again_if_unreadable([&] { return answer_execution(id, what, params); });
}

api_answer ui_api::answer_execution(const std::string& id, const std::string& what, const api_params& params) {
  try {
    store s = open_store();
    if (!s.states) not_found("no execution '" + id + "' in " + root_.string() + " (no executions recorded)");
    const auto record = s.states->execution(id);
    if (!record) not_found("no execution '" + id + "' in " + root_.string());
    const auto tree = tree_of(s, id);
    const std::string path = param(params, "path");
    // The execution as a node: the workflow it ran, its status.
    const auto root_summary = [&] {
      auto root = node_summary(tree->root);
      root["kind"] = "workflow";
      root["task"] = record->workflow;
      root["phase"] = view_of(*record).status;
      return root;
    };

    if (what.empty()) {
      auto problems = ojson::array();
      for (const auto& e : tree->errors) problems.push_back(e);
      for (const auto& n : tree->notes) problems.push_back(n);
      return json_answer(ojson{{"execution", execution_json(view_of(*record))},
                               {"root", root_summary()},
                               {"problems", std::move(problems)},
                               {"version", version()}});
    }

    const tree_node& n = node_at(*tree, path);
    if (what == "children") {
      const std::size_t offset = count_param(params, "offset", 0, SIZE_MAX);
      const std::size_t limit = count_param(params, "limit", 500, 5000);
      auto children = ojson::array();
      for (std::size_t i = offset; i < n.children.size() && children.size() < limit; ++i) {
        children.push_back(node_summary(*n.children[i]));
      }
      return json_answer(ojson{{"path", path}, {"total", n.children.size()}, {"children", std::move(children)}});
    }

    if (what == "node" && path.empty()) {  // the execution itself: its inputs and outputs
      auto inputs = stored_json(s, id + "/inputs.json");
      ojson out;
      out["node"] = root_summary();
      out["breadcrumbs"] = ojson::array({ojson{{"path", ""}, {"id", id}, {"task", record->workflow}}});
      out["error"] = record->error;
      out["inputs"] = nullptr;
      if (inputs.is_object() && inputs.contains("value") && inputs["value"].is_object() && inputs["value"].contains("inputs")) {
        out["inputs"] = ojson::object();
        for (const auto& [name, value] : inputs["value"]["inputs"].items()) out["inputs"][name] = ojson{{"value", value}};
      }
      out["outputs"] = stored_json(s, id + "/outputs.json");
      out["futures"] = nullptr;
      out["slurm_jobs"] = ojson::array();
      return json_answer(out);
    }
    if (what == "node") {
      auto breadcrumbs = ojson::array();
      breadcrumbs.push_back(ojson{{"path", ""}, {"id", id}, {"task", record->workflow}});
      const tree_node* parent = &tree->root;
      for (std::size_t at = 0; at != std::string::npos;) {
        const auto slash = path.find('/', at);
        const std::string prefix = path.substr(0, slash);
        const tree_node* step = tree->find(prefix);
        if (step == nullptr) break;
        breadcrumbs.push_back(ojson{{"path", step->path}, {"id", step->id}, {"task", step->task}});
        if (step != &n) parent = step;
        at = slash == std::string::npos ? slash : slash + 1;
      }
      ojson out;
      out["node"] = node_summary(n);
      out["breadcrumbs"] = std::move(breadcrumbs);
      out["error"] = n.row ? n.row->error : "";
      out["inputs"] = inputs_of(s, *tree, *parent, n);
      out["outputs"] = n.row ? stored_json(s, outputs_key(id, n)) : ojson();
      out["futures"] = n.kind == "dynamic" ? stored_json(s, id + "/" + n.path + "/futures.json") : ojson();
      auto jobs = ojson::array();
      for (const auto& job : n.slurm) jobs.push_back(slurm_json(job));
      out["slurm_jobs"] = std::move(jobs);
      if (n.items) out["items"] = items_json(*n.items);
      return json_answer(out);
    }

    if (what == "graph") {
      const std::size_t most = count_param(params, "max", 300, 5000);
      ojson out{{"path", path}, {"total", n.children.size()}};
      // Edges between this level's nodes: from what each one reads.
      std::vector<std::pair<std::string, std::string>> edges;
      if (n.graph != nullptr) {
        for (const auto& decl : n.graph->nodes) {
          for (const auto& producer : decl.producers) edges.emplace_back(producer, decl.id);
        }
      }
      if (n.children.size() <= most) {
        auto nodes = ojson::array();
        for (const auto& c : n.children) nodes.push_back(node_summary(*c));
        auto list = ojson::array();
        for (const auto& [from, to] : edges) list.push_back(ojson{{"from", from}, {"to", to}});
        out["nodes"] = std::move(nodes);
        out["edges"] = std::move(list);
        out["groups"] = nullptr;
        return json_answer(out);
      }
      // Too many to draw: one group per task, with its phases counted.
      std::vector<std::string> order;
      std::map<std::string, ojson> groups;
      std::unordered_map<std::string, std::string> task_of;
      for (const auto& c : n.children) {
        task_of[c->id] = c->task;
        auto it = groups.find(c->task);
        if (it == groups.end()) {
          order.push_back(c->task);
          it = groups.emplace(c->task, ojson{{"task", c->task}, {"kind", c->kind}, {"count", 0},
                                             {"phases", ojson::object()}, {"sample", c->path}})
                   .first;
        }
        it->second["count"] = it->second["count"].get<std::size_t>() + 1;
        auto& phases = it->second["phases"];
        phases[c->phase] = phases.value(c->phase, std::size_t{0}) + 1;
      }
      std::set<std::pair<std::string, std::string>> group_edges;
      for (const auto& [from, to] : edges) {
        const auto f = task_of.find(from);
        const auto t = task_of.find(to);
        if (f != task_of.end() && t != task_of.end()) group_edges.emplace(f->second, t->second);
      }
      auto list = ojson::array();
      for (const auto& task : order) list.push_back(std::move(groups[task]));
      auto edge_list = ojson::array();
      for (const auto& [from, to] : group_edges) edge_list.push_back(ojson{{"from", from}, {"to", to}});
      out["nodes"] = ojson::array();
      out["groups"] = std::move(list);
      out["edges"] = std::move(edge_list);
      return json_answer(out);
    }

    if (what == "items" || what == "item") {
      if (!n.items) bad_request("node '" + path + "' of execution " + id + " is not a map node with recorded items");
      const auto& items = *n.items;
      const auto length = static_cast<std::size_t>(std::max<std::int64_t>(0, items.length));
      if (what == "item") {
        if (param(params, "k").empty()) bad_request("item: give k=K (an item of the map node)");
        const std::size_t k = count_param(params, "k", SIZE_MAX, SIZE_MAX);
        if (k >= length) not_found("no item " + param(params, "k") + " in map node '" + path + "' (" + std::to_string(length) + " items)");
        return json_answer(item_json(s, id, n, k));
      }
      const std::string phase = param(params, "phase");
      int wanted = -1;
      if (phase == "succeeded") wanted = loom::map_items_record::succeeded_item;
      else if (phase == "failed") wanted = loom::map_items_record::failed_item;
      else if (phase == "not done") wanted = loom::map_items_record::not_done;
      else if (!phase.empty()) bad_request("phase: expected succeeded, failed or not done, got '" + phase + "'");
      const std::size_t offset = count_param(params, "offset", 0, SIZE_MAX);
      const std::size_t limit = count_param(params, "limit", 200, 2000);
      const auto by_index = [](const std::string& text) {
        const auto list = sparse_by_index(text);
        return std::map<std::size_t, nlohmann::json>(list.begin(), list.end());
      };
      const auto attempts = by_index(items.attempts);
      const auto errors = by_index(items.errors);
      auto list = ojson::array();
      std::size_t matching = 0;
      // Unfiltered, the page is where it is (a damaged row's huge length is not walked).
      const std::size_t first = wanted < 0 ? std::min(offset, length) : 0;
      if (wanted < 0) matching = first;
      for (std::size_t k = first; k < length; ++k) {
        const int p = items.phase(k);
        if (wanted >= 0 && p != wanted) continue;
        if (wanted < 0 && list.size() >= limit) {
          matching = length;
          break;
        }
        if (matching++ < offset || list.size() >= limit) continue;
        ojson item{{"k", k}, {"phase", item_phase_name(p)}};
        const auto a = attempts.find(k);
        item["attempts"] = a != attempts.end() ? a->second : nlohmann::json(p == 0 ? 0 : 1);
        const auto e = errors.find(k);
        if (e != errors.end()) item["error"] = e->second.is_string() ? cut(e->second.get<std::string>(), 500) : e->second.dump();
        list.push_back(std::move(item));
      }
      const auto not_done = std::max<std::int64_t>(0, items.length - items.succeeded - items.failed);
      return json_answer(ojson{{"path", path},
                               {"length", length},
                               {"counts", {{"succeeded", items.succeeded}, {"failed", items.failed}, {"not done", not_done}}},
                               {"total", matching},
                               {"items", std::move(list)}});
    }

    if (what == "timeline") {
      const std::size_t limit = count_param(params, "limit", 2000, 20000);
      std::vector<const tree_node*> started;
      std::function<void(const tree_node&)> walk = [&](const tree_node& at) {
        for (const auto& c : at.children) {
          if (c->row && c->row->started_us > 0) started.push_back(c.get());
          walk(*c);
        }
      };
      walk(n);
      std::stable_sort(started.begin(), started.end(), [](const tree_node* a, const tree_node* b) {
        return a->row->started_us < b->row->started_us;
      });
      std::int64_t start = 0;
      std::int64_t end = 0;
      auto nodes = ojson::array();
      for (const tree_node* c : started) {
        if (start == 0 || c->row->started_us < start) start = c->row->started_us;
        end = std::max({end, c->row->ended_us, c->row->started_us});
        if (nodes.size() >= limit) continue;
        nodes.push_back(ojson{{"path", c->path},
                              {"id", c->id},
                              {"task", c->task},
                              {"kind", c->kind},
                              {"phase", c->phase},
                              {"started_us", c->row->started_us},
                              {"ended_us", c->row->ended_us}});
      }
      return json_answer(ojson{{"path", path},
                               {"start_us", start},
                               {"end_us", end},
                               {"now_us", loom::now_us()},
                               {"total", started.size()},
                               {"nodes", std::move(nodes)}});
    }
    not_found("no API '" + what + "' (children, node, graph, items, item, timeline)");
  } catch (const api_refusal& e) {
    return {e.status, ojson{{"error", e.what()}}.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace)};
  } catch (const std::exception& e) {
    return {503, ojson{{"error", e.what()}}.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace)};
  }
}

std::optional<bool> ui_api::page_exists(const std::string& id, const std::optional<std::string>& path,
                                        const std::optional<std::uint64_t>& item) {
  for (int attempt = 0;; ++attempt) {
    try {
      return look_up(id, path, item);
    } catch (const std::exception&) {
      if (attempt == 1) return std::nullopt;  // unreadable now (see read_again_if_unreadable)
    }
  }
}

bool ui_api::look_up(const std::string& id, const std::optional<std::string>& path,
                     const std::optional<std::uint64_t>& item) {
  {
    store s = open_store();
    if (!s.states || !s.states->execution(id)) return false;
    if (!path) return true;
    const auto tree = tree_of(s, id);
    const tree_node* n = tree->find(*path);
    if (n == nullptr || path->empty()) return false;
    if (!item) return true;
    return n->items && *item < static_cast<std::uint64_t>(std::max<std::int64_t>(0, n->items->length));
  }
}

}  // namespace loom_tool
