// src/slurm_node_backend.cpp — the Slurm backend (loom/slurm.hpp): one attempt at a task
// node, or at a dynamic node's body, is one Slurm job running `PROGRAM exec-node ...`
// (the process backend's node process, src/process_backend.cpp) through a job script
// kept in the store beside the node's objects. The job writes the node's outputs (or
// futures file), then its done record; the driver polls for the record (a file check,
// no controller call) from the scheduler's timed queue, so no thread waits for a job.
// One thread asks the controller, once per liveness interval, which of the run's jobs
// are alive (one squeue by the run's job name); a job that is neither alive nor done is
// looked up once (scontrol) and judged: cancelled, out of time or memory, failed, or lost.
//
// Failures that are the job's own (its exit status, its time or memory limit) are the
// attempt's: the task's retries apply. Failures of the cluster (a lost job, a failed
// machine, a preemption) resubmit the attempt, up to slurm_options::system_retries. A
// controller that does not answer is waited for, never a failure. A job cancelled from
// outside (scancel) fails its node, naming the job.
#include "execution_context.hpp"
#include "node_backend.hpp"
#include "slurm_client.hpp"
#include "slurm_pilots.hpp"

#include <loom/process_backend.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <cstdio>
#include <fstream>
#include <map>
#include <memory>
#include <mutex>
#include <thread>
#include <unordered_map>
#include <unordered_set>
#include <utility>

#include <fcntl.h>
#include <unistd.h>

namespace loom {

namespace detail {

namespace {

using clock = std::chrono::steady_clock;

/// The signal that stopped this process's Slurm runs (stop_slurm_runs), or 0.
std::atomic<int> stop_signal{0};

/// The last 8 KiB of a job's log file (its stderr); empty when there is none.
std::string read_log_tail(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return {};
  in.seekg(0, std::ios::end);
  const auto size = static_cast<std::streamoff>(in.tellg());
  const std::streamoff keep = 8192;
  in.seekg(std::max<std::streamoff>(0, size - keep));
  return {(std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>()};
}

/// The last lines of a job log's tail (read_log_tail), for an error message.
std::string last_lines_of(std::string tail) {
  process_exit shown;  // (its line picking, for the same look as the process backend's)
  shown.stderr_tail = std::move(tail);
  return shown.last_lines();
}

/// The last lines of a job's log file (its stderr), for an error message.
std::string log_tail(const std::filesystem::path& path) { return last_lines_of(read_log_tail(path)); }

struct slurm_job;

/// Chunks of a map node submitted as one job array (one sbatch): its element `i` runs
/// chunk `offset + i` (the script adds them), so that no index reaches MaxArraySize.
struct slurm_array {
  std::mutex mutex;
  std::string comment;  // "<map path>#array-<k>.1": every element's record has it, squeue shows it
  std::vector<std::string> sbatch_arguments;  // without --array, --comment and the script
  std::filesystem::path script;
  std::size_t throttle = 0;                       // %N: elements running at once (0: no limit)
  std::vector<std::weak_ptr<slurm_job>> elements;  // a cancelled chunk's is gone
  bool submitted = false;
  std::string refused;  // sbatch refused it: its elements fail with this
  std::string last_submit_error;
  clock::time_point next_submission{};
};

/// Whether slurmstepd wrote to the job's log that it ran out of memory: killed over its
/// --mem without cgroups ("exceeded memory limit"), or a process of it killed by the
/// cgroup's OOM killer ("Detected 1 oom-kill event(s)"), which may leave the job's exit
/// status 0.
/// Writes a job script with the permissions of the store directory it is in. The
/// script's first line after the shebang sets the job's umask from them too, so that the
/// done record it writes is no more open than the store.
void write_job_script(const std::filesystem::path& path, const std::string& script) {
  const auto mode = file_mode_in(path.parent_path());
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, static_cast<mode_t>(mode));
  const bool written = fd >= 0 && write_all(fd, script);
  const std::string why = errno_text();
  if (fd >= 0 && ::close(fd) != 0 && written) throw error("cannot write the job script " + path.string() + ": " + errno_text());
  if (!written) throw error("cannot write the job script " + path.string() + ": " + why);
}

/// `umask NNN` for a job of the store at `root`: what the store's directories do not grant.
std::string umask_line(const std::filesystem::path& root) {
  char line[32];
  std::snprintf(line, sizeof line, "umask %03o\n", (~directory_mode_in(root)) & 0777U);
  return line;
}

/// Whether a job log's tail has slurmstepd's (or the kernel's) word that it went over
/// its memory.
bool says_out_of_memory(const std::string& tail) {
  return tail.find("xceeded memory limit") != std::string::npos ||
         tail.find("xceeded job memory limit") != std::string::npos || tail.find("oom-kill event") != std::string::npos;
}

bool log_says_out_of_memory(const std::filesystem::path& path) { return says_out_of_memory(read_log_tail(path)); }

/// One attempt at one node, as a job: what it runs, where its files are, and where it is.
struct slurm_job {
  // What it runs
  std::string node_path;
  std::uint32_t attempt = 0;
  bool dynamic = false;
  std::string result_key;  // outputs.json or futures.json
  std::string error_key;
  std::filesystem::path done_record;  // written by the job script last (a plain file, not an object)
  std::filesystem::path script;
  std::filesystem::path stdout_log;
  std::filesystem::path stderr_log;
  std::string record_key;  // the driver's record of the job (submitted, id): for `loom show` and resume
  std::vector<std::string> sbatch_arguments;  // without the comment and the script
  std::chrono::milliseconds timeout{0};
  // A map chunk's job: its batch of items; as an element of a job array, its index, its
  // array (until submitted) and the array's comment (until submitted again on its own).
  std::optional<map_batch> batch;
  std::optional<std::uint32_t> array_index;
  std::shared_ptr<slurm_array> array;
  std::string array_comment;
  // Run by a pilot worker: its request (sent again when its worker is lost), and the
  // copy last sent (under the backend's mutex).
  std::shared_ptr<pilot_task> pilot;
  std::shared_ptr<pilot_task> sent;

  // Where it is (under the backend's mutex, but for `id`, read by poll after submission)
  std::string id;                 // the Slurm job id; empty until submitted
  std::uint32_t submissions = 0;  // of this attempt: 1 + resubmissions after system failures
  clock::time_point next_submission{};
  clock::time_point submitted{};
  clock::time_point ended_without_record{};  // the controller says it ended; no done record yet
  std::optional<job_poll> verdict;           // the liveness thread's: how it ended without a record
  bool system_failure = false;               // the verdict is the cluster's fault: resubmit
  std::chrono::milliseconds next_look{50};
  std::string last_submit_error;

