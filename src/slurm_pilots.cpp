// src/slurm_pilots.cpp — pilot workers (slurm_pilots.hpp): the driver's pool (a listener
// and one thread that serves every worker with poll()) and the worker's loop (one
// thread: its connection and its children, through poll() and a signalfd).
#include "slurm_pilots.hpp"

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

LOOM_FUNC void set_nonblocking(int fd) { ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK); }

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

/// Writes `{"job": id, "exit": status}` to `path`, renamed into place (whole when seen).
LOOM_FUNC void write_done_record(const std::string& path, const std::string& id, int status) {
  const std::string temporary = path + ".tmp-" + std::to_string(::getpid());
  {
    std::ofstream out(temporary, std::ios::binary | std::ios::trunc);
    out << json{{"job", id}, {"exit", status}}.dump() << '\n';
  }
  std::rename(temporary.c_str(), path.c_str());
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
  pilots::set_nonblocking(listener_);
  endpoint_ = address + ":" + std::to_string(ntohs(at.sin_port));
  if (::pipe2(wake_pipe_, O_CLOEXEC | O_NONBLOCK) != 0) {
    ::close(listener_);
    throw error("pilot workers: cannot make a pipe: " + std::string(std::strerror(errno)));
  }
  std::filesystem::create_directories(settings_.directory);
  // The script: the token is in it, readable by the run's user only.
  const auto script = settings_.directory / "worker.sh";
  {
    std::ofstream out(script, std::ios::binary | std::ios::trunc);
    out << "#!/bin/sh\n# Loom: a pilot worker of the run " << settings_.job_name << ". Written by the driver.\n"
        << "exec " << shell_quoted(settings_.program) << " worker --driver " << endpoint_ << " --token " << token_
        << " --slots " << settings_.slots << "\n";
  }
  std::filesystem::permissions(script, std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
  try {
    submit_workers(settings_.workers);
  } catch (...) {
    ::close(listener_);
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
  ::close(wake_pipe_[0]);
  ::close(wake_pipe_[1]);
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
      task->stage.store(pilot_task::on_worker, std::memory_order_release);
    }
    const pilots::json line = {{"run", task->seq},
                               {"id", task->id},
                               {"argv", task->argv},
                               {"done", task->done_record.string()},
                               {"stdout", task->stdout_log.string()},
                               {"stderr", task->stderr_log.string()},
                               {"timeout_ms", task->timeout_ms}};
    if (!pilots::send_line(worker->fd, line.dump())) {
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
          if (task && task->lost) {
            task->lost("on its pilot worker (Slurm job " + c->job + "), " + message.value("why", std::string("?")));
          }
        } else if (message.contains("ran") && message["ran"].is_number_unsigned()) {
          std::lock_guard lock(mutex_);
          const auto it = c->running.find(message["ran"].get<std::uint64_t>());
          if (it != c->running.end()) {
            it->second->stage.store(pilot_task::ran, std::memory_order_release);
            c->running.erase(it);
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

struct child {
  std::uint64_t seq = 0;
  std::string id;
  std::string done;
  steady::time_point deadline = steady::time_point::max();
  bool timed_out = false;
};

/// Runs one node in a forked child: its output to its logs, its exit code the node
/// process's (run_node_process).
LOOM_FUNC pid_t start_node(const json& request, const sigset_t& old_mask, const std::vector<int>& close_fds) {
  std::vector<std::string> argv = request.at("argv").get<std::vector<std::string>>();
  const std::string out = request.value("stdout", std::string("/dev/null"));
  const std::string err = request.value("stderr", std::string("/dev/null"));
  std::cout.flush();
  std::cerr.flush();
  const pid_t pid = ::fork();
  if (pid != 0) return pid;
  // The child.
  ::sigprocmask(SIG_SETMASK, &old_mask, nullptr);
  for (const int fd : close_fds) ::close(fd);
  const int o = ::open(out.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  const int e = ::open(err.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (o >= 0) ::dup2(o, 1);
  if (e >= 0) ::dup2(e, 2);
  std::vector<char*> args;
  for (auto& a : argv) args.push_back(a.data());
  args.push_back(nullptr);
  int code = 2;
  try {
    code = run_node_process(static_cast<int>(argv.size()), args.data(), std::cerr);
  } catch (...) {
    code = 2;
  }
  std::cout.flush();
  std::cerr.flush();
  ::_exit(code);
}

}  // namespace pilots

LOOM_FUNC int run_pilot_worker(int argc, char** argv, std::ostream& err) {
  using namespace pilots;
  std::string driver;
  std::string token;
  std::size_t slots = 1;
  for (int i = 2; i + 1 < argc; i += 2) {
    const std::string_view flag = argv[i];
    if (flag == "--driver") {
      driver = argv[i + 1];
    } else if (flag == "--token") {
      token = argv[i + 1];
    } else if (flag == "--slots") {
      slots = std::max<std::size_t>(1, std::strtoull(argv[i + 1], nullptr, 10));
    }
  }
  const auto colon = driver.rfind(':');
  if (driver.empty() || token.empty() || colon == std::string::npos) {
    err << "worker: expected --driver HOST:PORT --token T [--slots S]\n";
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
  int fd = -1;
  const auto give_up = steady::now() + std::chrono::seconds(60);
  while (true) {
    fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd >= 0 && ::connect(fd, reinterpret_cast<sockaddr*>(&at), sizeof at) == 0) break;
    if (fd >= 0) ::close(fd);
    if (steady::now() >= give_up) {
      err << "worker: the driver at " << driver << " does not answer: " << std::strerror(errno) << "; exiting\n";
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
  // Children are seen through a signalfd, beside the connection, in one poll().
  sigset_t mask;
  sigset_t old_mask;
  sigemptyset(&mask);
  sigaddset(&mask, SIGCHLD);
  sigaddset(&mask, SIGTERM);  // the job stopped (scancel, time limit): seen here, not fatal at once
  ::sigprocmask(SIG_BLOCK, &mask, &old_mask);
  const int children_fd = ::signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
  std::map<pid_t, child> children;
  std::string buffer;
  bool driver_gone = false;
  bool told_to_exit = false;
  bool terminating = false;
  while (!driver_gone && !told_to_exit && !terminating) {
    int timeout = -1;
    const auto now = steady::now();
    for (const auto& [pid, c] : children) {
      if (c.deadline != steady::time_point::max()) {
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(c.deadline - now).count();
        timeout = static_cast<int>(std::max<long long>(0, timeout < 0 ? left : std::min<long long>(timeout, left)));
      }
    }
    pollfd fds[2] = {{fd, POLLIN, 0}, {children_fd, POLLIN, 0}};
    if (::poll(fds, 2, timeout) < 0 && errno != EINTR) break;
    if (fds[1].revents != 0) {
      signalfd_siginfo info;
      while (::read(children_fd, &info, sizeof info) > 0) {
        if (info.ssi_signo == SIGTERM) terminating = true;
      }
    }
    // Nodes over their time: killed, status 124 (as timeout(1) says).
    for (auto& [pid, c] : children) {
      if (!c.timed_out && steady::now() >= c.deadline) {
        ::kill(pid, SIGKILL);
        c.timed_out = true;
      }
    }
    // Ended children: the done record, then the driver is told.
    int status = 0;
    for (pid_t pid; (pid = ::waitpid(-1, &status, WNOHANG)) > 0;) {
      const auto it = children.find(pid);
      if (it == children.end()) continue;
      // Stopped from outside (its job cancelled, a kill): not the node's own failure.
      // No done record: the driver runs it again elsewhere.
      if (!it->second.timed_out && WIFSIGNALED(status) && (WTERMSIG(status) == SIGTERM || terminating)) {
        const std::string why = "its process was stopped by signal " + std::to_string(WTERMSIG(status));
        if (!send_line(fd, json{{"lost", it->second.seq}, {"why", why}}.dump())) driver_gone = true;
        children.erase(it);
        continue;
      }
      const int code = it->second.timed_out       ? 124
                       : WIFEXITED(status)         ? WEXITSTATUS(status)
                       : WIFSIGNALED(status)       ? 128 + WTERMSIG(status)
                                                   : 255;
      write_done_record(it->second.done, it->second.id, code);
      if (!send_line(fd, json{{"ran", it->second.seq}, {"exit", code}}.dump())) driver_gone = true;
      children.erase(it);
    }
    if (fds[0].revents != 0) {
      if (!read_some(fd, buffer)) driver_gone = true;
      for (const auto& text : take_lines(buffer)) {
        const json message = json::parse(text, nullptr, false);
        if (!message.is_object()) continue;
        if (message.value("exit", false)) {
          told_to_exit = true;
          break;
        }
        if (!message.contains("run") || !message.contains("argv")) continue;
        child c;
        c.seq = message["run"].get<std::uint64_t>();
        c.id = message.value("id", std::string());
        c.done = message.value("done", std::string());
        const auto timeout_ms = message.value("timeout_ms", std::uint64_t{0});
        if (timeout_ms > 0) c.deadline = steady::now() + std::chrono::milliseconds(timeout_ms);
        const pid_t pid = start_node(message, old_mask, {fd, children_fd});
        if (pid < 0) {
          write_done_record(c.done, c.id, 255);
          send_line(fd, json{{"ran", c.seq}, {"exit", 255}}.dump());
          continue;
        }
        children.emplace(pid, std::move(c));
      }
    }
  }
  // The run is over, its driver gone, or its job stopped: nothing of ours outlives it
  // (nodes cut short leave no done record: the driver runs them again).
  for (const auto& [pid, c] : children) ::kill(pid, SIGKILL);
  for (const auto& [pid, c] : children) ::waitpid(pid, nullptr, 0);
  ::close(fd);
  if (driver_gone) err << "worker " << job << ": the driver went away; exiting\n";
  return 0;
}

}  // namespace loom::detail
