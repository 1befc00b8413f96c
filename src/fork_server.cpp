// src/fork_server.cpp — the process backend's fork server (fork_server.hpp): the
// parent's side (start it, run a node through it) and the server's loop.
#include "fork_server.hpp"

#include "child_processes.hpp"

#include <loom/detail/config.hpp>
#include <loom/error.hpp>
#include <loom/object_store.hpp>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <initializer_list>
#include <iostream>
#include <map>
#include <optional>
#include <string_view>
#include <sstream>
#include <thread>
#include <utility>

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

extern "C" {
extern char** environ;  // NOLINT: POSIX
}

namespace loom::detail {

namespace forks {

inline constexpr std::string_view hello = "loom-fork-server 1";
/// Bytes of the server's command line a child rewrites into its node's (`ps` and
/// /proc/PID/cmdline show the node's `PROGRAM exec-node NAME ...`, as for a spawned one).
inline constexpr std::size_t room = 8192;
/// The longest request: a node's command line.
inline constexpr std::size_t max_request = 256 * 1024;

using steady = std::chrono::steady_clock;

/// The server's argument strings, end to end (the kernel lays them out so): the room a
/// child writes its node's command line in. Null when they are not contiguous.
LOOM_FUNC std::pair<char*, std::size_t> argument_room(int argc, char** argv) {
  if (argc <= 0 || argv[0] == nullptr) return {nullptr, 0};
  char* end = argv[0];
  for (int i = 0; i < argc; ++i) {
    if (argv[i] != end) return {nullptr, 0};
    end += std::strlen(argv[i]) + 1;
  }
  return {argv[0], static_cast<std::size_t>(end - argv[0])};
}

/// The child's command line becomes its node's, when it fits.
LOOM_FUNC void retitle(std::pair<char*, std::size_t> area, const std::vector<std::string>& args) {
  std::size_t need = 0;
  for (const auto& a : args) need += a.size() + 1;
  if (area.first == nullptr || need > area.second) return;
  char* at = area.first;
  for (const auto& a : args) {
    std::memcpy(at, a.data(), a.size());
    at += a.size();
    *at++ = '\0';
  }
  std::memset(at, 0, area.second - static_cast<std::size_t>(at - area.first));
}

/// `args` appended to `out` as split_request reads them: each ended by '\0'.
LOOM_FUNC void append_request_args(std::string& out, const std::vector<std::string>& args) {
  for (const auto& a : args) {
    out += a;
    out.push_back('\0');
  }
}

/// "TIMEOUT_MS\0ARG0\0ARG1\0..." → the timeout, and the arguments.
LOOM_FUNC std::vector<std::string> split_request(const char* data, std::size_t size) {
  std::vector<std::string> parts;
  std::size_t start = 0;
  for (std::size_t i = 0; i < size; ++i) {
    if (data[i] != '\0') continue;
    parts.emplace_back(data + start, i - start);
    start = i + 1;
  }
  return parts;
}

/// Sends `bytes` as one message with the descriptors `fds` (SCM_RIGHTS, at most 4);
/// what sendmsg returns.
LOOM_FUNC ssize_t send_with_descriptors(int socket, std::string_view bytes, std::initializer_list<int> fds) {
  iovec data{const_cast<char*>(bytes.data()), bytes.size()};
  alignas(cmsghdr) char control[CMSG_SPACE(4 * sizeof(int))] = {};
  msghdr message{};
  message.msg_iov = &data;
  message.msg_iovlen = 1;
  if (fds.size() > 4) {
    errno = EINVAL;
    return -1;
  }
  if (fds.size() > 0) {
    message.msg_control = control;
    message.msg_controllen = CMSG_SPACE(fds.size() * sizeof(int));
    cmsghdr* passed = CMSG_FIRSTHDR(&message);
    passed->cmsg_level = SOL_SOCKET;
    passed->cmsg_type = SCM_RIGHTS;
    passed->cmsg_len = CMSG_LEN(fds.size() * sizeof(int));
    std::memcpy(CMSG_DATA(passed), std::data(fds), fds.size() * sizeof(int));
  }
  ssize_t sent;
  do {
    sent = ::sendmsg(socket, &message, MSG_NOSIGNAL);
  } while (sent < 0 && errno == EINTR);
  return sent;
}

/// One message received into `buffer`, with the descriptors it carried (close-on-exec).
struct received {
  ssize_t size = -1;  // (0: the socket's end; -1: errno says why)
  std::vector<int> fds;
  bool cut = false;  // the message or its descriptors did not fit
};

LOOM_FUNC received receive_with_descriptors(int socket, std::vector<char>& buffer) {
  alignas(cmsghdr) char control[CMSG_SPACE(4 * sizeof(int))] = {};
  iovec data{buffer.data(), buffer.size()};
  msghdr message{};
  message.msg_iov = &data;
  message.msg_iovlen = 1;
  message.msg_control = control;
  message.msg_controllen = sizeof control;
  received r;
  r.size = ::recvmsg(socket, &message, MSG_CMSG_CLOEXEC);
  if (r.size < 0) return r;
  for (cmsghdr* c = CMSG_FIRSTHDR(&message); c != nullptr; c = CMSG_NXTHDR(&message, c)) {
    if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS) continue;
    const std::size_t count = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
    for (std::size_t i = 0; i < count; ++i) {
      int fd = -1;
      std::memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof fd);
      r.fds.push_back(fd);
    }
  }
  r.cut = (message.msg_flags & (MSG_TRUNC | MSG_CTRUNC)) != 0;
  return r;
}