  [[nodiscard]] std::string comment() const {
    if (!array_comment.empty()) return array_comment;
    return node_path + "#" + std::to_string(attempt) + "." + std::to_string(submissions);
  }
  [[nodiscard]] std::string who() const {
    return "its Slurm job " + id + " (log: " + stderr_log.string() + ")";
  }
};

class slurm_node_backend final : public node_backend {
 public:
  slurm_node_backend(const execution_context& context, std::string program)
      : context_(context),
        options_(context.options().slurm),
        client_(options_),
        program_(std::move(program)),
        store_root_(std::filesystem::absolute(context.store().root())),
        job_name_("loom:" + context.execution_id()) {
    if (options_.workers > 0) {
      pilot_pool::settings s;
      s.program = program_;
      s.directory = store_root_ / (context.execution_id() + "/pilots");
      s.job_name = job_name_;
      s.sbatch_arguments = run_defaults();
      s.sbatch_arguments.insert(s.sbatch_arguments.begin(), "--chdir=" + store_root_.string());
      s.workers = options_.workers;
      s.slots = options_.worker_slots;
      s.nodes_per_process = options_.worker_nodes_per_process;
      s.address = options_.worker_address;
      s.replacements = options_.workers * options_.system_retries;
      pilots_ = std::make_unique<pilot_pool>(std::move(s), client_, [this](const std::string& m) { context_.warn(m); });
    }
    liveness_ = std::thread([this] { watch(); });
  }

  slurm_node_backend(const slurm_node_backend&) = delete;
  slurm_node_backend& operator=(const slurm_node_backend&) = delete;

  /// The run is over: its jobs still in flight (a failed run's) are cancelled, in one call.
  ~slurm_node_backend() override {
    {
      std::lock_guard lock(mutex_);
      stopping_ = true;
    }
    wake_.notify_all();
    liveness_.join();
    pilots_.reset();  // the workers are told to exit, and cancelled
    std::vector<std::string> ids = std::move(to_cancel_);
    for (const auto& [ticket, job] : jobs_) {
      if (!job->id.empty() && !job->pilot) ids.push_back(job->id);
    }
    if (!ids.empty() && !client_.cancel(ids)) {
      context_.warn("could not cancel the run's Slurm jobs still running (" + std::to_string(ids.size()) +
                    "): scancel did not answer");
    }
  }

  [[nodiscard]] bool out_of_process() const override { return true; }
  [[nodiscard]] bool submits_jobs() const override { return true; }

  /// The job succeeded: its outputs are read into the node's slots (from its answer, if
  /// it ran on a pilot worker: the run keeps them then).
  bool run_task(frame& f, std::uint32_t node, const node_policy&) override {
    const std::string key = context_.keys_of(f, node).outputs();
    std::optional<json> answered;
    {
      std::lock_guard lock(mutex_);
      if (const auto it = pilot_outputs_.find(key); it != pilot_outputs_.end()) {
        answered = std::move(it->second);
        pilot_outputs_.erase(it);
      }
    }
    if (answered) {
      try {
        context_.decode_outputs(f, node, *answered, "the outputs its pilot worker sent back");
      } catch (const std::exception& e) {
        throw error("its process on a pilot worker exited with status 0 but sent unreadable outputs: " +
                    std::string(e.what()));
      }
      return false;
    }
    try {
      if (!context_.read_outputs(f, node, key)) throw error(key + " disappeared");
    } catch (const std::exception& e) {
      throw error("its Slurm job exited with status 0 but wrote unreadable outputs: " + std::string(e.what()));
    }
    return true;
  }

  /// The job succeeded: its futures file, read and validated as any futures file is.
  std::unique_ptr<graph> expand(frame& f, std::uint32_t node, const node_policy&) override {
    return context_.read_futures(f, node, context_.keys_of(f, node).futures());
  }

  /// A map's chunks with items to run are elements of its job arrays (submit_items);
  /// this sees only the chunks a resume reused whole, which run nothing.
  void run_items(frame& f, std::uint32_t node, map_run& run, std::size_t begin, std::size_t end, std::uint32_t chunk,
                 const keep_items_fn& keep) override {
    run_items_in_batch(f, node, run, begin, end, chunk, keep, false, [&](const node_request&) -> std::string {
      throw error("map node " + f.path_of(node) + ": chunk " + std::to_string(chunk) +
                  " has items to run but no job array element");
    });
  }

  std::uint32_t submit(frame& f, std::uint32_t node, const node_policy& policy, std::uint32_t attempt) override {
    if (slurm_runs_stopped_by() != 0) throw error("the driver is stopping: no new Slurm jobs");
    const graph_node& n = f.g->nodes[node];
    const node_keys keys = context_.keys_of(f, node);
    const bool dynamic = n.kind == node_kind::dynamic;
    std::uint32_t stem = attempt;
    if (context_.resuming()) {
      // A job the driver before this one submitted for the node may still run, or have
      // ended since: it is adopted, not run again.
      if (const auto ticket = adopt(f, node, dynamic, policy)) return *ticket;
      while (std::filesystem::exists(store_root_ / (keys.prefix + "/job-a" + std::to_string(stem) + ".json"))) ++stem;
    }
    const bool on_pilot = pilots_ && declares_nothing(policy.resources);
    json inputs;
    node_request request =
        write_node_request(f, node, dynamic ? keys.futures() : keys.outputs(), false, on_pilot ? &inputs : nullptr);
    auto job = make_job(f, node, request, attempt, keys.prefix + "/job-a" + std::to_string(stem), true, !on_pilot);
    job->dynamic = dynamic;
    job->timeout = policy.timeout;
    if (on_pilot) return run_on_pilot(job, request, std::move(inputs));
    add_resources(job->sbatch_arguments, policy.resources, n.info->name);
    write_script(*job, request);
    return add(job);
  }

  job_poll poll(std::uint32_t ticket) override {
    std::shared_ptr<slurm_job> job;
    {
      std::lock_guard lock(mutex_);
      const auto it = jobs_.find(ticket);
      if (it == jobs_.end()) return {job_poll::state::failed, "unknown Slurm job ticket " + std::to_string(ticket), {}};
      job = it->second;
    }
    job_poll result = look(*job);
    if (result.what != job_poll::state::running) {
      std::lock_guard lock(mutex_);
      jobs_.erase(ticket);
    }
    return result;
  }

  /// At most 1,000 elements a map unless the run says how many items an element runs.
  [[nodiscard]] std::size_t items_per_job(std::size_t length) const override {
    if (options_.items_per_job != 0) return options_.items_per_job;
    return std::max<std::size_t>(1, (length + max_elements_per_map - 1) / max_elements_per_map);
  }

