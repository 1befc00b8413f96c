// storage_faults: an LD_PRELOAD library that makes storage fail on demand, for the
// fault-injection tests (tests/fault_injection_test.cpp). It stands between a program
// and libc's write, pwrite, writev, pwritev, fsync, fdatasync and rename calls, and
// fails those on files under one directory (the store) as a full or broken disk would:
//
//   LOOM_FAULT_PATH   the directory (absolute); calls on other files are untouched
//   LOOM_FAULT_OP     write | fsync | rename   (write: write, pwrite, pwrite64, writev,
//                     pwritev, pwritev64, ftruncate; fsync: fsync, fdatasync; rename:
//                     rename, renameat, renameat2)
//   LOOM_FAULT_ERRNO  ENOSPC | EIO
//   LOOM_FAULT_AFTER  N: the first N such calls succeed, the later ones fail
//   LOOM_FAULT_TIMES  how many fail (default: all of them: a disk that stays full)
//   LOOM_FAULT_REPORT a file to which the library appends one line per failure made
//                     ("write /store/ex/loom.db-wal"), so that a test knows it happened,
//                     and at exit "calls N": how many calls of the operation there were
//                     so far, in all the processes that share the report (node
//                     processes inherit LD_PRELOAD; they count and fail together)
//
// A file's name comes from /proc/self/fd. Programs built with a sanitizer define these
// functions themselves (their interceptors come before any preloaded library), so the
// tests that use this library run in the builds without one.
#include <atomic>
#include <cerrno>
#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>

#include <dlfcn.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/uio.h>
#include <unistd.h>

