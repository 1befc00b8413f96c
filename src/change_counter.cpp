// src/change_counter.cpp — a store's change counter: see loom/detail/change_counter.hpp.
#include <loom/detail/change_counter.hpp>
#include <loom/detail/config.hpp>

#include <cerrno>
#include <utility>

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

namespace loom::detail {

namespace {

constexpr std::size_t counter_bytes = sizeof(std::uint64_t);

/// `fd`'s first 8 bytes mapped shared (PROT_READ, or also PROT_WRITE), when the file
/// holds them; null otherwise. Closes `fd` either way (a mapping outlives its descriptor).
/// (A file cut short under a live mapping would fault on access, as SQLite's own -shm
/// file would: the store's files are the store's to change.)
std::uint64_t* map_counter(int fd, bool writable) {
  if (fd < 0) return nullptr;
  struct stat st {};
  void* at = MAP_FAILED;
  if (::fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_size >= static_cast<off_t>(counter_bytes)) {
    at = ::mmap(nullptr, counter_bytes, PROT_READ | (writable ? PROT_WRITE : 0), MAP_SHARED, fd, 0);
  }
  ::close(fd);
  return at == MAP_FAILED ? nullptr : static_cast<std::uint64_t*>(at);
}

}  // namespace

LOOM_FUNC change_counter::change_counter(change_counter&& other) noexcept
    : word_(std::exchange(other.word_, nullptr)) {}

LOOM_FUNC change_counter& change_counter::operator=(change_counter&& other) noexcept {
  if (this != &other) {
    if (word_ != nullptr) ::munmap(word_, counter_bytes);
    word_ = std::exchange(other.word_, nullptr);
  }
  return *this;
}

LOOM_FUNC change_counter::~change_counter() {
  if (word_ != nullptr) ::munmap(word_, counter_bytes);
}

LOOM_FUNC std::filesystem::path change_counter::path_for(const std::filesystem::path& database) {
  return std::filesystem::path(database.string() + "-changes");
}

LOOM_FUNC change_counter change_counter::for_writing(const std::filesystem::path& database, unsigned mode) {
  change_counter c;
  const auto path = path_for(database);
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, static_cast<mode_t>(mode));
  if (fd >= 0) {
    (void)::fchmod(fd, static_cast<mode_t>(mode));  // the mode asked, whatever the umask (as SQLite's -wal)
  } else if (errno == EEXIST) {
    fd = ::open(path.c_str(), O_RDWR | O_CLOEXEC);
  }
  if (fd < 0) return c;
  // Its 8 bytes allocated on the disk now (a new file, or one left short by a writer that
  // stopped between the open and this; allocating what is there changes nothing, so two
  // runs starting at once agree): a store on a full disk has no counter, rather than a
  // run that faults on its first bump of an unallocated page.
  if (::posix_fallocate(fd, 0, static_cast<off_t>(counter_bytes)) != 0) {
    ::close(fd);
    return c;
  }
  c.word_ = map_counter(fd, true);
  return c;
}

LOOM_FUNC change_counter change_counter::for_reading(const std::filesystem::path& database) {
  change_counter c;
  c.word_ = map_counter(::open(path_for(database).c_str(), O_RDONLY | O_CLOEXEC), false);
  return c;
}

LOOM_FUNC void change_counter::bump() noexcept {
  if (word_ != nullptr) __atomic_fetch_add(word_, 1, __ATOMIC_RELEASE);
}

LOOM_FUNC std::optional<std::uint64_t> change_counter::value() const noexcept {
  if (word_ == nullptr) return std::nullopt;
  return __atomic_load_n(word_, __ATOMIC_ACQUIRE);
}

}  // namespace loom::detail