  /// The map's chunks with items to run, as job arrays: one sbatch per array of up to
  /// MaxArraySize elements. On resume, a chunk whose job an earlier driver submitted is
  /// adopted instead (still queued or running, or ended with its done record).
  std::vector<std::uint32_t> submit_items(frame& f, std::uint32_t node, map_run& run, std::uint32_t chunks,
                                          const node_policy& policy) override {
    if (slurm_runs_stopped_by() != 0) throw error("the driver is stopping: no new Slurm jobs");
    const graph_node& n = f.g->nodes[node];
    const map_spec& spec = f.g->maps[n.map];
    const node_keys keys = context_.keys_of(f, node);
    const std::string path = f.path_of(node);
    const std::size_t per_array = array_size_limit();
    std::vector<std::uint32_t> tickets(chunks, 0);
    std::vector<std::pair<std::uint32_t, std::shared_ptr<slurm_job>>> fresh;
    for (std::uint32_t c = 0; c < chunks; ++c) {
      const std::size_t begin = std::min(run.length, static_cast<std::size_t>(c) * run.chunk_size);
      const std::size_t end = std::min(run.length, begin + run.chunk_size);
      map_batch batch = plan_batch(f, node, run, begin, end, c);
      if (batch.items.empty()) continue;  // reused: the chunk runs nothing
      auto job = make_job(f, node, batch.request, 0, keys.prefix + "/batch-" + std::to_string(c) + "/job",
                          !context_.resuming());
      job->node_path = path + "/batch-" + std::to_string(c);
      job->array_index = static_cast<std::uint32_t>(c % per_array);
      job->batch = std::move(batch);
      add_resources(job->sbatch_arguments, policy.resources, n.info->name);
      if (context_.resuming()) {
        if (const auto ticket = adopt_element(job)) {
          tickets[c] = *ticket;
          continue;
        }
        std::error_code ec;
        std::filesystem::remove(job->done_record, ec);
      }
      write_batch(f, node, run, *job->batch, false);
      fresh.emplace_back(c, std::move(job));
    }
    // Arrays: chunks [k * per_array, (k + 1) * per_array) in array k.
    const std::size_t arrays = fresh.empty() ? 0 : fresh.back().first / per_array + 1;
    std::size_t at = 0;
    for (std::size_t k = 0; k < arrays; ++k) {
      auto array = std::make_shared<slurm_array>();
      const std::string stem = keys.prefix + "/array-" + std::to_string(k);
      array->comment = path + "#array-" + std::to_string(k) + ".1";
      array->script = store_root_ / (stem + ".sh");
      const std::filesystem::path logs = store_root_ / stem;
      create_directories_like_parent(logs);
      array->sbatch_arguments = base_arguments();
      array->sbatch_arguments.push_back("--output=" + (logs / "%a.out").string());
      array->sbatch_arguments.push_back("--error=" + (logs / "%a.err").string());
      add_resources(array->sbatch_arguments, policy.resources, n.info->name);
      if (spec.concurrency != 0) array->throttle = std::max<std::size_t>(1, spec.concurrency / arrays);
      bool script_written = false;
      for (; at < fresh.size() && fresh[at].first / per_array == k; ++at) {
        auto& [c, job] = fresh[at];
        if (!script_written) {
          write_array_script(*array, *job, path, k * per_array);
          script_written = true;
        }
        job->array = array;
        job->array_comment = array->comment;
        job->script = array->script;
        job->stdout_log = logs / (std::to_string(*job->array_index) + ".out");
        job->stderr_log = logs / (std::to_string(*job->array_index) + ".err");
        job->sbatch_arguments = array->sbatch_arguments;
        array->elements.push_back(job);
        tickets[c] = track(job);
      }
      if (!script_written) continue;
      std::lock_guard array_lock(array->mutex);
      submit_array(*array);
    }
    return tickets;
  }

  /// A chunk's job: once it has ended, its batch's results (or its failure) go to `run`.
  job_poll poll_items(std::uint32_t ticket, frame& f, std::uint32_t node, map_run& run, std::size_t, std::size_t,
                      std::uint32_t, const keep_items_fn& keep) override {
    std::shared_ptr<slurm_job> job;
    {
      std::lock_guard lock(mutex_);
      const auto it = jobs_.find(ticket);
      if (it == jobs_.end()) return {job_poll::state::failed, "unknown Slurm job ticket " + std::to_string(ticket), {}};
      job = it->second;
    }
    const job_poll result = look(*job);
    if (result.what == job_poll::state::running) return result;
    {
      std::lock_guard lock(mutex_);
      jobs_.erase(ticket);
    }
    if (result.what == job_poll::state::succeeded) {
      collect_batch(f, node, run, *job->batch, job->who(), keep);
    } else {
      fail_batch(f, node, run, *job->batch, result.error);
    }
    return result;
  }

  /// Released now, cancelled with the next ones (one scancel for many).
  void cancel(std::uint32_t ticket) override {
    std::lock_guard lock(mutex_);
    const auto it = jobs_.find(ticket);
    if (it == jobs_.end()) return;
    if (!it->second->id.empty()) to_cancel_.push_back(it->second->id);
    jobs_.erase(it);
    wake_.notify_all();
  }

 private:
  static bool declares_nothing(const resources& r) {
    return r.cpus == 0 && r.memory.empty() && r.time.count() == 0 && r.gpus == 0 && r.partition.empty();
  }

  /// The node goes to the pilot workers' queue: no Slurm job of its own.
  /// Its inputs go with it, its outputs come back with its answer: no file of its own
  /// (its logs if it prints; a dynamic body's futures file), no job record (a line in
  /// the pool's journal), no done record.
  std::uint32_t run_on_pilot(const std::shared_ptr<slurm_job>& job, const node_request& request, json inputs) {
    node_request absolute = request;
    absolute.store_root = store_root_.string();
    auto task = std::make_shared<pilot_task>();
    task->node_path = job->node_path;
    task->attempt = job->attempt;
    task->argv = absolute.arguments(program_);
    task->inputs = std::move(inputs);
    task->stdout_log = job->stdout_log;
    task->stderr_log = job->stderr_log;
    task->timeout_ms = static_cast<std::uint64_t>(job->timeout.count());
    job->pilot = task;
    const std::uint32_t ticket = track(job);
    send_to_pilot(job);
    return ticket;
  }

  /// (Again, after its worker was lost.) Its id is set before a worker can see it.
  void send_to_pilot(const std::shared_ptr<slurm_job>& job) {
    auto task = std::make_shared<pilot_task>(*job->pilot);
    pilots_->name(*task);
    std::weak_ptr<slurm_job> weak = job;
    task->lost = [this, weak](const std::string& why) {
      if (auto lost = weak.lock()) lost_on_pilot(lost, why);
    };
    ++job->submissions;
    {
      std::lock_guard lock(mutex_);
      job->id = task->id;
      job->submitted = clock::now();
      job->sent = task;
    }
    pilots_->enqueue(task);
  }

