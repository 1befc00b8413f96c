// The Slurm client's parts that need no cluster (src/slurm_client.hpp): how it reads
// `scontrol show job --oneliner` and squeue's `%i|%T|%r|%k` lines, and run_command, which
// every call to the controller goes through (its output, its exit status, its timeout).
#include "../src/slurm_client.hpp"

#include <catch2/catch.hpp>

#include <chrono>
#include <csignal>
#include <string>
#include <vector>

#include <sys/wait.h>
#include <unistd.h>

namespace {

using loom::detail::command_output;
using loom::detail::job_description;
using loom::detail::queued_job;
using loom::detail::run_command;
using loom::detail::slurm_client;
using namespace std::chrono_literals;

// A finished job's line of `scontrol show job --oneliner`; the FAILED and CANCELLED
// ones below differ where docs/slurm-backend.md saw them differ: JobState, Reason and
// ExitCode.
const std::string completed_job =
    "JobId=4 JobName=loom:ex-1 UserId=root(0) GroupId=root(0) MCS_label=N/A Priority=4294901756 Nice=0 "
    "Account=(null) QOS=(null) JobState=COMPLETED Reason=None Dependency=(null) Requeue=1 Restarts=0 BatchFlag=1 "
    "Reboot=0 ExitCode=0:0 RunTime=00:00:03 TimeLimit=UNLIMITED NodeList=localhost BatchHost=localhost "
    "Comment=n0/dn4#0.1  StdErr=/dev/null";

}  // namespace

TEST_CASE("scontrol: a completed job's state, reason, exit code and nodes", "[slurm client]") {
  const job_description d = slurm_client::parse_description(completed_job);
  CHECK(d.known);
  CHECK(d.state == "COMPLETED");
  CHECK(d.reason == "None");
  CHECK(d.exit_code == "0:0");
  CHECK(d.node_list == "localhost");
}

TEST_CASE("scontrol: failed and cancelled jobs", "[slurm client]") {
  const job_description failed = slurm_client::parse_description(
      "JobId=7 JobName=loom:ex-1 UserId=root(0) GroupId=root(0) Priority=4294901753 Nice=0 Account=(null) "
      "QOS=(null) JobState=FAILED Reason=NonZeroExitCode Dependency=(null) Requeue=1 Restarts=0 BatchFlag=1 "
      "Reboot=0 ExitCode=3:0 RunTime=00:00:01 TimeLimit=UNLIMITED NodeList=localhost BatchHost=localhost "
      "Comment=n2/dn1#0.1 StdErr=/dev/null");
  CHECK(failed.known);
  CHECK(failed.state == "FAILED");
  CHECK(failed.reason == "NonZeroExitCode");
  CHECK(failed.exit_code == "3:0");

  const job_description cancelled = slurm_client::parse_description(
      "JobId=9 JobName=loom:ex-2 UserId=root(0) GroupId=root(0) Priority=4294901751 Nice=0 Account=(null) "
      "QOS=(null) JobState=CANCELLED Reason=None Dependency=(null) Requeue=1 Restarts=0 BatchFlag=1 Reboot=0 "
      "ExitCode=0:15 RunTime=00:00:02 TimeLimit=UNLIMITED NodeList=localhost BatchHost=localhost "
      "Comment=n3/dn1#0.1 StdErr=/dev/null\n");
  CHECK(cancelled.known);
  CHECK(cancelled.state == "CANCELLED");
  CHECK(cancelled.exit_code == "0:15");
  CHECK(cancelled.node_list == "localhost");  // not "localhost\n" nor the rest of the line
}

TEST_CASE("scontrol: nothing to read is an unknown job", "[slurm client]") {
  CHECK_FALSE(slurm_client::parse_description("").known);
  CHECK_FALSE(slurm_client::parse_description("\n").known);
  CHECK_FALSE(slurm_client::parse_description("slurm_load_jobs error: Invalid job id specified\n").known);
  const job_description d = slurm_client::parse_description("JobId=4 JobName=loom:ex-1\n");
  CHECK_FALSE(d.known);
  CHECK(d.state.empty());
  CHECK(d.exit_code.empty());
}

