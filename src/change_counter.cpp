// src/change_counter.cpp — a store's change counter: see loom/detail/change_counter.hpp.
#include <loom/detail/change_counter.hpp>
#include <loom/detail/config.hpp>

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
  const int fd = ::open(path_for(database).c_str(), O_RDWR | O_CREAT | O_CLOEXEC, static_cast<mode_t>(mode));
  if (fd < 0) return c;
  // Grown to 8 zero bytes when new (or left short by a writer that stopped between the
  // open and this): ftruncate to the same size changes nothing, so two runs starting at
  // once agree.
  struct stat st {};
  if (::fstat(fd, &st) == 0 && st.st_size < static_cast<off_t>(counter_bytes)) {
    (void)::ftruncate(fd, static_cast<off_t>(counter_bytes));
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