  /// Its worker ended before the node's done record: run again (a system failure) while
  /// the budget lasts, else the node's attempt fails.
  void lost_on_pilot(const std::shared_ptr<slurm_job>& job, const std::string& why) {
    if (job->submissions <= options_.system_retries) {
      context_.warn("node " + job->node_path + ": " + why + "; running it on another worker");
      send_to_pilot(job);
      return;
    }
    std::lock_guard lock(mutex_);
    job->verdict = job_poll{job_poll::state::failed, "node " + job->node_path + " was lost: " + why, {}};
  }

  /// A map node's elements at most (unless the run says how many items an element runs).
  static constexpr std::size_t max_elements_per_map = 1000;

  /// The cluster's MaxArraySize, asked once (Slurm's default, 1001, when it does not say).
  std::size_t array_size_limit() {
    std::call_once(array_limit_once_, [&] { array_limit_ = std::max<std::size_t>(1, client_.max_array_size().value_or(1001)); });
    return array_limit_;
  }

  /// Its chunk's element of an array: `chunk=$((offset + SLURM_ARRAY_TASK_ID))` picks the
  /// batch's keys; the done record names the element ("12_3").
  void write_array_script(const slurm_array& array, const slurm_job& first, const std::string& path,
                          std::size_t offset) const {
    const node_request& request = first.batch->request;
    node_request absolute = request;
    absolute.store_root = store_root_.string();
    const std::string batch_dir = key_directory(request.outputs_key);  // <node>/batch-<c>
    const std::string node_dir = batch_dir.substr(0, batch_dir.rfind('/'));
    const auto chunk_key = [&](const std::string& key) {
      return shell_quoted(node_dir + "/batch-") + "\"$chunk\"" + shell_quoted(key.substr(batch_dir.size()));
    };
    std::string command;
    for (const auto& a : absolute.arguments(program_)) {
      const bool keyed = a == request.inputs_key || a == request.outputs_key || a == request.error_key;
      command += (keyed ? chunk_key(a) : shell_quoted(a)) + " ";
    }
    const std::string done = "\"$done\"";
    const std::string script =
        "#!/bin/sh\n"
        "# Loom: map node " + path + ", of execution " + context_.execution_id() + ": element I of this job array\n"
        "# runs the items of chunk " + std::to_string(offset) + " + I. Written by the driver.\n" +
        umask_line(store_root_) +
        "chunk=$((" + std::to_string(offset) + " + SLURM_ARRAY_TASK_ID))\n" +
        command + "\n"
        "status=$?\n"
        "done=" + shell_quoted((store_root_ / node_dir).string() + "/batch-") + "\"$chunk\"/job.done\n"
        "printf '{\"job\":\"%s_%s\",\"exit\":%d}\\n' \"$SLURM_ARRAY_JOB_ID\" \"$SLURM_ARRAY_TASK_ID\" \"$status\" > " + done +
        ".tmp-$$ && mv -f " + done + ".tmp-$$ " + done + "\n"
        "exit $status\n";
    write_job_script(array.script, script);
  }

  /// One sbatch for the array's elements still wanted (under its mutex). As for a job:
  /// the intent is recorded first, and after an sbatch that did not answer the array is
  /// looked up (by its comment, then by an element's done record) before the next try.
  void submit_array(slurm_array& array) {
    std::vector<std::shared_ptr<slurm_job>> live;
    for (const auto& element : array.elements) {
      if (auto job = element.lock()) live.push_back(std::move(job));
    }
    if (live.empty()) {
      array.submitted = true;
      return;
    }
    const auto take = [&](const std::string& array_id) {
      for (const auto& job : live) {
        job->submissions = 1;
        submitted(*job, array_id + "_" + std::to_string(*job->array_index));
      }
      array.submitted = true;
      array.last_submit_error.clear();
    };
    if (!array.last_submit_error.empty()) {
      const auto queued = client_.queue(job_name_);
      if (!queued) {
        array.next_submission = clock::now() + std::chrono::seconds(2);
        return;
      }
      for (const auto& q : *queued) {
        if (q.comment == array.comment) return take(q.id.substr(0, q.id.find('_')));
      }
      for (const auto& job : live) {
        if (const auto done = read_done(job->done_record)) return take(done->job.substr(0, done->job.find('_')));
      }
    } else {
      // (Not forced to the disk: what a killed driver wrote, a resume reads.)
      for (const auto& job : live) write_record(*job, "", false);
    }
    if (slurm_runs_stopped_by() != 0) throw error("the driver is stopping: no new Slurm jobs");
    std::string indices;
    for (std::size_t i = 0; i < live.size();) {
      std::size_t j = i;
      while (j + 1 < live.size() && *live[j + 1]->array_index == *live[j]->array_index + 1) ++j;
      if (!indices.empty()) indices += ',';
      indices += std::to_string(*live[i]->array_index);
      if (j > i) indices += "-" + std::to_string(*live[j]->array_index);
      i = j + 1;
    }
    if (array.throttle != 0) indices += "%" + std::to_string(array.throttle);
    std::vector<std::string> args = array.sbatch_arguments;
    args.push_back("--array=" + indices);
    args.push_back("--comment=" + array.comment);
    try {
      take(client_.submit(args, array.script.string()));
    } catch (const submission_refused& e) {
      array.refused = e.what();
      throw;
    } catch (const std::exception& e) {
      if (array.last_submit_error.empty()) {
        context_.warn("map node " + live.front()->node_path + " (" + std::to_string(live.size()) +
                      " elements): " + e.what() + "; trying again");
      }
      array.last_submit_error = e.what();
      array.next_submission = clock::now() + std::chrono::seconds(2);
    }
  }

  /// Resume: the chunk's element an earlier driver submitted, when it is still queued or
  /// running, or has ended with its done record, and ran the same items: tracked again.
  /// One that ran other items (the checkpoints moved since) is cancelled: a new one runs.
  std::optional<std::uint32_t> adopt_element(const std::shared_ptr<slurm_job>& job) {
    std::optional<json> record;
    try {
      record = read_json_object(context_.store(), job->record_key);
    } catch (const std::exception&) {
      return std::nullopt;
    }
    if (!record || !record->is_object()) return std::nullopt;
    const std::string recorded_id = record->value("job", std::string());
    const std::string comment = record->value("comment", std::string());
    const std::size_t items = record->value("items", std::size_t{0});
    const std::uint32_t index = record->value("index", std::uint32_t{0});
    const std::string element = "_" + std::to_string(index);
    const std::string id = earlier_job(*job, recorded_id, [&](const queued_job& q) {
      return q.comment == comment && q.id.size() > element.size() &&
             q.id.compare(q.id.size() - element.size(), element.size(), element) == 0;
    });
    if (id.empty()) return std::nullopt;
    if (items != job->batch->items.size()) {
      context_.warn("node " + job->node_path + ": cancelling Slurm job " + id +
                    " of the driver before: it runs other items than this chunk now has");
      client_.cancel({id});
      return std::nullopt;
    }
    context_.warn("node " + job->node_path + ": adopting Slurm job " + id + ", submitted by the driver before");
    job->array_index = index;
    job->array_comment = comment;
    if (record->contains("script") && (*record)["script"].is_string()) job->script = (*record)["script"].get<std::string>();
    if (record->contains("stdout") && (*record)["stdout"].is_string()) job->stdout_log = (*record)["stdout"].get<std::string>();
    if (record->contains("stderr") && (*record)["stderr"].is_string()) job->stderr_log = (*record)["stderr"].get<std::string>();
    job->batch->started = clock::now();
    job->submissions = 1;
    submitted(*job, id);
    return track(job);
  }