/// A runner's loop (K nodes per process), in the forked child: a node's command line and
/// output pipe in, the node run as its own process would run it, its exit code out, until
/// the server lets it go (closes `channel`) or is gone. Its output between nodes goes where
/// the server's does.
[[noreturn]] LOOM_FUNC void run_nodes_in_turn(int channel, std::pair<char*, std::size_t> area) {
  const int between_nodes = ::fcntl(2, F_DUPFD_CLOEXEC, 3);
  if (between_nodes < 0) ::_exit(1);  // (out of descriptors: a node it had would fail as exited 1)
  std::optional<object_store> store;  // (opened by the first node, kept for the next)
  std::vector<char> buffer(max_request);
  while (true) {
    received r = receive_with_descriptors(channel, buffer);
    if (r.size < 0 && errno == EINTR) continue;
    if (r.size <= 0 || r.cut || r.fds.size() != 1) {
      for (const int fd : r.fds) ::close(fd);
      break;
    }
    std::vector<std::string> args = split_request(buffer.data(), static_cast<std::size_t>(r.size));
    ::dup2(r.fds[0], 1);
    ::dup2(r.fds[0], 2);
    ::close(r.fds[0]);
    retitle(area, args);
    const int code = run_node_command(std::move(args), nullptr, nullptr, store, std::cerr);
    flush_standard_streams();
    // The node's output pipe is closed here: its reader sees the end of the node's output.
    ::dup2(between_nodes, 1);
    ::dup2(between_nodes, 2);
    const std::string reply = std::to_string(code);
    if (::send(channel, reply.data(), reply.size(), MSG_NOSIGNAL) < 0) {
      // (Its channel is gone: a node closed it, or the server is. Its exit status
      // carries the node's code to the server instead.)
      ::_exit(code);
    }
  }
  // Not exit(): what its nodes left running (threads) would meet the static destructors.
  flush_standard_streams();
  ::_exit(0);
}

}  // namespace forks

// ---- The parent's side ----

