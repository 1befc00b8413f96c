// src/child_processes.cpp — pieces shared by the processes that fork node processes
// (child_processes.hpp).
#include "child_processes.hpp"

#include <loom/detail/config.hpp>
#include <loom/error.hpp>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <iostream>

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/signalfd.h>
#include <unistd.h>

extern "C" {
extern char** environ;  // NOLINT: POSIX
}

namespace loom::detail {

LOOM_FUNC int spawn_process(const std::string& program, const std::vector<std::string>& args, int out, int err,
                            int pass, pid_t& pid, bool search_path, char* const* environment) {
  posix_spawn_file_actions_t actions;
  posix_spawnattr_t attributes;
  ::posix_spawn_file_actions_init(&actions);
  ::posix_spawnattr_init(&attributes);
  ::posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  ::posix_spawn_file_actions_adddup2(&actions, out, 1);
  ::posix_spawn_file_actions_adddup2(&actions, err, 2);
  if (pass >= 0) ::posix_spawn_file_actions_adddup2(&actions, pass, 3);
#if defined(__GLIBC__) && defined(__GLIBC_PREREQ)
#if __GLIBC_PREREQ(2, 34)
  // Descriptors this process opened without O_CLOEXEC are not the child's business.
  ::posix_spawn_file_actions_addclosefrom_np(&actions, pass >= 0 ? 4 : 3);
#endif
#endif
  sigset_t none;
  sigemptyset(&none);
  sigset_t defaults;
  sigemptyset(&defaults);
  sigaddset(&defaults, SIGPIPE);
  sigaddset(&defaults, SIGINT);
  sigaddset(&defaults, SIGTERM);
  ::posix_spawnattr_setsigmask(&attributes, &none);
  ::posix_spawnattr_setsigdefault(&attributes, &defaults);
  ::posix_spawnattr_setflags(&attributes, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
  std::vector<char*> argv;
  argv.reserve(args.size() + 1);
  for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  char* const* env = environment != nullptr ? environment : environ;
  const int rc = search_path ? ::posix_spawnp(&pid, program.c_str(), &actions, &attributes, argv.data(), env)
                             : ::posix_spawn(&pid, program.c_str(), &actions, &attributes, argv.data(), env);
  ::posix_spawn_file_actions_destroy(&actions);
  ::posix_spawnattr_destroy(&attributes);
  return rc;
}

LOOM_FUNC void set_nonblocking(int fd) { ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK); }

LOOM_FUNC void flush_standard_streams() {
  std::cout.flush();
  std::cerr.flush();
  std::fflush(nullptr);
}

LOOM_FUNC int block_into_signalfd(std::initializer_list<int> signals, sigset_t& old_mask) {
  sigset_t mask;
  sigemptyset(&mask);
  for (const int sig : signals) sigaddset(&mask, sig);
  ::sigprocmask(SIG_BLOCK, &mask, &old_mask);
  const int fd = ::signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
  if (fd < 0) {
    const std::string why = std::strerror(errno);
    ::sigprocmask(SIG_SETMASK, &old_mask, nullptr);
    throw error("cannot watch child processes (signalfd): " + why);
  }
  return fd;
}

LOOM_FUNC void become_forked_child(const sigset_t& mask, const std::vector<int>& close_fds, int out, int err) {
  ::sigprocmask(SIG_SETMASK, &mask, nullptr);
  ::signal(SIGPIPE, SIG_DFL);
  for (const int fd : close_fds) {
    if (fd >= 0) ::close(fd);
  }
  if (out < 0) return;  // (stdout and stderr kept as they are)
  ::dup2(out, 1);
  ::dup2(err, 2);
  ::fcntl(1, F_SETFL, ::fcntl(1, F_GETFL) & ~O_NONBLOCK);
  ::fcntl(2, F_SETFL, ::fcntl(2, F_GETFL) & ~O_NONBLOCK);
  if (out > 2) ::close(out);
  if (err > 2 && err != out) ::close(err);
}

LOOM_FUNC int run_node_command(std::vector<std::string> argv, const json* given_inputs, std::string* result,
                               std::optional<object_store>& store, std::ostream& err) {
  try {
    std::vector<char*> args;
    args.reserve(argv.size() + 1);
    for (auto& a : argv) args.push_back(a.data());
    args.push_back(nullptr);
    node_request r = node_request::parse(static_cast<int>(argv.size()), args.data());
    r.given_inputs = given_inputs;
    r.result = result;
    if (!store || store->root() != r.store_root) store.emplace(r.store_root);
    return run_node_request(r, *store, err);
  } catch (const std::exception& e) {
    err << (argv.empty() ? std::string("exec-node") : argv[0]) << ": " << e.what() << '\n';
  } catch (...) {
  }
  return 2;
}

LOOM_FUNC void output_tail::take(const char* data, std::size_t n) const {
  if (forward) {
    std::size_t done = 0;
    while (done < n) {
      const auto w = ::write(2, data + done, n - done);
      if (w < 0 && errno == EINTR) continue;
      if (w <= 0) break;
      done += static_cast<std::size_t>(w);
    }
  }
  tail->append(data, n);
  if (tail->size() > 2 * keep) tail->erase(0, tail->size() - keep);
}

LOOM_FUNC bool output_tail::read_from(int fd) const {
  char buffer[4096];
  const auto n = ::read(fd, buffer, sizeof buffer);
  if (n > 0) {
    take(buffer, static_cast<std::size_t>(n));
    return true;
  }
  return n < 0 && (errno == EINTR || errno == EAGAIN);
}

LOOM_FUNC void output_tail::drain(int fd) const {
  ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK);
  char buffer[4096];
  for (std::size_t drained = 0; drained < (std::size_t{1} << 20);) {
    const auto n = ::read(fd, buffer, sizeof buffer);
    if (n <= 0) break;
    take(buffer, static_cast<std::size_t>(n));
    drained += static_cast<std::size_t>(n);
  }
}

LOOM_FUNC void output_tail::finish() const {
  if (tail->size() > keep) tail->erase(0, tail->size() - keep);
}

}  // namespace loom::detail