  /// Resume: the last job recorded for the node by an earlier driver, when it is still
  /// queued or running, or has ended (its done record): tracked as this attempt's job.
  std::optional<std::uint32_t> adopt(frame& f, std::uint32_t node, bool dynamic, const node_policy& policy) {
    const node_keys keys = context_.keys_of(f, node);
    std::uint32_t last = 0;
    bool any = false;
    while (std::filesystem::exists(store_root_ / (keys.prefix + "/job-a" + std::to_string(last) + ".json"))) {
      any = true;
      ++last;
    }
    if (!any) return std::nullopt;
    const std::string stem = keys.prefix + "/job-a" + std::to_string(last - 1);
    std::optional<json> record;
    try {
      record = read_json_object(context_.store(), stem + ".json");
    } catch (const std::exception&) {
      return std::nullopt;  // damaged: a new job
    }
    if (!record || !record->is_object()) return std::nullopt;
    const std::string recorded_id = record->value("job", std::string());
    const std::string comment = record->value("comment", std::string());
    node_request request;
    request.outputs_key = dynamic ? keys.futures() : keys.outputs();
    request.error_key = keys.error();
    auto job = make_job(f, node, request, last - 1, stem, false);
    job->dynamic = dynamic;
    job->timeout = policy.timeout;
    const std::string id = earlier_job(*job, recorded_id, [&](const queued_job& q) { return q.comment == comment; });
    if (id.empty()) return std::nullopt;
    context_.warn("node " + job->node_path + ": adopting Slurm job " + id + ", submitted by the driver before");
    const auto pos = comment.rfind('.');
    job->submissions = pos == std::string::npos ? 1 : static_cast<std::uint32_t>(std::atoi(comment.c_str() + pos + 1));
    submitted(*job, id);
    std::lock_guard lock(mutex_);
    const std::uint32_t ticket = next_ticket_++;
    jobs_.emplace(ticket, std::move(job));
    return ticket;
  }

  /// Resume: the id of the job an earlier driver submitted for `job`, when it has ended
  /// with its done record or is still queued or running; empty when neither. Its id is
  /// `recorded_id` when that driver learnt it (sbatch answered), else the queue's job
  /// that `unrecorded` picks (by its comment).
  template <class Match>
  std::string earlier_job(const slurm_job& job, const std::string& recorded_id, Match&& unrecorded) {
    auto ended = [&]() -> std::string {
      const auto done = read_done(job.done_record);
      return done && (recorded_id.empty() || done->job == recorded_id) ? done->job : std::string();
    };
    if (std::string id = ended(); !id.empty()) return id;
    const auto* queued = queued_at_resume();
    if (queued == nullptr) return {};
    std::string id;
    for (const auto& q : *queued) {
      if (recorded_id.empty() ? unrecorded(q) : q.id == recorded_id) id = q.id;
    }
    // After the queue was read, a job may have ended: its record says so.
    return id.empty() ? ended() : id;
  }

  /// The run's jobs queued or running when the resume began (one look for all the
  /// nodes it adopts); null when the controller did not answer.
  const std::vector<queued_job>* queued_at_resume() {
    std::call_once(resume_queue_once_, [&] { resume_queue_ = client_.queue(job_name_); });
    return resume_queue_ ? &*resume_queue_ : nullptr;
  }

  /// A job for `request` whose files are `stem`.* (`fresh`: an earlier run's done
  /// record there is removed).
  std::shared_ptr<slurm_job> make_job(frame& f, std::uint32_t node, const node_request& request,
                                      std::uint32_t attempt, const std::string& stem, bool fresh = true,
                                      bool directory = true) {
    auto job = std::make_shared<slurm_job>();
    job->node_path = f.path_of(node);
    job->attempt = attempt;
    job->result_key = request.outputs_key;
    job->error_key = request.error_key;
    job->done_record = store_root_ / (stem + ".done");
    job->record_key = stem + ".json";
    job->script = store_root_ / (stem + ".sh");
    job->stdout_log = store_root_ / (stem + ".out");
    job->stderr_log = store_root_ / (stem + ".err");
    std::error_code ec;
    if (fresh) std::filesystem::remove(job->done_record, ec);  // an earlier run's, under the same keys
    if (directory) create_directories_like_parent(job->script.parent_path());
    job->sbatch_arguments = base_arguments();
    job->sbatch_arguments.push_back("--output=" + job->stdout_log.string());
    job->sbatch_arguments.push_back("--error=" + job->stderr_log.string());
    return job;
  }

  /// Every job's sbatch arguments: the run's name, no requeue (Loom retries), the store
  /// as working directory, the run's defaults (the task's resources come after).
  [[nodiscard]] std::vector<std::string> base_arguments() const {
    std::vector<std::string> args = {"--parsable", "--no-requeue", "--job-name=" + job_name_,
                                      "--chdir=" + store_root_.string(), "--open-mode=truncate"};
    const std::vector<std::string> defaults = run_defaults();
    args.insert(args.end(), defaults.begin(), defaults.end());
    return args;
  }

  /// The run's defaults for every job (the pilot workers' too).
  [[nodiscard]] std::vector<std::string> run_defaults() const {
    std::vector<std::string> args;
    if (!options_.partition.empty()) args.push_back("--partition=" + options_.partition);
    if (!options_.account.empty()) args.push_back("--account=" + options_.account);
    if (!options_.time.empty()) args.push_back("--time=" + options_.time);
    for (const auto& extra : options_.extra_sbatch_arguments) args.push_back(extra);
    return args;
  }

  /// The task's own resources come after the run's defaults: sbatch takes the last.
  static void add_resources(std::vector<std::string>& args, const resources& r, const std::string& task) {
    if (!r.memory_problem().empty()) {
      throw error("task '" + task + "': with_resources: " + std::string(r.memory_problem()));
    }
    if (!r.partition_ok()) throw error("task '" + task + "': with_resources: partition has a space or a quote");
    if (r.cpus > 0) args.push_back("--cpus-per-task=" + std::to_string(r.cpus));
    if (!r.memory.empty()) args.push_back("--mem=" + std::string(r.memory));
    if (r.time.count() > 0) args.push_back("--time=" + std::to_string((r.time.count() + 59) / 60));
    if (r.gpus > 0) args.push_back("--gres=gpu:" + std::to_string(r.gpus));
    if (!r.partition.empty()) args.push_back("--partition=" + std::string(r.partition));
  }