LOOM_FUNC std::shared_ptr<fork_server> fork_server::start(const std::string& program, const std::string& argv0,
                                                          std::size_t nodes_per_process,
                                                          std::chrono::milliseconds patience) {
  int sv[2] = {-1, -1};
  if (::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) != 0) return nullptr;
  // Its own output (it prints only when something is wrong with it) goes where the
  // nodes' output goes: to this process's stderr.
  // Bound at its start (LD_BIND_NOW), not in each child: a symbol bound lazily is looked
  // up, and its GOT page copied, again in every child that calls it. The server takes
  // LD_BIND_NOW out of its environment again (its children's) unless it was there.
  std::vector<char*> environment;
  bool bind_now_added = true;
  for (char** e = environ; *e != nullptr; ++e) {
    environment.push_back(*e);
    if (std::string_view(*e).substr(0, 12) == "LD_BIND_NOW=") bind_now_added = false;
  }
  std::string bind_now = "LD_BIND_NOW=1";
  if (bind_now_added) environment.push_back(bind_now.data());
  environment.push_back(nullptr);
  const std::vector<std::string> args = {argv0,
                                         "exec-node",
                                         "--serve",
                                         "3",
                                         bind_now_added ? "1" : "0",
                                         std::to_string(std::max<std::size_t>(1, nodes_per_process)),
                                         std::string(forks::room, ' ')};
  pid_t pid = -1;
  const int rc = spawn_process(program, args, 2, 2, sv[1], pid, false, environment.data());
  ::close(sv[1]);
  if (rc != 0) {
    ::close(sv[0]);
    return nullptr;
  }
  std::shared_ptr<fork_server> server(new fork_server(pid, sv[0]));
  const auto deadline = forks::steady::now() + patience;
  while (true) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - forks::steady::now()).count();
    pollfd p{sv[0], POLLIN, 0};
    const int ready = ::poll(&p, 1, static_cast<int>(std::max<long long>(0, left)));
    if (ready < 0 && errno == EINTR) continue;
    if (ready > 0) {
      char text[64];
      const ssize_t n = ::recv(sv[0], text, sizeof text, 0);
      if (n < 0 && errno == EINTR) continue;
      if (n > 0 && std::string_view(text, static_cast<std::size_t>(n)) == forks::hello) return server;
    }
    break;  // no hello: it ended, said something else, or took too long
  }
  ::kill(pid, SIGKILL);
  return nullptr;  // (reaped by its destructor)
}

LOOM_FUNC fork_server::~fork_server() {
  ::close(socket_);
  std::lock_guard lock(mutex_);
  if (status_) return;
  int status = 0;
  pid_t w;
  do {
    w = ::waitpid(pid_, &status, 0);
  } while (w < 0 && errno == EINTR);
}