TEST_CASE("scontrol: a key that ends another key, or sits in a value, is not read for it", "[slurm client]") {
  // Keys that end with the ones read come first (scontrol prints ReqNodeList, ExcNodeList
  // and DerivedExitCode; BatchFlag and TimeLimit end with shorter words too), and a job
  // name holds "key=" text after a character that is not a space.
  const job_description d = slurm_client::parse_description(
      "JobId=5 JobName=loom:NodeList=bad,JobState=bad OldJobState=RUNNING BatchFlag=1 TimeLimit=00:05:00 "
      "ReqNodeList=(null) ExcNodeList=node9 SchedNodeList=node8 DerivedExitCode=1:0 StateReason=Priority "
      "JobState=TIMEOUT Reason=TimeLimit ExitCode=0:1 NodeList=node[1-2]");
  CHECK(d.known);
  CHECK(d.state == "TIMEOUT");
  CHECK(d.reason == "TimeLimit");
  CHECK(d.exit_code == "0:1");
  CHECK(d.node_list == "node[1-2]");
}

TEST_CASE("scontrol: the multi-line form (without --oneliner) reads the same", "[slurm client]") {
  const job_description d = slurm_client::parse_description(
      "JobId=7 JobName=loom:ex-1\n"
      "   UserId=root(0) GroupId=root(0) MCS_label=N/A\n"
      "   JobState=OUT_OF_MEMORY Reason=OutOfMemory Dependency=(null)\n"
      "   Requeue=1 Restarts=0 BatchFlag=1 Reboot=0 ExitCode=0:125\n"
      "   NodeList=localhost\n");
  CHECK(d.state == "OUT_OF_MEMORY");
  CHECK(d.reason == "OutOfMemory");
  CHECK(d.exit_code == "0:125");
  CHECK(d.node_list == "localhost");
}

TEST_CASE("squeue: one job a line, id|state|reason|comment", "[slurm client]") {
  const std::vector<queued_job> jobs = slurm_client::parse_queue(
      "12|RUNNING|None|n0/dn1#0.1\n"
      "13|PENDING|Resources|n1/dn2#0.1   \n"  // trailing spaces: not part of the comment
      "14|PENDING|Priority|\n"                // an empty comment
      "15|COMPLETING|None|n3/dn1#0.1\r\n"
      "16|RUNNING|None|a|b\n"                 // the comment is the rest of the line
      "\n"
      "17|RUNNING\n");                         // fields missing: empty
  REQUIRE(jobs.size() == 6);
  CHECK(jobs[0].id == "12");
  CHECK(jobs[0].state == "RUNNING");
  CHECK(jobs[0].reason == "None");
  CHECK(jobs[0].comment == "n0/dn1#0.1");
  CHECK(jobs[1].id == "13");
  CHECK(jobs[1].state == "PENDING");
  CHECK(jobs[1].reason == "Resources");
  CHECK(jobs[1].comment == "n1/dn2#0.1");
  CHECK(jobs[2].id == "14");
  CHECK(jobs[2].reason == "Priority");
  CHECK(jobs[2].comment.empty());
  CHECK(jobs[3].state == "COMPLETING");
  CHECK(jobs[3].comment == "n3/dn1#0.1");
  CHECK(jobs[4].id == "16");
  CHECK(jobs[4].comment == "a|b");
  CHECK(jobs[5].id == "17");
  CHECK(jobs[5].state == "RUNNING");
  CHECK(jobs[5].reason.empty());
  CHECK(jobs[5].comment.empty());
}

TEST_CASE("squeue: no line, no job", "[slurm client]") {
  CHECK(slurm_client::parse_queue("").empty());
  CHECK(slurm_client::parse_queue("\n\n").empty());
  CHECK(slurm_client::parse_queue("|RUNNING|None|n0/dn1#0.1\n").empty());  // no id
  const auto last_without_newline = slurm_client::parse_queue("21|PENDING|Priority|n5/dn1#0.1");
  REQUIRE(last_without_newline.size() == 1);
  CHECK(last_without_newline[0].comment == "n5/dn1#0.1");
}