  /// The job script: the node process (under `timeout` when the task has one), then the
  /// done record with its exit status, renamed into place so that it is whole when seen.
  void write_script(const slurm_job& job, const node_request& request) const {
    node_request absolute = request;
    absolute.store_root = store_root_.string();
    std::string command;
    if (job.timeout.count() > 0) {
      command += "timeout -k 5 " + std::to_string(job.timeout.count() / 1000) + "." +
                 std::to_string(1000 + job.timeout.count() % 1000).substr(1) + "s ";
    }
    for (const auto& a : absolute.arguments(program_)) command += shell_quoted(a) + " ";
    const std::string done = job.done_record.string();
    const std::string script =
        "#!/bin/sh\n"
        "# Loom: node " + job.node_path + ", attempt " + std::to_string(job.attempt) + ", of execution " +
        context_.execution_id() + ". Written by the driver.\n" +
        umask_line(store_root_) + command + "\n"
        "status=$?\n"
        "printf '{\"job\":\"%s\",\"exit\":%d}\\n' \"$SLURM_JOB_ID\" \"$status\" > " + shell_quoted(done) +
        ".tmp-$$ && mv -f " + shell_quoted(done) + ".tmp-$$ " + shell_quoted(done) + "\n"
        "exit $status\n";
    write_job_script(job.script, script);
  }

  std::uint32_t add(const std::shared_ptr<slurm_job>& job) {
    submit_now(*job);
    return track(job);
  }

  /// The job is the backend's to watch (and to cancel with a failed run): its ticket.
  std::uint32_t track(const std::shared_ptr<slurm_job>& job) {
    std::lock_guard lock(mutex_);
    const std::uint32_t ticket = next_ticket_++;
    if (next_ticket_ == 0) next_ticket_ = 1;
    jobs_.emplace(ticket, job);
    return ticket;
  }

  /// sbatch, with the intent recorded first. When sbatch does not answer, the job may
  /// exist all the same: it is looked up by its comment before the next try, so that an
  /// attempt never runs twice. Throws when sbatch refused the request.
  void submit_now(slurm_job& job) {
    ++job.submissions;
    write_record(job, "", true);
    try_submission(job);
  }

  void try_submission(slurm_job& job) {
    if (!job.last_submit_error.empty()) {
      // Did an earlier sbatch of this very submission get through after all? Then its
      // job is queued or running (squeue lists it by its comment), or it has ended
      // (its done record is there): asked in this order, one of them sees it.
      const auto queued = client_.queue(job_name_);
      if (!queued) {
        job.next_submission = clock::now() + std::chrono::seconds(2);
        return;
      }
      for (const auto& q : *queued) {
        if (q.comment == job.comment()) {
          submitted(job, q.id);
          return;
        }
      }
      if (const auto done = read_done(job.done_record)) {
        submitted(job, done->job);
        return;
      }
    }
    if (slurm_runs_stopped_by() != 0) throw error("the driver is stopping: no new Slurm jobs");
    std::vector<std::string> args = job.sbatch_arguments;
    // An element of a job array submitted again on its own: a one-element array, so that
    // its script (the array's) finds its chunk.
    if (job.array_index) args.push_back("--array=" + std::to_string(*job.array_index));
    args.push_back("--comment=" + job.comment());
    try {
      std::string id = client_.submit(args, job.script.string());
      if (job.array_index) id += "_" + std::to_string(*job.array_index);
      submitted(job, id);
    } catch (const submission_refused&) {
      throw;
    } catch (const std::exception& e) {
      if (job.last_submit_error.empty()) {
        context_.warn("node " + job.node_path + ": " + e.what() + "; trying again");
      }
      job.last_submit_error = e.what();
      job.next_submission = clock::now() + std::chrono::seconds(2);
    }
  }

  void submitted(slurm_job& job, const std::string& id) {
    {
      std::lock_guard lock(mutex_);
      job.id = id;
      job.submitted = clock::now();
      job.last_submit_error.clear();
    }
    write_record(job, id, false);
  }

  /// The driver's record of the job: its intent (`id` empty, written to the disk before
  /// sbatch: `sync`), then its id. `loom show` and a resume read it.
  void write_record(const slurm_job& job, const std::string& id, bool sync) const {
    json record = {{"name", job_name_},          {"comment", job.comment()},   {"job", id},
                   {"script", job.script.string()}, {"stdout", job.stdout_log.string()},
                   {"stderr", job.stderr_log.string()}};
    if (job.batch) record["items"] = job.batch->items.size();
    if (job.array_index) record["index"] = *job.array_index;
    context_.store().put(job.record_key, record.dump(), sync);
  }

  /// Where the job is: from its done record, else the liveness thread's verdict.
  job_poll look(slurm_job& job) {
    job_poll running{job_poll::state::running, {}, job.next_look};
    job.next_look = std::min<std::chrono::milliseconds>(job.next_look * 2, std::chrono::milliseconds(400));
    std::string id;
    std::optional<job_poll> verdict;
    bool system_failure = false;
    std::shared_ptr<pilot_task> sent;
    {
      std::lock_guard lock(mutex_);
      id = job.id;
      verdict = job.verdict;
      system_failure = job.system_failure;
      sent = job.sent;
    }
    if (sent) {
      // A node on a pilot worker ends within milliseconds, often: looked at every 2 ms
      // (a look is a load of its stage); a queued one as any job, less and less often.
      const auto stage = sent->stage.load(std::memory_order_acquire);
      if (stage == pilot_task::ran) return ended_on_pilot(job, *sent);
      if (verdict) return *verdict;  // lost, and out of system retries
      if (stage == pilot_task::on_worker) running.again = std::chrono::milliseconds(2);
      return running;
    }
    if (id.empty()) {
      if (job.array) {
        std::lock_guard array_lock(job.array->mutex);
        if (!job.array->refused.empty()) return {job_poll::state::failed, job.array->refused, {}};
        if (!job.array->submitted) {
          if (clock::now() >= job.array->next_submission) {
            try {
              submit_array(*job.array);
            } catch (const std::exception& e) {
              return {job_poll::state::failed, e.what(), {}};
            }
          }
          return running;
        }
      }
      if (clock::now() >= job.next_submission) {
        try {
          try_submission(job);
        } catch (const std::exception& e) {
          return {job_poll::state::failed, e.what(), {}};
        }
      }
      return running;
    }
    if (const auto status = done_status(job, id)) {
      // Stopped by the cluster (preempted, its machine failing) though its script wrote
      // the done record: the cluster's failure, submitted again, as the liveness verdict
      // would have had it (judge); anything else, by how the program ended. (The log's
      // tail read once, for this and for ended's checks.)
      const std::string tail = read_log_tail(job.stderr_log);
      const std::string notice = *status > 128 ? slurm_stop_notice(tail) : std::string();
      if (notice.find(" DUE TO ") == std::string::npos || notice.find("DUE TO TIME LIMIT") != std::string::npos) {
        return ended(job, *status, tail);
      }
      verdict = job_poll{job_poll::state::failed, job.who() + " was stopped by Slurm: " + notice, {}};
      system_failure = true;
    }
    if (verdict) {
      if (system_failure && job.submissions <= options_.system_retries) {
        context_.warn("node " + job.node_path + ": " + verdict->error + "; submitting it again");
        {
          std::lock_guard lock(mutex_);
          job.verdict.reset();
          job.system_failure = false;
          job.id.clear();
        }
        job.array_comment.clear();  // an array's element: now a job of its own
        try {
          submit_now(job);
        } catch (const std::exception& e) {
          return {job_poll::state::failed, e.what(), {}};
        }
        return running;
      }
      return *verdict;
    }
    return running;
  }

