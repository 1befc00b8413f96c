// src/slurm_client.cpp — the Slurm commands: see slurm_client.hpp.
#include "slurm_client.hpp"

#include "child_processes.hpp"

#include <loom/detail/config.hpp>
#include <loom/error.hpp>

#include <array>
#include <cctype>
#include <cerrno>
#include <csignal>
#include <cstdint>
#include <cstring>
#include <sstream>
#include <string_view>
#include <utility>

#include <fcntl.h>
#include <poll.h>
#include <sys/wait.h>
#include <unistd.h>

extern "C" {
extern char** environ;  // NOLINT: POSIX
}

namespace loom::detail {

namespace {

/// How long a Slurm command may take before it counts as "no answer" (the controller's
/// own message timeout is 10 s by default; a busy one answers within it).
constexpr std::chrono::milliseconds command_timeout{std::chrono::seconds(30)};

/// Text kept of a command's output at most (squeue of a large run: 40 bytes a job).
constexpr std::size_t output_limit = std::size_t{64} << 20;

std::string first_lines(const std::string& text, std::size_t max_lines = 3) {
  std::string out;
  std::size_t start = 0;
  for (std::size_t n = 0; n < max_lines && start < text.size(); ++n) {
    auto end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    if (end > start) {
      if (!out.empty()) out += " / ";
      out.append(text, start, std::min<std::size_t>(end - start, 300));
    }
    start = end + 1;
  }
  return out;
}

/// An error of sbatch that means the controller did not take the request in (ask
/// again), not that it refused it.
bool transient(const std::string& err) {
  for (const char* word : {"Unable to contact", "timed out", "Timed out", "temporarily", "Socket", "onnection",
                           "Transport endpoint", "Zero Bytes were transmitted", "Resource temporarily"}) {
    if (err.find(word) != std::string::npos) return true;
  }
  return false;
}

}  // namespace

LOOM_FUNC std::string shell_quoted(const std::string& text) {
  std::string out = "'";
  for (const char c : text) {
    if (c == '\'') {
      out += "'\\''";
    } else {
      out += c;
    }
  }
  return out + "'";
}

LOOM_FUNC std::string slurm_stop_notice(const std::string& log) {
  const auto at = log.rfind(" CANCELLED AT ");
  if (at == std::string::npos) return {};
  const auto line = log.rfind('\n', at);
  if (log.find("*** JOB ", line == std::string::npos ? 0 : line + 1) > at) return {};
  const auto end = log.find('\n', at);
  return log.substr(at + 1, end == std::string::npos ? std::string::npos : end - at - 1);
}

LOOM_FUNC bool command_output::ok() const { return started && !timed_out && WIFEXITED(status) && WEXITSTATUS(status) == 0; }

LOOM_FUNC std::string command_output::describe() const {
  std::string how;
  if (!started) return "could not be started: " + err;
  if (timed_out) {
    how = "did not answer within " + (timeout.count() % 1000 == 0 ? std::to_string(timeout.count() / 1000) + " s"
                                                                   : std::to_string(timeout.count()) + " ms");
  } else if (WIFEXITED(status)) {
    how = "exited with status " + std::to_string(WEXITSTATUS(status));
  } else if (WIFSIGNALED(status)) {
    how = "was killed by signal " + std::to_string(WTERMSIG(status));
  } else {
    how = "ended with wait status " + std::to_string(status);
  }
  const std::string said = first_lines(err.empty() ? out : err);
  return said.empty() ? how : how + ": " + said;
}

LOOM_FUNC command_output run_command(const std::string& program, const std::vector<std::string>& args,
                                     std::chrono::milliseconds timeout, const std::vector<std::string>& environment) {
  command_output result;
  int out_pipe[2];
  int err_pipe[2];
  if (::pipe2(out_pipe, O_CLOEXEC) != 0) {
    result.err = std::strerror(errno);
    return result;
  }
  if (::pipe2(err_pipe, O_CLOEXEC) != 0) {
    result.err = std::strerror(errno);
    ::close(out_pipe[0]);
    ::close(out_pipe[1]);
    return result;
  }
  std::vector<std::string> argv = {program};
  argv.insert(argv.end(), args.begin(), args.end());
  pid_t pid = -1;
  // This process's environment, then `environment` (a later entry wins for getenv).
  std::vector<std::string> entries;
  std::vector<char*> envp;
  if (!environment.empty()) {
    for (char** e = environ; *e != nullptr; ++e) entries.emplace_back(*e);
    entries.insert(entries.end(), environment.begin(), environment.end());
    for (auto& e : entries) envp.push_back(e.data());
    envp.push_back(nullptr);
  }
  const int rc = spawn_process(program, argv, out_pipe[1], err_pipe[1], -1, pid, /*search_path=*/true,
                               envp.empty() ? nullptr : envp.data());
  ::close(out_pipe[1]);
  ::close(err_pipe[1]);
  if (rc != 0) {
    ::close(out_pipe[0]);
    ::close(err_pipe[0]);
    result.err = program + ": " + std::strerror(rc);
    return result;
  }
  result.started = true;
  result.timeout = timeout;
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  std::array<pollfd, 2> fds{pollfd{out_pipe[0], POLLIN, 0}, pollfd{err_pipe[0], POLLIN, 0}};
  std::array<std::string*, 2> sinks{&result.out, &result.err};
  int open_count = 2;
  char buffer[8192];
  while (open_count > 0) {
    // (Rounded up: a command is never killed before its time.)
    const auto left = std::chrono::ceil<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      ::kill(pid, SIGKILL);  // not reaped yet: still ours
      result.timed_out = true;
      break;
    }
    const int ready = ::poll(fds.data(), fds.size(), static_cast<int>(std::min<std::int64_t>(left.count(), 1000)));
    if (ready < 0) {
      if (errno == EINTR) continue;
      break;
    }
    for (std::size_t k = 0; k < fds.size(); ++k) {
      if (fds[k].fd < 0 || (fds[k].revents & (POLLIN | POLLHUP | POLLERR)) == 0) continue;
      const auto n = ::read(fds[k].fd, buffer, sizeof buffer);
      if (n > 0) {
        if (sinks[k]->size() < output_limit) {
          sinks[k]->append(buffer, static_cast<std::size_t>(n));
        } else {
          result.truncated = true;
        }
      } else if (n == 0 || (errno != EINTR && errno != EAGAIN)) {
        ::close(fds[k].fd);
        fds[k].fd = -1;
        --open_count;
      }
    }
  }
  for (auto& p : fds) {
    if (p.fd >= 0) ::close(p.fd);
  }
  int status = 0;
  pid_t w;
  do {
    w = ::waitpid(pid, &status, 0);
  } while (w < 0 && errno == EINTR);
  result.status = status;
  return result;
}