LOOM_FUNC std::string fork_server::describe_end() {
  std::lock_guard lock(mutex_);
  // Its descriptors close as it exits, a moment before it can be reaped.
  for (int tries = 0; !status_ && tries < 100; ++tries) {
    int status = 0;
    const pid_t w = ::waitpid(pid_, &status, WNOHANG);
    if (w == pid_) {
      status_ = status;
    } else if (w < 0 && errno != EINTR) {
      break;
    } else {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
  }
  if (!status_) return "stopped answering";
  process_exit end;
  end.known = true;
  end.status = *status_;
  return end.describe();
}

LOOM_FUNC process_exit fork_server::run(const std::vector<std::string>& args, bool forward_output,
                                       std::chrono::milliseconds timeout) {
  int out[2] = {-1, -1};
  int status_pipe[2] = {-1, -1};
  if (::pipe2(out, O_CLOEXEC) != 0 || ::pipe2(status_pipe, O_CLOEXEC) != 0) {
    const std::string why = std::strerror(errno);
    for (const int fd : {out[0], out[1]}) {
      if (fd >= 0) ::close(fd);
    }
    throw error("cannot create a pipe for a node process: " + why);
  }
  std::string request = std::to_string(timeout.count());
  request.push_back('\0');
  forks::append_request_args(request, args);
  const ssize_t sent = forks::send_with_descriptors(socket_, request, {out[1], status_pipe[1]});
  const std::string send_error = sent < 0 ? std::strerror(errno) : "";
  ::close(out[1]);
  ::close(status_pipe[1]);
  if (sent < 0) {
    ::close(out[0]);
    ::close(status_pipe[0]);
    throw fork_server_lost("its process could not be started: the fork server (pid " + std::to_string(pid_) +
                           ") cannot be reached (" + send_error + "); it " + describe_end());
  }

  process_exit result;
  const output_tail output{forward_output, &result.stderr_tail};
  std::string reply;
  int out_fd = out[0];
  while (true) {
    pollfd p[2] = {{status_pipe[0], POLLIN, 0}, {out_fd, POLLIN, 0}};
    if (::poll(p, out_fd >= 0 ? 2 : 1, -1) < 0) {
      if (errno == EINTR) continue;
      break;
    }
    if (out_fd >= 0 && p[1].revents != 0 && !output.read_from(out_fd)) {
      ::close(out_fd);
      out_fd = -1;
    }
    if (p[0].revents != 0) {
      char text[256];
      const ssize_t n = ::read(status_pipe[0], text, sizeof text);
      if (n > 0) {
        reply.append(text, static_cast<std::size_t>(n));
      } else if (n == 0 || (errno != EINTR && errno != EAGAIN)) {
        break;  // the server has said all (or is gone)
      }
    }
  }
  ::close(status_pipe[0]);
  if (out_fd >= 0) {
    // Ended; what it started may hold the pipe open: what is there now is its output.
    output.drain(out_fd);
    ::close(out_fd);
  }
  output.finish();
  std::istringstream lines(reply);
  for (std::string line; std::getline(lines, line);) {
    const auto space = line.find(' ');
    const std::string what = line.substr(0, space);
    const std::string rest = space == std::string::npos ? std::string() : line.substr(space + 1);
    if (what == "pid") {
      result.pid = static_cast<pid_t>(std::strtol(rest.c_str(), nullptr, 10));
    } else if (what == "wait") {
      char* end = nullptr;
      result.status = static_cast<int>(std::strtol(rest.c_str(), &end, 10));
      result.known = true;
      if (std::strtol(end, nullptr, 10) != 0) result.timed_out = timeout;
    } else if (what == "error") {
      throw error("cannot start node process (the fork server, pid " + std::to_string(pid_) + "): " + rest);
    }
  }
  if (!result.known) {
    throw fork_server_lost("its process" + (result.pid > 0 ? " (pid " + std::to_string(result.pid) + ")" : std::string()) +
                           " was lost with the fork server that started it (pid " + std::to_string(pid_) + "), which " +
                           describe_end());
  }
  return result;
}

// ---- The server ----

LOOM_FUNC int serve_forks(int argc, char** argv, std::ostream& err) {
  using forks::steady;
  const int socket = argc >= 4 ? std::atoi(argv[3]) : -1;
  if (socket < 3 || ::fcntl(socket, F_GETFD) < 0) {
    err << (argc > 0 ? argv[0] : "loom") << ": exec-node --serve FD: FD is not an open descriptor\n";
    return 2;
  }
  const auto area = forks::argument_room(argc, argv);
  const pid_t self = ::getpid();
  ::fcntl(socket, F_SETFD, FD_CLOEXEC);
  ::signal(SIGPIPE, SIG_IGN);  // a parent gone is seen as the end of the socket
  sigset_t old_mask;
  int children_fd = -1;
  try {
    children_fd = block_into_signalfd({SIGCHLD}, old_mask);
  } catch (const std::exception& e) {
    err << "fork server: " << e.what() << '\n';
    return 2;
  }
  if (argc >= 5 && std::string_view(argv[4]) == "1") ::unsetenv("LD_BIND_NOW");  // (added for this process)
  // What every child would set up for itself, set up once here.
  prepare_sha256_for_forks();
  if (::send(socket, forks::hello.data(), forks::hello.size(), MSG_NOSIGNAL) < 0) return 0;

  const std::size_t nodes_per_process =
      argc >= 7 ? std::max<std::size_t>(1, std::strtoull(argv[5], nullptr, 10)) : std::size_t{1};

  /// A node being run: where its end is reported, when it must end.
  struct node_run {
    int status_fd = -1;
    steady::time_point deadline = steady::time_point::max();
    bool timed_out = false;
  };
  /// A child: a node's process, or a runner (channel open) running nodes in turn.
  struct child {
    std::optional<node_run> node;
    int channel = -1;  // the runner's socketpair; -1 once it is let go
    std::size_t served = 0;
  };
  std::map<pid_t, child> children;
  const auto report_end = [](child& c, int status, bool timed_out) {
    write_all(c.node->status_fd, "wait " + std::to_string(status) + " " + (timed_out ? "1" : "0") + "\n");
    ::close(c.node->status_fd);
    c.node.reset();
  };
  // A runner's word that its node ended (its exit code); false when none has come. A
  // channel that ended (a node closed the runner's descriptors, or it is dying) is
  // closed: the runner's end (waitpid) says how its node ended.
  const auto take_runner_result = [&](child& c) {
    char text[32];
    const ssize_t n = ::recv(c.channel, text, sizeof text - 1, MSG_DONTWAIT);
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) return false;
    if (n <= 0) {
      ::close(c.channel);
      c.channel = -1;
      return false;
    }
    text[n] = '\0';
    // The status a process exiting with that code has (what waitpid gives for a child
    // per node).
    report_end(c, (std::atoi(text) & 0xff) << 8, false);
    if (++c.served >= nodes_per_process) {
      ::close(c.channel);  // let go: it exits, and is reaped with nothing to report
      c.channel = -1;
    }
    return true;
  };
  // What a new child closes: the server's descriptors, the other nodes' status pipes and
  // runners' channels (a status pipe held there would hide the server's end from the
  // node whose pipe it is).
  const auto server_descriptors = [&](std::initializer_list<int> more) {
    std::vector<int> fds = {socket, children_fd};
    fds.insert(fds.end(), more.begin(), more.end());
    for (const auto& [other, c] : children) {
      if (c.node) fds.push_back(c.node->status_fd);
      if (c.channel >= 0) fds.push_back(c.channel);
    }
    return fds;
  };
  // A new runner (its pid, or -1 with errno); it keeps none of the request's descriptors
  // (`status_fd`, `out`: they reach it with the node, over its channel).
  const auto start_runner = [&](int status_fd, int out) -> pid_t {
    int pair[2] = {-1, -1};
    if (::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, pair) != 0) return -1;
    flush_standard_streams();
    const pid_t pid = ::fork();
    if (pid == 0) {
      ::prctl(PR_SET_PDEATHSIG, SIGKILL);  // (it dies with the server, as a child per node does)
      if (::getppid() != self) ::_exit(1);
      become_forked_child(old_mask, server_descriptors({pair[0], status_fd, out}), -1, -1);
      forks::run_nodes_in_turn(pair[1], area);
    }
    const int saved = errno;
    ::close(pair[1]);
    if (pid < 0) {
      ::close(pair[0]);
      errno = saved;
      return -1;
    }
    children[pid].channel = pair[0];
    return pid;
  };

  std::vector<char> buffer(forks::max_request);
  std::vector<pollfd> fds;
  std::vector<pid_t> polled;  // the runner of fds[2 + i]
  bool open = true;
  while (open) {
    int wait_ms = -1;
    const auto now = steady::now();
    fds.assign({{socket, POLLIN, 0}, {children_fd, POLLIN, 0}});
    polled.clear();
    for (const auto& [pid, c] : children) {
      if (!c.node || c.node->timed_out) continue;
      if (c.channel >= 0) {
        fds.push_back({c.channel, POLLIN, 0});
        polled.push_back(pid);
      }
      if (c.node->deadline == steady::time_point::max()) continue;
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(c.node->deadline - now).count() + 1;
      wait_ms = static_cast<int>(std::max<long long>(0, wait_ms < 0 ? left : std::min<long long>(wait_ms, left)));
    }
    if (::poll(fds.data(), fds.size(), wait_ms) < 0 && errno != EINTR) break;
    for (std::size_t i = 0; i < polled.size(); ++i) {
      if (fds[2 + i].revents == 0) continue;
      const auto it = children.find(polled[i]);
      if (it != children.end() && it->second.node) take_runner_result(it->second);
    }
    if (fds[1].revents != 0) {
      signalfd_siginfo info;
      while (::read(children_fd, &info, sizeof info) > 0) {
      }
    }
    // Over its time: killed (it is ours and not reaped yet, so the pid is its own); a
    // runner with it, as the node's process it is.
    for (auto& [pid, c] : children) {
      if (c.node && !c.node->timed_out && steady::now() >= c.node->deadline) {
        if (c.channel >= 0 && take_runner_result(c)) continue;  // (it ended in time after all)
        ::kill(pid, SIGKILL);
        c.node->timed_out = true;
      }
    }
    int status = 0;
    for (pid_t pid; (pid = ::waitpid(-1, &status, WNOHANG)) > 0;) {
      const auto it = children.find(pid);
      if (it == children.end()) continue;
      child& c = it->second;
      // (A runner may have said its node ended just before it died.)
      if (c.node && c.channel >= 0 && !c.node->timed_out) take_runner_result(c);
      if (c.node) report_end(c, status, c.node->timed_out);
      if (c.channel >= 0) ::close(c.channel);
      children.erase(it);
    }
    if (fds[0].revents == 0) continue;
    forks::received r = forks::receive_with_descriptors(socket, buffer);
    if (r.size < 0 && (errno == EINTR || errno == EAGAIN)) continue;
    if (r.size <= 0) break;  // the run is over, or its process is gone
    std::vector<std::string> args = forks::split_request(buffer.data(), static_cast<std::size_t>(r.size));
    if (r.fds.size() != 2 || args.size() < 2 || r.cut) {
      for (const int fd : r.fds) ::close(fd);
      continue;  // not a request (its sender is left waiting on a pipe that ends: lost)
    }
    const int out = r.fds[0];
    const int status_fd = r.fds[1];
    const auto timeout_ms = std::strtoull(args.front().c_str(), nullptr, 10);
    args.erase(args.begin());
    node_run node{status_fd, steady::time_point::max(), false};
    if (timeout_ms > 0) node.deadline = steady::now() + std::chrono::milliseconds(timeout_ms);

    if (nodes_per_process > 1) {
      std::string request;
      forks::append_request_args(request, args);
      // An idle runner, else a new one; when the idle one's channel fails (it died
      // between two nodes and is not reaped yet), it is let go and a new one is tried.
      pid_t chosen = -1;
      for (const auto& [pid, c] : children) {
        if (c.channel >= 0 && !c.node) {
          chosen = pid;
          break;
        }
      }
      std::string why;
      for (int tries = 0; tries < 2; ++tries) {
        if (chosen < 0) chosen = start_runner(status_fd, out);
        if (chosen < 0) {
          why = std::strerror(errno);
          break;
        }
        child& c = children[chosen];
        if (forks::send_with_descriptors(c.channel, request, {out}) >= 0) break;
        why = std::strerror(errno);
        ::close(c.channel);
        c.channel = -1;
        chosen = -1;
      }
      ::close(out);
      if (chosen < 0) {
        write_all(status_fd, "error fork (a process for nodes in turn): " + why + "\n");
        ::close(status_fd);
        continue;
      }
      write_all(status_fd, "pid " + std::to_string(chosen) + "\n");
      children[chosen].node = node;
      continue;
    }

    flush_standard_streams();
    const pid_t pid = ::fork();
    if (pid == 0) {
      // The node's process: it dies with the server (which dies with the run), and
      // keeps none of the server's descriptors.
      ::prctl(PR_SET_PDEATHSIG, SIGKILL);
      if (::getppid() != self) ::_exit(1);
      become_forked_child(old_mask, server_descriptors({status_fd}), out, out);
      forks::retitle(area, args);
      std::optional<object_store> store;
      const int code = run_node_command(std::move(args), nullptr, nullptr, store, std::cerr);
      flush_standard_streams();
      std::exit(code);  // as `exec-node` returns from main
    }
    ::close(out);
    if (pid < 0) {
      write_all(status_fd, std::string("error fork: ") + std::strerror(errno) + "\n");
      ::close(status_fd);
      continue;
    }
    write_all(status_fd, "pid " + std::to_string(pid) + "\n");
    children[pid].node = node;
  }
  // Nothing of the run outlives it.
  for (auto& [pid, c] : children) {
    ::kill(pid, SIGKILL);
    int status = 0;
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    if (c.node) ::close(c.node->status_fd);
    if (c.channel >= 0) ::close(c.channel);
  }
  ::close(children_fd);
  ::close(socket);
  return 0;
}

}  // namespace loom::detail