namespace {

/// A line of `scontrol --oneliner show job` as Slurm 22.05 prints it (the fields Loom
/// does not read shortened), with these fields.
std::string job_line(const std::string& ids, const std::string& name, const std::string& state,
                     const std::string& comment) {
  return ids + " JobName=" + name + " UserId=root(0) GroupId=root(0) MCS_label=N/A Priority=4294901758 Nice=0 " +
         "Account=(null) QOS=(null) JobState=" + state + " Reason=Priority Dependency=(null) Requeue=1 Restarts=0 " +
         "BatchFlag=1 ExitCode=0:0 NodeList= NumNodes=1 Command=/tmp/s.sh WorkDir=/tmp Comment=" + comment +
         "  StdErr=/dev/null StdIn=/dev/null StdOut=/dev/null Power= \n";
}

std::vector<std::string> ids_of(const std::vector<queued_job>& jobs) {
  std::vector<std::string> ids;
  for (const auto& j : jobs) ids.push_back(j.id);
  return ids;
}

}  // namespace

TEST_CASE("scontrol show job: the run's jobs that have not ended, by name", "[slurm client]") {
  const std::string text = job_line("JobId=11", "loom:ex-1", "RUNNING", "n0/dn1#0.1") +
                           job_line("JobId=12", "loom:ex-10", "RUNNING", "n0/dn2#0.1") +  // another run's
                           job_line("JobId=13", "other", "PENDING", "loom:ex-1") +        // the name elsewhere
                           job_line("JobId=14", "loom:ex-1", "COMPLETED", "n0/dn3#0.1") +
                           job_line("JobId=15", "loom:ex-1", "COMPLETING", "n0/dn4#0.1") +
                           job_line("JobId=16", "loom:ex-1", "OUT_OF_MEMORY", "n0/dn5#0.1") +
                           job_line("JobId=17", "loom:ex-1", "PENDING", "loom pilot workers") +
                           job_line("JobId=18", "loom:ex-1", "CONFIGURING", "") +
                           "No jobs in the system\n";
  const auto jobs = slurm_client::parse_jobs(text, "loom:ex-1");
  CHECK(ids_of(jobs) == std::vector<std::string>{"11", "15", "17", "18"});
  REQUIRE(jobs.size() == 4);
  CHECK(jobs[0].state == "RUNNING");
  CHECK(jobs[0].reason == "Priority");
  CHECK(jobs[0].comment == "n0/dn1#0.1");
  CHECK(jobs[1].state == "COMPLETING");
  CHECK(jobs[2].comment == "loom pilot workers");  // a comment with spaces, up to the next key
  CHECK(jobs[3].comment.empty());
  for (const char* ended : {"COMPLETED", "CANCELLED", "FAILED", "TIMEOUT", "NODE_FAIL", "PREEMPTED", "BOOT_FAIL",
                            "DEADLINE", "OUT_OF_MEMORY"}) {
    CHECK(slurm_client::has_ended(ended));
  }
  for (const char* alive : {"PENDING", "RUNNING", "SUSPENDED", "COMPLETING", "CONFIGURING", "REQUEUED", "RESIZING",
                            "SIGNALING", "STAGE_OUT"}) {
    CHECK_FALSE(slurm_client::has_ended(alive));
  }
  CHECK(slurm_client::parse_jobs("", "loom:ex-1").empty());
  CHECK(slurm_client::parse_jobs("No jobs in the system\n", "loom:ex-1").empty());
}

TEST_CASE("scontrol show job: a job name that holds key=value text is read whole", "[slurm client]") {
  const std::string name = "loom:NodeList=bad,JobState=bad";
  const auto jobs = slurm_client::parse_jobs(job_line("JobId=5", name, "RUNNING", "x"), name);
  REQUIRE(jobs.size() == 1);
  CHECK(jobs[0].id == "5");
  CHECK(jobs[0].state == "RUNNING");
  CHECK(slurm_client::parse_jobs(job_line("JobId=5", name, "RUNNING", "x"), "loom:NodeList=bad").empty());
}