LOOM_FUNC command_output slurm_client::call(const std::string& program, const std::vector<std::string>& args,
                                            const std::vector<std::string>& environment) {
  calls_.fetch_add(1, std::memory_order_relaxed);
  return run_command(program, args, command_timeout, environment);
}

LOOM_FUNC std::string slurm_client::submit(const std::vector<std::string>& arguments, const std::string& script) {
  std::vector<std::string> args = arguments;
  args.push_back(script);
  const command_output r = call(options_.sbatch, args);
  if (r.ok()) {
    // --parsable: "ID" or "ID;CLUSTER"
    std::string id = r.out.substr(0, r.out.find_first_of(";\n"));
    while (!id.empty() && (id.back() == '\r' || id.back() == ' ')) id.pop_back();
    if (!id.empty() && id.find_first_not_of("0123456789_") == std::string::npos) return id;
    throw error("sbatch answered '" + first_lines(r.out) + "', not a job id");
  }
  if (r.started && !r.timed_out && WIFEXITED(r.status) && !transient(r.err)) {
    throw submission_refused("sbatch refused the job: " + first_lines(r.err.empty() ? r.out : r.err));
  }
  throw error("sbatch " + r.describe());
}

LOOM_FUNC std::optional<std::vector<queued_job>> slurm_client::queue(const std::string& name) {
  if (!list_too_long_.load(std::memory_order_relaxed)) {
    // SLURM_BITSTR_LEN=0: a pending array's ids whole. By default Slurm cuts the list at
    // 64 characters ("3,5,7,...,79,...%1"), and Loom's arrays are sparse when a resume
    // reused some chunks.
    const command_output listed = call(options_.scontrol, {"--oneliner", "show", "job"}, {"SLURM_BITSTR_LEN=0"});
    if (!listed.ok()) return std::nullopt;
    bool unreadable = false;
    if (!listed.truncated) {
      auto jobs = parse_jobs(listed.out, name, &unreadable);
      if (!unreadable) return jobs;
    } else {
      // Too many jobs for one look (over 64 MiB of text): squeue from now on, rather
      // than both each time.
      list_too_long_.store(true, std::memory_order_relaxed);
    }
  }
  // --array: one line per element of a job array ("12_3"), pending ones too.
  const command_output r =
      call(options_.squeue, {"--noheader", "--array", "--name=" + name, "--format=%i|%T|%r|%k"});
  if (!r.ok() || r.truncated) return std::nullopt;
  return parse_queue(r.out);
}