namespace {

enum class operation { none, write, fsync, rename };

struct settings {
  std::string path;  // with a trailing '/'
  operation op = operation::none;
  int error = ENOSPC;
  long after = 0;
  long times = -1;
  std::string report;
};

const settings& config() {
  // Never destroyed: the report at exit (a destructor of this library) runs after the
  // program's static objects are gone.
  static const settings& s = *[] {
    auto* made = new settings;
    settings& c = *made;
    const char* path = std::getenv("LOOM_FAULT_PATH");
    const char* op = std::getenv("LOOM_FAULT_OP");
    if (path == nullptr || op == nullptr || *path == '\0') return made;
    c.path = path;
    if (c.path.back() != '/') c.path += '/';
    const std::string_view o(op);
    c.op = o == "write" ? operation::write : o == "fsync" ? operation::fsync : o == "rename" ? operation::rename
                                                                                             : operation::none;
    if (const char* e = std::getenv("LOOM_FAULT_ERRNO")) c.error = std::string_view(e) == "EIO" ? EIO : ENOSPC;
    if (const char* a = std::getenv("LOOM_FAULT_AFTER")) c.after = std::atol(a);
    if (const char* t = std::getenv("LOOM_FAULT_TIMES")) c.times = std::atol(t);
    if (const char* r = std::getenv("LOOM_FAULT_REPORT")) c.report = r;
    return made;
  }();
  return s;
}

/// The counts, shared by every process of the run: node processes inherit
/// LD_PRELOAD, and a full disk is full for all of them. With LOOM_FAULT_REPORT set they
/// live in the file "<report>.counts", mapped by each process (lock-free atomics work
/// across processes on shared memory); without it, in this process.
struct counts {
  std::atomic<long> matching_calls{0};
  std::atomic<long> failures_made{0};
};
static_assert(std::atomic<long>::is_always_lock_free);

counts& shared_counts() {
  static counts* const shared = [] {
    const auto& c = config();
    if (!c.report.empty()) {
      const std::string name = c.report + ".counts";
      const int fd = ::open(name.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
      // (libc's own ftruncate: this library's would look at the counts being made)
      static const auto real_ftruncate = reinterpret_cast<int (*)(int, off_t)>(dlsym(RTLD_NEXT, "ftruncate"));
      if (fd >= 0 && real_ftruncate(fd, sizeof(counts)) == 0) {  // zeros when new; kept when there
        void* at = ::mmap(nullptr, sizeof(counts), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
        ::close(fd);
        if (at != MAP_FAILED) return static_cast<counts*>(at);
      }
    }
    return new counts;
  }();
  return *shared;
}

bool under_path(const char* name) {
  const auto& c = config();
  return name != nullptr && std::strncmp(name, c.path.c_str(), c.path.size()) == 0;
}

bool fd_under_path(int fd) {
  char link[64];
  std::snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
  char target[4096];
  const auto n = ::readlink(link, target, sizeof target - 1);
  if (n <= 0) return false;
  target[n] = '\0';
  return under_path(target);
}

void report(const char* what, const char* name) {
  const auto& c = config();
  if (c.report.empty()) return;
  static const auto real_write = reinterpret_cast<ssize_t (*)(int, const void*, size_t)>(dlsym(RTLD_NEXT, "write"));
  const int fd = ::open(c.report.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  if (fd < 0) return;
  std::string line = std::string(what) + " " + (name != nullptr ? name : "?") + "\n";
  (void)real_write(fd, line.data(), line.size());
  ::close(fd);
}

/// Whether this call (of operation `op`, on a file under the path or not) fails; sets errno if so.
bool fail(operation op, bool matches, const char* what, const char* name) {
  const auto& c = config();
  if (c.op != op || !matches) return false;
  auto& n = shared_counts();
  if (n.matching_calls.fetch_add(1) < c.after) return false;
  if (c.times >= 0 && n.failures_made.fetch_add(1) >= c.times) return false;
  report(what, name);
  errno = c.error;
  return true;
}

std::string fd_name(int fd) {
  char link[64];
  std::snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
  char target[4096];
  const auto n = ::readlink(link, target, sizeof target - 1);
  return n > 0 ? std::string(target, static_cast<std::size_t>(n)) : std::string("?");
}

template <typename F>
F next(const char* name) {
  return reinterpret_cast<F>(dlsym(RTLD_NEXT, name));
}

bool fd_fails(operation op, int fd, const char* what) {
  if (config().op != op) return false;
  if (!fd_under_path(fd)) return false;
  return fail(op, true, what, fd_name(fd).c_str());
}

/// At exit: "calls N", the number of calls of the operation on files under the path,
/// so that a test can spread its failures over a whole run.
__attribute__((destructor)) void report_calls() {
  if (config().op == operation::none) return;
  report("calls", std::to_string(shared_counts().matching_calls.load()).c_str());
}

}  // namespace

extern "C" {

ssize_t write(int fd, const void* buffer, size_t size) {
  static const auto real = next<ssize_t (*)(int, const void*, size_t)>("write");
  if (fd_fails(operation::write, fd, "write")) return -1;
  return real(fd, buffer, size);
}

ssize_t pwrite(int fd, const void* buffer, size_t size, off_t offset) {
  static const auto real = next<ssize_t (*)(int, const void*, size_t, off_t)>("pwrite");
  if (fd_fails(operation::write, fd, "write")) return -1;
  return real(fd, buffer, size, offset);
}

ssize_t pwrite64(int fd, const void* buffer, size_t size, off64_t offset) {
  static const auto real = next<ssize_t (*)(int, const void*, size_t, off64_t)>("pwrite64");
  if (fd_fails(operation::write, fd, "write")) return -1;
  return real(fd, buffer, size, offset);
}

ssize_t writev(int fd, const struct iovec* vectors, int count) {
  static const auto real = next<ssize_t (*)(int, const struct iovec*, int)>("writev");
  if (fd_fails(operation::write, fd, "write")) return -1;
  return real(fd, vectors, count);
}

ssize_t pwritev(int fd, const struct iovec* vectors, int count, off_t offset) {
  static const auto real = next<ssize_t (*)(int, const struct iovec*, int, off_t)>("pwritev");
  if (fd_fails(operation::write, fd, "write")) return -1;
  return real(fd, vectors, count, offset);
}

ssize_t pwritev64(int fd, const struct iovec* vectors, int count, off64_t offset) {
  static const auto real = next<ssize_t (*)(int, const struct iovec*, int, off64_t)>("pwritev64");
  if (fd_fails(operation::write, fd, "write")) return -1;
  return real(fd, vectors, count, offset);
}

int ftruncate(int fd, off_t length) {  // (a write through O_DIRECT cuts its padding off: part of the write)
  static const auto real = next<int (*)(int, off_t)>("ftruncate");
  if (fd_fails(operation::write, fd, "write")) return -1;
  return real(fd, length);
}

int fsync(int fd) {
  static const auto real = next<int (*)(int)>("fsync");
  if (fd_fails(operation::fsync, fd, "fsync")) return -1;
  return real(fd);
}

int fdatasync(int fd) {
  static const auto real = next<int (*)(int)>("fdatasync");
  if (fd_fails(operation::fsync, fd, "fsync")) return -1;
  return real(fd);
}

int rename(const char* from, const char* to) {
  static const auto real = next<int (*)(const char*, const char*)>("rename");
  if (fail(operation::rename, under_path(from) || under_path(to), "rename", to)) return -1;
  return real(from, to);
}

int renameat(int from_dir, const char* from, int to_dir, const char* to) {
  static const auto real = next<int (*)(int, const char*, int, const char*)>("renameat");
  if (fail(operation::rename, under_path(from) || under_path(to), "rename", to)) return -1;
  return real(from_dir, from, to_dir, to);
}

int renameat2(int from_dir, const char* from, int to_dir, const char* to, unsigned flags) {
  static const auto real = next<int (*)(int, const char*, int, const char*, unsigned)>("renameat2");
  if (fail(operation::rename, under_path(from) || under_path(to), "rename", to)) return -1;
  return real(from_dir, from, to_dir, to, flags);
}

}  // extern "C"