TEST_CASE("scontrol show job: an array's elements one by one, pending ones listed as a range", "[slurm client]") {
  // Started elements have a line each; the pending rest share the array's line.
  const std::string text = job_line("JobId=4 ArrayJobId=2 ArrayTaskId=0 ArrayTaskThrottle=2", "loom:ex-1", "RUNNING",
                                    "n0#array-1.1") +
                           job_line("JobId=5 ArrayJobId=2 ArrayTaskId=1 ArrayTaskThrottle=2", "loom:ex-1", "COMPLETED",
                                    "n0#array-1.1") +
                           job_line("JobId=2 ArrayJobId=2 ArrayTaskId=2-5%2 ArrayTaskThrottle=2", "loom:ex-1",
                                    "PENDING", "n0#array-1.1") +
                           job_line("JobId=30 ArrayJobId=30 ArrayTaskId=1,3,7-8", "loom:ex-1", "PENDING", "a") +
                           job_line("JobId=40 ArrayJobId=40 ArrayTaskId=0-12:4", "loom:ex-1", "PENDING", "b");
  const auto jobs = slurm_client::parse_jobs(text, "loom:ex-1");
  CHECK(ids_of(jobs) == std::vector<std::string>{"2_0", "2_2", "2_3", "2_4", "2_5", "30_1", "30_3", "30_7", "30_8",
                                                 "40_0", "40_4", "40_8", "40_12"});
  for (const auto& j : jobs) CHECK_FALSE(j.comment.empty());
}

TEST_CASE("scontrol show job: array ids that do not read as such are said, and name the job itself", "[slurm client]") {
  // Damaged, unexpected (NO_VAL, a range past any MaxArraySize, a step of 0, letters) or
  // cut by Slurm ("...": queue() then asks squeue, which lists every element): the
  // line's own JobId, so that the job is not lost from the list, and `unreadable` set.
  for (const char* tasks : {"4294967294", "0-99999999", "0-9:0", "x", "5-3", "", "1,,2", "3,5,7,11,...%1"}) {
    CAPTURE(tasks);
    bool unreadable = false;
    const auto jobs = slurm_client::parse_jobs(
        job_line(std::string("JobId=9 ArrayJobId=8 ArrayTaskId=") + tasks, "loom:ex-1", "PENDING", "c"), "loom:ex-1",
        &unreadable);
    REQUIRE(jobs.size() == 1);
    CHECK(jobs[0].id == "9");
    CHECK(unreadable == !std::string(tasks).empty());  // (no ids at all: not an array's line)
  }
  // Another run's unreadable line is no concern of this one.
  bool unreadable = false;
  CHECK(slurm_client::parse_jobs(job_line("JobId=9 ArrayJobId=8 ArrayTaskId=1,...", "other", "PENDING", "c"), "loom:ex-1",
                                 &unreadable)
            .empty());
  CHECK_FALSE(unreadable);
  // Readable ones leave it unset.
  slurm_client::parse_jobs(job_line("JobId=9 ArrayJobId=8 ArrayTaskId=2-4%1", "loom:ex-1", "PENDING", "c"), "loom:ex-1",
                           &unreadable);
  CHECK_FALSE(unreadable);
}

TEST_CASE("slurmstepd's notice that Slurm stopped a job: cancelled, over its time, preempted, or none", "[slurm client]") {
  using loom::detail::slurm_stop_notice;
  CHECK(slurm_stop_notice("slurmstepd-localhost: error: *** JOB 64 ON localhost CANCELLED AT 2026-12-07T22:43:12 ***\n"
                          "Terminated\n") == "CANCELLED AT 2026-12-07T22:43:12 ***");
  CHECK(slurm_stop_notice("step 1\nslurmstepd: error: *** JOB 65 ON node3 CANCELLED AT 2026-12-07T22:50:00 DUE TO TIME "
                          "LIMIT ***") == "CANCELLED AT 2026-12-07T22:50:00 DUE TO TIME LIMIT ***");
  CHECK(slurm_stop_notice("slurmstepd: error: *** JOB 66 ON node3 CANCELLED AT 2026-12-07T22:51:00 DUE TO PREEMPTION "
                          "***\n") == "CANCELLED AT 2026-12-07T22:51:00 DUE TO PREEMPTION ***");
  // Not slurmstepd's line: the words alone, on a line without "*** JOB ".
  CHECK(slurm_stop_notice("the order was CANCELLED AT noon\n").empty());
  CHECK(slurm_stop_notice("*** JOB 5 ran\nthe order was CANCELLED AT noon\n").empty());
  CHECK(slurm_stop_notice("").empty());
  CHECK(slurm_stop_notice("Terminated\n").empty());
}

