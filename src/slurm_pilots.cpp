// src/slurm_pilots.cpp — pilot workers (slurm_pilots.hpp): the driver's pool (a listener
// and one thread that serves every worker with poll()) and the worker's loop (one
// thread: its connection and its children, through poll() and a signalfd).
#include "slurm_pilots.hpp"

#include "child_processes.hpp"

#include <loom/detail/config.hpp>
#include <loom/error.hpp>
#include <loom/process_backend.hpp>

#include <nlohmann/json.hpp>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iostream>
#include <optional>
#include <random>
#include <sstream>
#include <utility>

namespace loom::detail {

namespace pilots {

using json = nlohmann::json;
using steady = std::chrono::steady_clock;

/// Sends all of `line` (and a newline); false when the peer is gone.
LOOM_FUNC bool send_line(int fd, const std::string& line) {
  std::string data = line + "\n";
  std::size_t at = 0;
  while (at < data.size()) {
    const ssize_t n = ::send(fd, data.data() + at, data.size() - at, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      pollfd p{fd, POLLOUT, 0};
      ::poll(&p, 1, 1000);
      continue;
    }
    if (n <= 0) return false;
    at += static_cast<std::size_t>(n);
  }
  return true;
}

/// Reads what is there into `buffer`; false at the end of the stream or on an error.
LOOM_FUNC bool read_some(int fd, std::string& buffer) {
  char chunk[65536];
  while (true) {
    const ssize_t n = ::recv(fd, chunk, sizeof chunk, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return true;
    if (n <= 0) return false;
    buffer.append(chunk, static_cast<std::size_t>(n));
    if (static_cast<std::size_t>(n) < sizeof chunk) return true;
  }
}

/// The complete lines at the start of `buffer`, taken out of it.
LOOM_FUNC std::vector<std::string> take_lines(std::string& buffer) {
  std::vector<std::string> lines;
  std::size_t start = 0;
  for (std::size_t nl; (nl = buffer.find('\n', start)) != std::string::npos; start = nl + 1) {
    lines.push_back(buffer.substr(start, nl - start));
  }
  buffer.erase(0, start);
  return lines;
}

/// This host's first IPv4 address (its name's), else loopback.
LOOM_FUNC std::string host_address() {
  char name[256] = {};
  if (::gethostname(name, sizeof name - 1) != 0) return "127.0.0.1";
  addrinfo hints{};
  hints.ai_family = AF_INET;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  if (::getaddrinfo(name, nullptr, &hints, &found) != 0 || found == nullptr) return "127.0.0.1";
  char text[INET_ADDRSTRLEN] = {};
  const auto* in = reinterpret_cast<const sockaddr_in*>(found->ai_addr);
  ::inet_ntop(AF_INET, &in->sin_addr, text, sizeof text);
  ::freeaddrinfo(found);
  return text;
}

/// A secret for the workers' hello: 128 random bits, in hex.
LOOM_FUNC std::string random_token() {
  std::random_device device;
  std::string token;
  static constexpr char hex[] = "0123456789abcdef";
  for (int i = 0; i < 32; ++i) token += hex[device() % 16];
  return token;
}

}  // namespace pilots

// ---- The driver's pool ----

struct pilot_pool::connection {
  int fd = -1;
  bool hello = false;
  std::string job;  // the worker's Slurm job id
  std::size_t slots = 1;
  std::string buffer;
  std::map<std::uint64_t, std::shared_ptr<pilot_task>> running;
};

LOOM_FUNC pilot_pool::pilot_pool(settings s, slurm_client& client, std::function<void(const std::string&)> warn)
    : settings_(std::move(s)), client_(client), warn_(std::move(warn)), token_(pilots::random_token()) {
  const std::string address = settings_.address.empty() ? pilots::host_address() : settings_.address;
  listener_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (listener_ < 0) throw error("pilot workers: cannot open a socket: " + std::string(std::strerror(errno)));
  sockaddr_in at{};
  at.sin_family = AF_INET;
  at.sin_port = 0;
  if (::inet_pton(AF_INET, address.c_str(), &at.sin_addr) != 1) {
    ::close(listener_);
    throw error("pilot workers: '" + address + "' is not an IPv4 address to listen on");
  }
  socklen_t length = sizeof at;
  if (::bind(listener_, reinterpret_cast<sockaddr*>(&at), sizeof at) != 0 || ::listen(listener_, 128) != 0 ||
      ::getsockname(listener_, reinterpret_cast<sockaddr*>(&at), &length) != 0) {
    const std::string why = std::strerror(errno);
    ::close(listener_);
    throw error("pilot workers: cannot listen on " + address + ": " + why);
  }
  set_nonblocking(listener_);
  endpoint_ = address + ":" + std::to_string(ntohs(at.sin_port));
  if (::pipe2(wake_pipe_, O_CLOEXEC | O_NONBLOCK) != 0) {
    ::close(listener_);
    throw error("pilot workers: cannot make a pipe: " + std::string(std::strerror(errno)));
  }
  create_directories_like_parent(settings_.directory);
  journal_ = ::open((settings_.directory / "nodes.jsonl").c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC,
                    static_cast<mode_t>(file_mode_in(settings_.directory)));
  // The script: the token is in it, readable by the run's user only.
  const auto script = settings_.directory / "worker.sh";
  {
    std::ofstream out(script, std::ios::binary | std::ios::trunc);
    out << "#!/bin/sh\n# Loom: a pilot worker of the run " << settings_.job_name << ". Written by the driver.\n"
        << "LD_BIND_NOW=1 exec " << shell_quoted(settings_.program) << " worker --driver " << endpoint_ << " --token " << token_
        << " --slots " << settings_.slots << " --nodes-per-process " << settings_.nodes_per_process << "\n";
  }
  std::filesystem::permissions(script, std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
  try {
    submit_workers(settings_.workers);
  } catch (...) {
    ::close(listener_);
    if (journal_ >= 0) ::close(journal_);
    ::close(wake_pipe_[0]);
    ::close(wake_pipe_[1]);
    throw;
  }
  thread_ = std::thread([this] { loop(); });
}

LOOM_FUNC pilot_pool::~pilot_pool() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake();
  thread_.join();
  std::vector<std::string> ids;
  {
    std::lock_guard lock(mutex_);
    ids = array_ids_;
  }
  // Workers told to exit leave by themselves; the ones still pending never start.
  if (!ids.empty() && !client_.cancel(ids)) warn_("could not cancel the pilot workers' jobs: scancel did not answer");
  ::close(listener_);
  if (journal_ >= 0) ::close(journal_);
  ::close(wake_pipe_[0]);
  ::close(wake_pipe_[1]);
}

/// One line (one write: whole for a reader, whatever else appends) to the journal.
LOOM_FUNC void pilot_pool::journal(const pilots::json& line) {
  if (journal_ < 0) return;
  const std::string text = line.dump(-1, ' ', false, pilots::json::error_handler_t::replace) + "\n";
  [[maybe_unused]] const auto n = ::write(journal_, text.data(), text.size());
}

LOOM_FUNC void pilot_pool::submit_workers(std::size_t count) {
  if (count == 0) return;
  std::vector<std::string> args = {"--parsable", "--no-requeue", "--job-name=" + settings_.job_name,
                                   "--output=" + (settings_.directory / "worker-%A_%a.out").string(),
                                   "--error=" + (settings_.directory / "worker-%A_%a.err").string(),
                                   "--array=0-" + std::to_string(count - 1), "--comment=loom pilot workers"};
  if (settings_.slots > 1) args.push_back("--cpus-per-task=" + std::to_string(settings_.slots));
  args.insert(args.end(), settings_.sbatch_arguments.begin(), settings_.sbatch_arguments.end());
  std::string id;
  // The controller may not answer: a few tries (a worker array submitted twice is
  // harmless: workers beyond need get no work and are cancelled with the run).
  for (int attempt = 0;; ++attempt) {
    try {
      id = client_.submit(args, (settings_.directory / "worker.sh").string());
      break;
    } catch (const submission_refused&) {
      throw;
    } catch (const std::exception& e) {
      if (attempt >= 5) throw error("pilot workers: " + std::string(e.what()));
      std::this_thread::sleep_for(std::chrono::seconds(2));
    }
  }
  std::lock_guard lock(mutex_);
  array_ids_.push_back(id);
}

LOOM_FUNC void pilot_pool::name(pilot_task& task) {
  std::lock_guard lock(mutex_);
  task.seq = next_seq_++;
  task.id = "pilot-" + std::to_string(task.seq);
}

LOOM_FUNC void pilot_pool::enqueue(const std::shared_ptr<pilot_task>& task) {
  {
    std::lock_guard lock(mutex_);
    queue_.push_back(task);
  }
  wake();
}

LOOM_FUNC std::vector<std::string> pilot_pool::worker_jobs() const {
  std::lock_guard lock(mutex_);
  std::vector<std::string> jobs;
  for (const auto& [fd, c] : connections_) {
    if (c->hello) jobs.push_back(c->job);
  }
  return jobs;
}

LOOM_FUNC void pilot_pool::wake() {
  const char byte = 1;
  [[maybe_unused]] const auto n = ::write(wake_pipe_[1], &byte, 1);
}

/// Sends queued tasks to workers with free slots, the least busy first.
LOOM_FUNC void pilot_pool::dispatch() {
  while (true) {
    std::shared_ptr<pilot_task> task;
    connection* worker = nullptr;
    {
      std::lock_guard lock(mutex_);
      if (queue_.empty()) return;
      std::size_t best_free = 0;
      for (auto& [fd, c] : connections_) {
        if (!c->hello || c->running.size() >= c->slots) continue;
        const std::size_t free = c->slots - c->running.size();
        if (free > best_free) {
          best_free = free;
          worker = c.get();
        }
      }
      if (worker == nullptr) return;
      task = queue_.front();
      queue_.pop_front();
      worker->running.emplace(task->seq, task);
      task->worker = worker->job;
      task->stage.store(pilot_task::on_worker, std::memory_order_release);
    }
    const pilots::json line = {{"run", task->seq},
                               {"argv", task->argv},
                               {"inputs", task->inputs},
                               {"stdout", task->stdout_log.string()},
                               {"stderr", task->stderr_log.string()},
                               {"timeout_ms", task->timeout_ms}};
    journal({{"id", task->id},
             {"node", task->node_path},
             {"attempt", task->attempt},
             {"worker", task->worker},
             {"stdout", task->stdout_log.string()},
             {"stderr", task->stderr_log.string()}});
    if (!pilots::send_line(worker->fd, line.dump(-1, ' ', false, pilots::json::error_handler_t::replace))) {
      drop(worker->fd, "its connection broke");
    }
  }
}

/// A worker is gone: its nodes are given back (lost), and a replacement is submitted
/// while the budget lasts.
LOOM_FUNC void pilot_pool::drop(int fd, const std::string& why) {
  std::unique_ptr<connection> gone;
  bool replace = false;
  {
    std::lock_guard lock(mutex_);
    const auto it = connections_.find(fd);
    if (it == connections_.end()) return;
    gone = std::move(it->second);
    connections_.erase(it);
    if (gone->hello && !stopping_ && replaced_ < settings_.replacements) {
      ++replaced_;
      replace = true;
    }
  }
  ::close(fd);
  if (!gone->hello) return;  // (not a worker of ours)
  const std::string who = "its pilot worker (Slurm job " + gone->job + ") ended: " + why;
  for (auto& [seq, task] : gone->running) {
    journal({{"id", task->id}, {"lost", who}});
    if (task->lost) task->lost(who);
  }
  if (replace) {
    warn_("pilot worker " + gone->job + " ended (" + why + "); submitting another");
    try {
      submit_workers(1);
    } catch (const std::exception& e) {
      warn_("could not submit a replacement pilot worker: " + std::string(e.what()));
    }
  }
}

LOOM_FUNC void pilot_pool::loop() {
  while (true) {
    std::vector<pollfd> fds = {{listener_, POLLIN, 0}, {wake_pipe_[0], POLLIN, 0}};
    {
      std::lock_guard lock(mutex_);
      if (stopping_) break;
      for (const auto& [fd, c] : connections_) fds.push_back({fd, POLLIN, 0});
    }
    if (::poll(fds.data(), fds.size(), 1000) < 0 && errno != EINTR) break;
    if (fds[1].revents != 0) {
      char bytes[256];
      while (::read(wake_pipe_[0], bytes, sizeof bytes) > 0) {
      }
    }
    if (fds[0].revents != 0) {
      while (true) {
        const int fd = ::accept4(listener_, nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK);
        if (fd < 0) break;
        const int one = 1;
        ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        auto c = std::make_unique<connection>();
        c->fd = fd;
        std::lock_guard lock(mutex_);
        connections_.emplace(fd, std::move(c));
      }
    }
    for (std::size_t i = 2; i < fds.size(); ++i) {
      if (fds[i].revents == 0) continue;
      const int fd = fds[i].fd;
      connection* c = nullptr;
      {
        std::lock_guard lock(mutex_);
        const auto it = connections_.find(fd);
        if (it != connections_.end()) c = it->second.get();
      }
      if (c == nullptr) continue;
      const bool open = pilots::read_some(fd, c->buffer);
      bool bad = false;
      for (const auto& text : pilots::take_lines(c->buffer)) {
        const pilots::json message = pilots::json::parse(text, nullptr, false);
        if (!message.is_object()) {
          bad = true;
          break;
        }
        if (!c->hello) {
          // The first line must be the hello with the run's token: anything else is not
          // a worker of this run.
          if (message.value("hello", std::string()) != token_) {
            bad = true;
            break;
          }
          std::lock_guard lock(mutex_);
          c->hello = true;
          c->job = message.value("job", std::string("?"));
          c->slots = std::max<std::size_t>(1, message.value("slots", std::size_t{1}));
        } else if (message.contains("lost") && message["lost"].is_number_unsigned()) {
          std::shared_ptr<pilot_task> task;
          {
            std::lock_guard lock(mutex_);
            const auto it = c->running.find(message["lost"].get<std::uint64_t>());
            if (it != c->running.end()) {
              task = it->second;
              c->running.erase(it);
            }
          }
          if (task) {
            const std::string why = "on its pilot worker (Slurm job " + c->job + "), " + message.value("why", std::string("?"));
            journal({{"id", task->id}, {"lost", why}});
            if (task->lost) task->lost(why);
          }
        } else if (message.contains("ran") && message["ran"].is_number_unsigned() && message.contains("exit") &&
                   message["exit"].is_number_integer()) {
          std::shared_ptr<pilot_task> task;
          {
            std::lock_guard lock(mutex_);
            const auto it = c->running.find(message["ran"].get<std::uint64_t>());
            if (it != c->running.end()) {
              task = it->second;
              c->running.erase(it);
            }
          }
          if (task) {
            task->exit = message["exit"].get<int>();
            const auto result = message.find("result");
            if (result != message.end() && result->is_string()) task->result = result->get<std::string>();
            journal({{"id", task->id}, {"exit", task->exit}});
            task->stage.store(pilot_task::ran, std::memory_order_release);
          }
        }
      }
      if (bad) {
        drop(fd, "it sent what a worker does not");
      } else if (!open) {
        drop(fd, "its connection closed");
      }
    }
    dispatch();
  }
  // The run is over: every worker is told so.
  std::lock_guard lock(mutex_);
  for (auto& [fd, c] : connections_) {
    if (c->hello) pilots::send_line(fd, R"({"exit":true})");
    ::close(fd);
  }
  connections_.clear();
}

// ---- The worker ----

namespace pilots {

/// A node a runner runs now: where its output goes (its logs, created when it first
/// prints), when it must end.
struct node_run {
  std::uint64_t seq = 0;
  steady::time_point deadline = steady::time_point::max();
  bool timed_out = false;
  std::string stdout_path;
  std::string stderr_path;
  int out_file = -1;
  int err_file = -1;
};

/// A runner: a process forked from the worker that runs nodes one at a time (requests
/// in, one per line; per node one line back, "CODE RESULT"), up to the worker's
/// --nodes-per-process of them, then it is let go (its request pipe closed: it exits).
/// A node that kills it (exit(), a crash, its timeout, a signal) ends with it: its exit
/// status is the node's, and the next node gets a new runner. Its stdout and stderr are
/// pipes the worker reads into the log of the node it runs.
struct runner {
  int request_pipe = -1;  // write end (-1 once it is let go)
  int result_pipe = -1;   // read ends, -1 once at their end
  int out_pipe = -1;
  int err_pipe = -1;
  std::string results;  // what came on result_pipe, not yet a whole line
  std::size_t served = 0;
  std::optional<node_run> current;
};

/// Appends `n` bytes to the log at `path`, created (and its directory) on the first.
LOOM_FUNC void log_bytes(int& file, const std::string& path, const char* bytes, std::size_t n) {
  if (file < 0) {
    if (path.empty()) return;
    const auto directory = std::filesystem::path(path).parent_path();
    file = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC,
                  static_cast<mode_t>(file_mode_in(directory)));
    if (file < 0 && errno == ENOENT) {
      try {
        create_directories_like_parent(directory);
      } catch (const error&) {
        return;  // (as below: the open fails, the log is lost)
      }
      file = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC,
                    static_cast<mode_t>(file_mode_in(directory)));
    }
    if (file < 0) return;  // (a log that cannot be written is lost, not the node)
  }
  while (n > 0) {
    const ssize_t w = ::write(file, bytes, n);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return;
    bytes += w;
    n -= static_cast<std::size_t>(w);
  }
}

/// Reads what `pipe` of `r` holds (to its end when `to_end`, else what is there now):
/// results into r.results, output into the current node's log (none: dropped). The pipe
/// is closed at its end (the runner and what it started closed it) or, when `to_end`
/// and nothing more comes now, anyway (a grandchild may hold it open: the runner is
/// over all the same).
LOOM_FUNC void drain(runner& r, int& pipe, bool to_end) {
  if (pipe < 0) return;
  char chunk[65536];
  while (true) {
    const ssize_t n = ::read(pipe, chunk, sizeof chunk);
    if (n < 0 && errno == EINTR) continue;
    if (n > 0) {
      const auto size = static_cast<std::size_t>(n);
      if (&pipe == &r.result_pipe) {
        r.results.append(chunk, size);
      } else if (r.current) {
        node_run& node = *r.current;
        if (&pipe == &r.out_pipe) log_bytes(node.out_file, node.stdout_path, chunk, size);
        else log_bytes(node.err_file, node.stderr_path, chunk, size);
      }
      continue;
    }
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) && !to_end) return;
    ::close(pipe);
    pipe = -1;
    return;
  }
}