  /// A done record: which job wrote it, with what exit status.
  struct done_record {
    std::string job;
    int status = 0;
  };
  static std::optional<done_record> read_done(const std::filesystem::path& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) return std::nullopt;
    const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    const json done = json::parse(text, nullptr, false);
    if (!done.is_object() || !done.contains("job") || !done["job"].is_string() || !done.contains("exit") ||
        !done["exit"].is_number_integer()) {
      return std::nullopt;
    }
    return done_record{done["job"].get<std::string>(), done["exit"].get<int>()};
  }

  /// The exit status in the job's done record, if it has one, of this job (a record of
  /// an earlier submission of the attempt does not count).
  static std::optional<int> done_status(const slurm_job& job, const std::string& id) {
    const auto done = read_done(job.done_record);
    if (!done || done->job != id) return std::nullopt;
    return done->status;
  }

  /// The done record says how the node process ended; `log` is the tail of its log.
  job_poll ended(const slurm_job& job, int status, const std::string& log) const {
    const object_store& store = context_.store();
    if (says_out_of_memory(log)) {  // a failure even when the job exited 0
      return {job_poll::state::failed, out_of_memory(job.who(), job), {}};
    }
    if (status == 0) {
      if (store.contains(job.result_key)) return {job_poll::state::succeeded, {}, {}};
      return {job_poll::state::failed,
              job.who() + " exited with status 0 but wrote no " + (job.dynamic ? "futures file" : "outputs") + " (" +
                  job.result_key + " is missing)" + last_lines_of(log),
              {}};
    }
    if (status == 124 && job.timeout.count() > 0) {
      return {job_poll::state::failed,
              "timed out after " + std::to_string(job.timeout.count()) + " ms (" + job.who() + " was stopped)", {}};
    }
    if (status == 1) {
      if (auto message = stored_task_error(store, job.error_key)) return {job_poll::state::failed, *message, {}};
    }
    if (status > 128) {
      // Killed by a signal, and slurmstepd says it cancelled the job or stopped it at its
      // time limit: say so, as the liveness look would have had the script not outlived
      // its program (preemption and failed machines are look's: submitted again).
      if (const std::string stopped = slurm_stop_notice(log); !stopped.empty()) {
        if (stopped.find("DUE TO TIME LIMIT") != std::string::npos) {
          return {job_poll::state::failed, job.who() + " ran over its Slurm time limit and was stopped", {}};
        }
        if (stopped.find(" DUE TO ") == std::string::npos) {
          return {job_poll::state::stopped, job.who() + " was cancelled (scancel) while it ran", {}};
        }
      }
    }
    const std::string tail = last_lines_of(log);
    std::string how = status > 128 ? "was killed by signal " + signal_name(status - 128)
                                   : "exited with status " + std::to_string(status);
    return {job_poll::state::failed,
            job.who() + " " + how + (tail.empty() ? "; it printed nothing" : "; the end of its output:" + tail), {}};
  }

  /// A node on a pilot worker answered: its exit status, and what it sent back (a task's
  /// outputs, kept here for run_task; or the message of what it threw).
  job_poll ended_on_pilot(const slurm_job& job, const pilot_task& task) {
    const std::string who = "its process on pilot worker " + task.worker + " (" + task.id +
                            "; log: " + job.stderr_log.string() + ")";
    json result;
    if (!task.result.empty()) result = json::parse(task.result, nullptr, false);
    if (!result.is_object()) result = json::object();
    if (task.exit == 0) {
      if (job.dynamic) {
        if (context_.store().contains(job.result_key)) return {job_poll::state::succeeded, {}, {}};
        return {job_poll::state::failed,
                who + " exited with status 0 but wrote no futures file (" + job.result_key + " is missing)" +
                    log_tail(job.stderr_log),
                {}};
      }
      const auto outputs = result.find("outputs");
      if (outputs == result.end() || !outputs->is_object()) {
        return {job_poll::state::failed, who + " exited with status 0 but sent back no outputs" + log_tail(job.stderr_log),
                {}};
      }
      std::lock_guard lock(mutex_);
      pilot_outputs_[job.result_key] = std::move(*outputs);
      return {job_poll::state::succeeded, {}, {}};
    }
    if (const auto message = result.find("error"); message != result.end() && message->is_string()) {
      return {job_poll::state::failed, message->get<std::string>(), {}};
    }
    if (task.exit == 124 && job.timeout.count() > 0) {
      return {job_poll::state::failed,
              "timed out after " + std::to_string(job.timeout.count()) + " ms (" + who + " was stopped)", {}};
    }
    const std::string tail = log_tail(job.stderr_log);
    const std::string how = task.exit > 128 ? "was killed by signal " + signal_name(task.exit - 128)
                                            : "exited with status " + std::to_string(task.exit);
    return {job_poll::state::failed,
            who + " " + how + (tail.empty() ? "; it printed nothing" : "; the end of its output:" + tail), {}};
  }

  /// "its Slurm job 12 ran out of memory (--mem=64M) and was killed; ...".
  static std::string out_of_memory(const std::string& who, const slurm_job& job) {
    std::string limit = "no --mem given: the partition's default";
    for (const auto& a : job.sbatch_arguments) {
      if (a.rfind("--mem=", 0) == 0) limit = a;
    }
    return who + " ran out of memory (" + limit + ") and was killed; the end of its log:" + log_tail(job.stderr_log);
  }