TEST_CASE("run_command collects stdout and stderr apart, and the exit status", "[slurm client][run_command]") {
  const command_output r = run_command("/bin/sh", {"-c", "echo out; echo err >&2; exit 3"}, 10s);
  CHECK(r.started);
  CHECK_FALSE(r.timed_out);
  CHECK(r.out == "out\n");
  CHECK(r.err == "err\n");
  CHECK_FALSE(r.ok());
  CHECK_THAT(r.describe(), Catch::Contains("exited with status 3") && Catch::Contains("err"));

  const command_output fine = run_command("sh", {"-c", "echo fine"}, 10s);  // looked up in PATH
  CHECK(fine.ok());
  CHECK(fine.out == "fine\n");
  CHECK(fine.err.empty());

  const command_output killed = run_command("/bin/sh", {"-c", "kill -TERM $$"}, 10s);
  CHECK_FALSE(killed.ok());
  CHECK_THAT(killed.describe(), Catch::Contains("was killed by signal 15"));
}

TEST_CASE("run_command: stdin is /dev/null", "[slurm client][run_command]") {
  // The test's stdin is, for a moment, a pipe that stays open and empty: cat would wait
  // on it until killed if the command inherited it.
  int held[2];
  REQUIRE(::pipe(held) == 0);
  const int saved_stdin = ::dup(0);
  REQUIRE(saved_stdin >= 0);
  REQUIRE(::dup2(held[0], 0) == 0);
  const command_output r = run_command("cat", {}, 2s);
  ::dup2(saved_stdin, 0);
  ::close(saved_stdin);
  ::close(held[0]);
  ::close(held[1]);
  CHECK_FALSE(r.timed_out);
  CHECK(r.ok());
  CHECK(r.out.empty());
}

TEST_CASE("run_command kills a command that does not end in time", "[slurm client][run_command]") {
  const auto start = std::chrono::steady_clock::now();
  const command_output r = run_command("sleep", {"5"}, 200ms);
  const auto elapsed = std::chrono::steady_clock::now() - start;
  CHECK(r.started);
  CHECK(r.timed_out);
  CHECK_FALSE(r.ok());
  CHECK(WIFSIGNALED(r.status));
  CHECK(WTERMSIG(r.status) == SIGKILL);
  CHECK(elapsed >= 200ms);
  CHECK(elapsed < 1s);  // not the 5 s of the sleep
  CHECK_THAT(r.describe(), Catch::Contains("did not answer within 200 ms"));
}

TEST_CASE("run_command: a program that does not exist is not started", "[slurm client][run_command]") {
  const command_output by_path = run_command("/nonexistent/loom-no-such-program", {}, 5s);
  CHECK_FALSE(by_path.started);
  CHECK_FALSE(by_path.ok());
  CHECK_THAT(by_path.err, Catch::Contains("/nonexistent/loom-no-such-program"));
  CHECK_THAT(by_path.describe(), Catch::StartsWith("could not be started"));

  const command_output by_name = run_command("loom-no-such-program-in-path", {}, 5s);
  CHECK_FALSE(by_name.started);
  CHECK_THAT(by_name.err, Catch::Contains("loom-no-such-program-in-path"));
}

TEST_CASE("run_command collects a large output whole, on both streams", "[slurm client][run_command]") {
  constexpr std::size_t mib = std::size_t{1} << 20;
  // 1 MiB on stdout, then 1 MiB on stderr: neither pipe may stall the other.
  const command_output r = run_command(
      "/bin/sh", {"-c", "head -c 1048576 /dev/zero | tr '\\0' x; head -c 1048576 /dev/zero | tr '\\0' y >&2"}, 30s);
  CHECK(r.ok());
  REQUIRE(r.out.size() == mib);
  REQUIRE(r.err.size() == mib);
  CHECK(r.out.find_first_not_of('x') == std::string::npos);
  CHECK(r.err.find_first_not_of('y') == std::string::npos);
}