namespace {

/// The value of `key` ("JobState=") in one job's text of scontrol: the key must start a
/// word. A value ends at the end of its word, or with `spaces` (free text: a job's name,
/// its comment) at the next word that reads as another key ("StdErr=...").
std::string scontrol_field(std::string_view text, std::string_view key, bool spaces = false) {
  std::size_t at = 0;
  while ((at = text.find(key, at)) != std::string_view::npos) {
    if (at == 0 || text[at - 1] == ' ' || text[at - 1] == '\n') break;
    at += key.size();
  }
  if (at == std::string_view::npos) return {};
  const auto start = at + key.size();
  auto end = text.find_first_of(spaces ? "\n" : " \n", start);
  if (end == std::string_view::npos) end = text.size();
  if (spaces) {
    // The next " Key=" (letters first, then letters, digits, '/', ':', '_') ends it.
    for (auto space = text.find(' ', start); space != std::string_view::npos && space < end;
         space = text.find(' ', space + 1)) {
      std::size_t k = space + 1;
      if (k >= end || std::isalpha(static_cast<unsigned char>(text[k])) == 0) continue;
      while (k < end && (std::isalnum(static_cast<unsigned char>(text[k])) != 0 || text[k] == '/' ||
                         text[k] == ':' || text[k] == '_')) {
        ++k;
      }
      if (k < end && text[k] == '=') {
        end = space;
        break;
      }
    }
    while (end > start && (text[end - 1] == ' ' || text[end - 1] == '\r')) --end;
  }
  return std::string(text.substr(start, end - start));
}

/// An array's task ids as scontrol prints them ("3", "2-40%2", "1,3,5-7", "0-15:4"),
/// each passed to `each`; false (and none passed) when they do not read as such, or
/// would be more than any cluster allows (MaxArraySize is at most 4,000,001).
template <class Each>
bool for_each_array_index(std::string_view ids, Each&& each) {
  constexpr std::uint64_t most = 4'000'001;
  if (const auto percent = ids.find('%'); percent != std::string_view::npos) ids = ids.substr(0, percent);
  struct range {
    std::uint64_t first, last, step;
  };
  std::vector<range> ranges;
  std::uint64_t total = 0;
  auto number = [](std::string_view digits, std::uint64_t& out) {
    if (digits.empty() || digits.size() > 9) return false;
    out = 0;
    for (const char c : digits) {
      if (c < '0' || c > '9') return false;
      out = out * 10 + static_cast<std::uint64_t>(c - '0');
    }
    return true;
  };
  while (!ids.empty()) {
    const auto comma = ids.find(',');
    std::string_view part = ids.substr(0, comma);
    ids = comma == std::string_view::npos ? std::string_view() : ids.substr(comma + 1);
    range r{0, 0, 1};
    if (const auto colon = part.find(':'); colon != std::string_view::npos) {
      if (!number(part.substr(colon + 1), r.step) || r.step == 0) return false;
      part = part.substr(0, colon);
    }
    const auto dash = part.find('-');
    if (!number(part.substr(0, dash), r.first)) return false;
    r.last = r.first;
    if (dash != std::string_view::npos && !number(part.substr(dash + 1), r.last)) return false;
    if (r.last < r.first || r.first >= most || r.last >= most) return false;
    total += (r.last - r.first) / r.step + 1;
    if (total > most) return false;
    ranges.push_back(r);
  }
  for (const range& r : ranges) {
    for (std::uint64_t k = r.first; k <= r.last; k += r.step) each(k);
  }
  return !ranges.empty();
}

}  // namespace

LOOM_FUNC bool slurm_client::has_ended(const std::string& state) {
  // The base states of a job that ended; a job still completing, configuring, resizing,
  // requeued or signalled is shown by that flag's name instead (job_state_string).
  for (const char* ended : {"COMPLETED", "CANCELLED", "FAILED", "TIMEOUT", "NODE_FAIL", "PREEMPTED", "BOOT_FAIL",
                            "DEADLINE", "OUT_OF_MEMORY", "REVOKED", "SPECIAL_EXIT"}) {
    if (state == ended) return true;
  }
  return false;
}