LOOM_FUNC void close_logs(node_run& node) {
  for (int* fd : {&node.out_file, &node.err_file}) {
    if (*fd >= 0) ::close(*fd);
    *fd = -1;
  }
}

LOOM_FUNC void close_runner(runner& r) {
  for (int* fd : {&r.request_pipe, &r.result_pipe, &r.out_pipe, &r.err_pipe}) {
    if (*fd >= 0) ::close(*fd);
    *fd = -1;
  }
  if (r.current) close_logs(*r.current);
}

/// The runner's loop, in the forked process: a request per line on `requests`, a
/// "CODE RESULT" line per node on `results`, until the worker closes `requests`.
[[noreturn]] LOOM_FUNC void serve_nodes(int requests, int results) {
  std::string buffer;
  std::optional<object_store> store;
  char chunk[65536];
  while (true) {
    const auto nl = buffer.find('\n');
    if (nl == std::string::npos) {
      const ssize_t n = ::read(requests, chunk, sizeof chunk);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) break;  // let go, or the worker is gone
      buffer.append(chunk, static_cast<std::size_t>(n));
      continue;
    }
    const json request = json::parse(std::string_view(buffer).substr(0, nl), nullptr, false);
    buffer.erase(0, nl + 1);
    std::string result;
    int code = 2;
    try {
      const auto inputs = request.find("inputs");
      code = run_node_command(request.at("argv").get<std::vector<std::string>>(),
                              inputs != request.end() ? &*inputs : nullptr, &result, store, std::cerr);
    } catch (const std::exception& e) {
      std::cerr << "pilot worker: node process: " << e.what() << '\n';
    }
    // What the node printed is in its pipes before its end is said.
    flush_standard_streams();
    if (!write_all(results, std::to_string(code) + " " + result + "\n")) break;
  }
  std::cout.flush();
  std::cerr.flush();
  ::_exit(0);
}