  /// The liveness thread: once per interval while the run has jobs, one squeue of the
  /// run's job name; a job it does not list and that left no done record is looked up.
  void watch() {
    std::unique_lock lock(mutex_);
    bool warned = false;
    // Adaptive: while the run's jobs neither start nor vanish, the interval doubles, up
    // to 4 times the one asked for; any change brings it back.
    const auto base = options_.liveness_interval;
    auto interval = base;
    clock::time_point last_asked{};
    while (!stopping_) {
      // In slices, to notice a stop signal (stop_slurm_runs) at once.
      const auto next = clock::now() + interval;
      while (!stopping_ && stop_signal.load(std::memory_order_relaxed) == 0 && clock::now() < next) {
        wake_.wait_for(lock, std::min<clock::duration>(next - clock::now(), std::chrono::milliseconds(200)));
        if (!to_cancel_.empty()) {
          std::vector<std::string> ids = std::move(to_cancel_);
          to_cancel_.clear();
          lock.unlock();
          if (!client_.cancel(ids)) context_.warn("could not cancel Slurm jobs: scancel did not answer");
          lock.lock();
        }
      }
      if (stopping_) return;
      if (const int sig = stop_signal.load(std::memory_order_relaxed); sig != 0) {
        const std::string why = "the driver was stopped" + (sig > 0 ? " by " + signal_name(sig) : std::string()) +
                                "; its Slurm jobs are cancelled";
        std::vector<std::string> ids;
        for (auto& [ticket, job] : jobs_) {
          if (!job->verdict) job->verdict = job_poll{job_poll::state::stopped, why, {}};
          if (!job->id.empty() && !job->pilot) ids.push_back(job->id);  // (pilots end with their pool)
        }
        // Cancelled now: the nodes' polls see the verdict and drop their jobs, so the
        // destructor would not know them any more.
        lock.unlock();
        if (!ids.empty() && !client_.cancel(ids)) {
          context_.warn("could not cancel the run's Slurm jobs (" + std::to_string(ids.size()) +
                        "): scancel did not answer");
        }
        lock.lock();
        wake_.wait(lock, [&] { return stopping_; });
        return;
      }
      std::vector<std::shared_ptr<slurm_job>> watched;
      for (const auto& [ticket, job] : jobs_) {
        // (A pilot's node is watched through its worker's connection.)
        if (!job->id.empty() && !job->verdict && !job->pilot) watched.push_back(job);
      }
      if (watched.empty()) {
        interval = base;
        continue;
      }
      lock.unlock();
      const auto asked = clock::now();
      const auto queued = client_.queue(job_name_);
      if (!queued) {
        if (!warned) context_.warn("the Slurm controller does not answer (scontrol show job); waiting for it");
        warned = true;
        lock.lock();
        continue;
      }
      warned = false;
      std::unordered_set<std::string> alive;
      for (const auto& q : *queued) alive.insert(q.id);
      bool changed = false;
      for (const auto& job : watched) {
        std::string id;
        clock::time_point since;
        {
          std::lock_guard job_lock(mutex_);
          id = job->id;
          since = job->submitted;
        }
        if (since >= last_asked) changed = true;  // submitted since the last look
        if (id.empty() || since >= asked || alive.count(id) != 0) continue;
        changed = true;
        if (done_status(*job, id)) continue;  // ended: its poll will see it
        judge(*job, id);
      }
      last_asked = asked;
      interval = changed ? base : std::min(interval * 2, base * 4);
      lock.lock();
    }
  }

  /// A job that is not in the queue and left no done record: what the controller says.
  void judge(slurm_job& job, const std::string& id) {
    const auto description = client_.describe(id);
    if (!description) return;  // no answer: ask again next time
    std::optional<job_poll> verdict;
    bool system_failure = false;
    const std::string who = "its Slurm job " + id;
    const std::string log = " (log: " + job.stderr_log.string() + ")";
    const std::string& state = description->state;
    if (!description->known) {
      verdict = job_poll{job_poll::state::failed, who + " was lost: the controller no longer knows it, and it left no done record", {}};
      system_failure = true;
    } else if (!slurm_client::has_ended(state)) {
      return;  // alive after all (the look at the queue and the job crossed)
    } else if (state == "CANCELLED") {
      verdict = job_poll{job_poll::state::stopped, who + " was cancelled (scancel) while it ran" + log, {}};
    } else if (state == "TIMEOUT") {
      verdict = job_poll{job_poll::state::failed, who + " ran over its Slurm time limit and was stopped" + log, {}};
    } else if (state == "OUT_OF_MEMORY" || log_says_out_of_memory(job.stderr_log)) {
      verdict = job_poll{job_poll::state::failed, out_of_memory(who + " (" + state + ")", job), {}};
    } else if (state == "NODE_FAIL" || state == "BOOT_FAIL" || state == "PREEMPTED" || state == "DEADLINE" ||
               state == "REVOKED") {
      verdict = job_poll{job_poll::state::failed, who + " ended " + state + " (reason " + description->reason +
                                                      ", on " + description->node_list + ")", {}};
      system_failure = true;
    } else {
      // COMPLETED or FAILED without a done record: give the file system a moment (a
      // shared one may show the record late), then fail.
      const auto now = clock::now();
      std::lock_guard lock(mutex_);
      if (job.ended_without_record == clock::time_point{}) {
        job.ended_without_record = now;
        return;
      }
      if (now - job.ended_without_record < options_.liveness_interval) return;
      job.verdict = job_poll{job_poll::state::failed, who + " ended " + state + " (exit code " + description->exit_code +
                                                          ") without writing its done record" + log_tail(job.stderr_log), {}};
      return;
    }
    std::lock_guard lock(mutex_);
    job.verdict = std::move(verdict);
    job.system_failure = system_failure;
  }

  const execution_context& context_;
  const slurm_options& options_;
  slurm_client client_;
  std::string program_;
  std::filesystem::path store_root_;
  std::string job_name_;

  std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;
  std::unordered_map<std::uint32_t, std::shared_ptr<slurm_job>> jobs_;
  std::uint32_t next_ticket_ = 1;
  std::vector<std::string> to_cancel_;  // jobs released by cancel(), cancelled by the liveness thread
  std::once_flag array_limit_once_;
  std::size_t array_limit_ = 1001;
  std::once_flag resume_queue_once_;
  std::optional<std::vector<queued_job>> resume_queue_;
  std::unique_ptr<pilot_pool> pilots_;
  std::map<std::string, json> pilot_outputs_;  // by outputs key: answered, not yet collected
  std::thread liveness_;
};

}  // namespace

LOOM_FUNC std::unique_ptr<node_backend> make_slurm_backend(const execution_context& context, std::string program) {
  return std::make_unique<slurm_node_backend>(context, std::move(program));
}

}  // namespace detail

LOOM_FUNC void stop_slurm_runs(int signal_number) noexcept {
  detail::stop_signal.store(signal_number == 0 ? -1 : signal_number, std::memory_order_relaxed);
}

LOOM_FUNC int slurm_runs_stopped_by() noexcept { return detail::stop_signal.load(std::memory_order_relaxed); }

}  // namespace loom