LOOM_FUNC std::vector<queued_job> slurm_client::parse_jobs(const std::string& text, const std::string& name,
                                                          bool* unreadable) {
  std::vector<queued_job> jobs;
  std::string_view rest = text;
  while (!rest.empty()) {
    const auto newline = rest.find('\n');
    const std::string_view line = rest.substr(0, newline);
    rest = newline == std::string_view::npos ? std::string_view() : rest.substr(newline + 1);
    // (Cheap test first: most of a cluster's jobs are other users'.)
    if (line.find(name) == std::string_view::npos || scontrol_field(line, "JobName=", true) != name) continue;
    queued_job job;
    job.state = scontrol_field(line, "JobState=");
    if (job.state.empty() || has_ended(job.state)) continue;
    job.reason = scontrol_field(line, "Reason=");
    job.comment = scontrol_field(line, "Comment=", true);
    const std::string array = scontrol_field(line, "ArrayJobId=");
    const std::string tasks = scontrol_field(line, "ArrayTaskId=");
    if (!array.empty() && !tasks.empty()) {
      const bool listed = for_each_array_index(tasks, [&](std::uint64_t k) {
        queued_job element = job;
        element.id = array + "_" + std::to_string(k);
        jobs.push_back(std::move(element));
      });
      if (listed) continue;
      if (unreadable != nullptr) *unreadable = true;
    }
    job.id = scontrol_field(line, "JobId=");
    if (!job.id.empty()) jobs.push_back(std::move(job));
  }
  return jobs;
}

LOOM_FUNC std::vector<queued_job> slurm_client::parse_queue(const std::string& text) {
  std::vector<queued_job> jobs;
  std::istringstream lines(text);
  std::string line;
  while (std::getline(lines, line)) {
    if (line.empty()) continue;
    queued_job j;
    std::size_t at = 0;
    std::array<std::string*, 4> fields{&j.id, &j.state, &j.reason, &j.comment};
    for (std::size_t k = 0; k < fields.size(); ++k) {
      const auto bar = k + 1 < fields.size() ? line.find('|', at) : std::string::npos;
      *fields[k] = line.substr(at, bar == std::string::npos ? std::string::npos : bar - at);
      if (bar == std::string::npos) break;
      at = bar + 1;
    }
    while (!j.comment.empty() && (j.comment.back() == ' ' || j.comment.back() == '\r')) j.comment.pop_back();
    if (!j.id.empty()) jobs.push_back(std::move(j));
  }
  return jobs;
}

LOOM_FUNC std::optional<std::size_t> slurm_client::max_array_size() {
  const command_output r = call(options_.scontrol, {"show", "config"});
  if (!r.ok()) return std::nullopt;
  std::istringstream lines(r.out);
  std::string line;
  while (std::getline(lines, line)) {
    if (line.rfind("MaxArraySize", 0) != 0) continue;
    const auto eq = line.find('=');
    if (eq == std::string::npos) return std::nullopt;
    try {
      return static_cast<std::size_t>(std::stoull(line.substr(eq + 1)));
    } catch (const std::exception&) {
      return std::nullopt;
    }
  }
  return std::nullopt;
}

LOOM_FUNC std::optional<job_description> slurm_client::describe(const std::string& id) {
  const command_output r = call(options_.scontrol, {"show", "job", "--oneliner", id});
  if (r.ok()) return parse_description(r.out);
  if (r.started && !r.timed_out && r.err.find("Invalid job id") != std::string::npos) return job_description{};
  return std::nullopt;
}

LOOM_FUNC job_description slurm_client::parse_description(const std::string& line) {
  job_description d;
  d.state = scontrol_field(line, "JobState=");
  d.known = !d.state.empty();
  d.reason = scontrol_field(line, "Reason=");
  d.exit_code = scontrol_field(line, "ExitCode=");
  d.node_list = scontrol_field(line, "NodeList=");
  return d;
}

LOOM_FUNC bool slurm_client::cancel(const std::vector<std::string>& ids) {
  if (ids.empty()) return true;
  return call(options_.scancel, ids).ok();
}

}  // namespace loom::detail