/// Forks a runner: its pipes' worker ends in `r`. Returns its pid, or -1.
LOOM_FUNC pid_t start_runner(runner& r, const sigset_t& old_mask, const std::vector<int>& close_fds) {
  int request[2] = {-1, -1};
  int result[2] = {-1, -1};
  int out[2] = {-1, -1};
  int err[2] = {-1, -1};
  if (::pipe2(request, O_CLOEXEC) != 0 || ::pipe2(result, O_CLOEXEC | O_NONBLOCK) != 0 ||
      ::pipe2(out, O_CLOEXEC | O_NONBLOCK) != 0 || ::pipe2(err, O_CLOEXEC | O_NONBLOCK) != 0) {
    for (const int fd : {request[0], request[1], result[0], result[1], out[0], out[1], err[0], err[1]}) {
      if (fd >= 0) ::close(fd);
    }
    return -1;
  }
  flush_standard_streams();
  const pid_t pid = ::fork();
  if (pid != 0) {
    for (const int fd : {request[0], result[1], out[1], err[1]}) ::close(fd);
    if (pid < 0) {
      for (const int fd : {request[1], result[0], out[0], err[0]}) ::close(fd);
      return -1;
    }
    r.request_pipe = request[1];
    r.result_pipe = result[0];
    r.out_pipe = out[0];
    r.err_pipe = err[0];
    return pid;
  }
  // The runner.
  std::vector<int> close = close_fds;
  close.insert(close.end(), {request[1], result[0], out[0], err[0]});
  become_forked_child(old_mask, close, out[1], err[1]);
  ::fcntl(result[1], F_SETFL, ::fcntl(result[1], F_GETFL) & ~O_NONBLOCK);
  serve_nodes(request[0], result[1]);
}

}  // namespace pilots

LOOM_FUNC int run_pilot_worker(int argc, char** argv, std::ostream& err) {
  using namespace pilots;
  std::string driver;
  std::string token;
  std::size_t slots = 1;
  std::size_t per_process = 1;  // nodes one runner runs before it is let go
  for (int i = 2; i + 1 < argc; i += 2) {
    const std::string_view flag = argv[i];
    if (flag == "--driver") {
      driver = argv[i + 1];
    } else if (flag == "--token") {
      token = argv[i + 1];
    } else if (flag == "--slots") {
      slots = std::max<std::size_t>(1, std::strtoull(argv[i + 1], nullptr, 10));
    } else if (flag == "--nodes-per-process") {
      per_process = std::max<std::size_t>(1, std::strtoull(argv[i + 1], nullptr, 10));
    }
  }
  const auto colon = driver.rfind(':');
  if (driver.empty() || token.empty() || colon == std::string::npos) {
    err << "worker: expected --driver HOST:PORT --token T [--slots S] [--nodes-per-process K]\n";
    return 2;
  }
  const char* slurm_job = std::getenv("SLURM_JOB_ID");
  const char* array_job = std::getenv("SLURM_ARRAY_JOB_ID");
  const char* array_task = std::getenv("SLURM_ARRAY_TASK_ID");
  const std::string job = array_job != nullptr && array_task != nullptr
                              ? std::string(array_job) + "_" + array_task
                              : (slurm_job != nullptr ? slurm_job : "?");
  // Connect, for up to a minute (the driver listens before it submits us, but a
  // network may be slow to come up); a driver that is gone means there is no work.
  sockaddr_in at{};
  at.sin_family = AF_INET;
  at.sin_port = htons(static_cast<std::uint16_t>(std::strtoul(driver.c_str() + colon + 1, nullptr, 10)));
  if (::inet_pton(AF_INET, driver.substr(0, colon).c_str(), &at.sin_addr) != 1) {
    err << "worker: '" << driver << "' is not IPV4:PORT\n";
    return 2;
  }
  // A refused connection means nothing listens there: the driver is gone (it listens
  // before it submits its workers), so a worker the cluster started late, after its
  // driver died, leaves after 3 refusals (1 s) rather than holding its job for the minute.
  int fd = -1;
  int refused = 0;
  const auto give_up = steady::now() + std::chrono::seconds(60);
  while (true) {
    fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd >= 0 && ::connect(fd, reinterpret_cast<sockaddr*>(&at), sizeof at) == 0) break;
    const int why = errno;
    if (fd >= 0) ::close(fd);
    refused = why == ECONNREFUSED ? refused + 1 : 0;
    if (steady::now() >= give_up || refused >= 3) {
      err << "worker: the driver at " << driver << " does not answer: " << std::strerror(why) << "; exiting\n";
      return 0;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
  }
  const int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  ::setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof one);
  if (!send_line(fd, json{{"hello", token}, {"job", job}, {"slots", slots}}.dump())) {
    err << "worker: the driver closed the connection\n";
    return 0;
  }
  // Runners are seen ending through a signalfd, beside the connection and their
  // pipes, in one poll(). A runner that is gone is seen there, not as SIGPIPE.
  sigset_t old_mask;
  // SIGTERM: the job stopped (scancel, time limit): seen there, not fatal at once.
  const int children_fd = block_into_signalfd({SIGCHLD, SIGTERM}, old_mask);
  ::signal(SIGPIPE, SIG_IGN);
  std::map<pid_t, runner> runners;
  std::string buffer;
  bool driver_gone = false;
  bool told_to_exit = false;
  bool terminating = false;
  // A node's end: what it printed drained into its logs, the driver told; its runner
  // takes another node, or is let go after its last.
  const auto answer = [&](runner& r, int code, std::string result) {
    drain(r, r.out_pipe, false);
    drain(r, r.err_pipe, false);
    node_run& node = *r.current;
    close_logs(node);
    json ran = {{"ran", node.seq}, {"exit", code}};
    if (!result.empty()) ran["result"] = std::move(result);
    if (!send_line(fd, ran.dump(-1, ' ', false, json::error_handler_t::replace))) driver_gone = true;
    r.current.reset();
    if (++r.served >= per_process && r.request_pipe >= 0) {
      ::close(r.request_pipe);
      r.request_pipe = -1;
    }
  };
  // The whole lines a runner sent back ("CODE RESULT"): each the end of its node.
  const auto take_results = [&](runner& r) {
    for (std::size_t nl; r.current && (nl = r.results.find('\n')) != std::string::npos;) {
      const std::string line = r.results.substr(0, nl);
      r.results.erase(0, nl + 1);
      const auto space = line.find(' ');
      answer(r, std::atoi(line.c_str()), space == std::string::npos ? std::string() : line.substr(space + 1));
    }
  };
  while (!driver_gone && !told_to_exit && !terminating) {
    int timeout = -1;
    const auto now = steady::now();
    std::vector<pollfd> fds = {{fd, POLLIN, 0}, {children_fd, POLLIN, 0}};
    std::vector<std::pair<runner*, int*>> pipes;
    for (auto& [pid, r] : runners) {
      if (r.current && r.current->deadline != steady::time_point::max()) {
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(r.current->deadline - now).count();
        timeout = static_cast<int>(std::max<long long>(0, timeout < 0 ? left : std::min<long long>(timeout, left)));
      }
      for (int* p : {&r.result_pipe, &r.out_pipe, &r.err_pipe}) {
        if (*p < 0) continue;
        fds.push_back({*p, POLLIN, 0});
        pipes.emplace_back(&r, p);
      }
    }
    if (::poll(fds.data(), fds.size(), timeout) < 0 && errno != EINTR) break;
    for (std::size_t i = 0; i < pipes.size(); ++i) {
      if (fds[i + 2].revents == 0) continue;
      runner& r = *pipes[i].first;
      drain(r, *pipes[i].second, false);
      if (pipes[i].second == &r.result_pipe) take_results(r);
    }
    if (fds[1].revents != 0) {
      signalfd_siginfo info;
      while (::read(children_fd, &info, sizeof info) > 0) {
        if (info.ssi_signo == SIGTERM) terminating = true;
      }
    }
    // Nodes over their time: their runner killed, status 124 (as timeout(1) says).
    for (auto& [pid, r] : runners) {
      if (r.current && !r.current->timed_out && steady::now() >= r.current->deadline) {
        ::kill(pid, SIGKILL);
        r.current->timed_out = true;
      }
    }
    // Ended runners: a node they finished, else the node they ran ends with them.
    int status = 0;
    for (pid_t pid; (pid = ::waitpid(-1, &status, WNOHANG)) > 0;) {
      const auto it = runners.find(pid);
      if (it == runners.end()) continue;
      runner& r = it->second;
      drain(r, r.result_pipe, true);
      take_results(r);
      if (r.current) {
        drain(r, r.out_pipe, true);
        drain(r, r.err_pipe, true);
        // Stopped from outside (its job cancelled, a kill): not the node's own failure.
        // The driver runs it again elsewhere.
        if (!r.current->timed_out && WIFSIGNALED(status) && (WTERMSIG(status) == SIGTERM || terminating)) {
          const std::string why = "its process was stopped by signal " + std::to_string(WTERMSIG(status));
          if (!send_line(fd, json{{"lost", r.current->seq}, {"why", why}}.dump())) driver_gone = true;
        } else {
          answer(r, r.current->timed_out   ? 124
                    : WIFEXITED(status)   ? WEXITSTATUS(status)
                    : WIFSIGNALED(status) ? 128 + WTERMSIG(status)
                                          : 255,
                 std::string());
        }
      }
      close_runner(r);
      runners.erase(it);
    }
    if (fds[0].revents != 0) {
      if (!read_some(fd, buffer)) driver_gone = true;
      for (auto& text : take_lines(buffer)) {
        const json message = json::parse(text, nullptr, false);
        if (!message.is_object()) continue;
        if (message.value("exit", false)) {
          told_to_exit = true;
          break;
        }
        if (!message.contains("run") || !message["run"].is_number_unsigned() || !message.contains("argv") ||
            !message["argv"].is_array()) {
          continue;
        }
        node_run node;
        node.seq = message["run"].get<std::uint64_t>();
        node.stdout_path = message.value("stdout", std::string());
        node.stderr_path = message.value("stderr", std::string());
        const auto timeout_ms = message.value("timeout_ms", std::uint64_t{0});
        if (timeout_ms > 0) node.deadline = steady::now() + std::chrono::milliseconds(timeout_ms);
        // An idle runner that may take another node, else a new one.
        runner* free = nullptr;
        for (auto& [pid, r] : runners) {
          if (!r.current && r.request_pipe >= 0) {
            free = &r;
            break;
          }
        }
        if (free == nullptr) {
          // It keeps none of the worker's descriptors: not the connection, not the
          // other runners' pipes (a request pipe held open elsewhere would keep a
          // runner that is let go waiting).
          std::vector<int> close_fds = {fd, children_fd};
          for (const auto& [pid, other] : runners) {
            for (const int p : {other.request_pipe, other.result_pipe, other.out_pipe, other.err_pipe}) {
              if (p >= 0) close_fds.push_back(p);
            }
            if (other.current) {
              for (const int p : {other.current->out_file, other.current->err_file}) {
                if (p >= 0) close_fds.push_back(p);
              }
            }
          }
          runner fresh;
          const pid_t pid = start_runner(fresh, old_mask, close_fds);
          if (pid < 0) {
            const std::string why = json{{"error", "the pilot worker could not start a process: " +
                                                       std::string(std::strerror(errno))}}
                                        .dump();
            send_line(fd, json{{"ran", node.seq}, {"exit", 255}, {"result", why}}.dump());
            continue;
          }
          free = &runners.emplace(pid, std::move(fresh)).first->second;
        }
        free->current = std::move(node);
        // (A runner that died meanwhile fails this write: its end, seen through the
        // signalfd, ends the node.)
        text.push_back('\n');
        write_all(free->request_pipe, text);
      }
    }
  }
  // The run is over, its driver gone, or its job stopped: nothing of ours outlives it
  // (nodes cut short are reported by no one: the driver runs them again).
  for (const auto& [pid, r] : runners) ::kill(pid, SIGKILL);
  for (auto& [pid, r] : runners) {
    ::waitpid(pid, nullptr, 0);
    close_runner(r);
  }
  ::close(fd);
  if (driver_gone) err << "worker " << job << ": the driver went away; exiting\n";
  return 0;
}

}  // namespace loom::detail
