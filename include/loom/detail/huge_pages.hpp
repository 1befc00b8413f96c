// loom/detail/huge_pages.hpp — large arrays that are filled once, right after they are
// allocated (the nodes, bindings and slots of a 200,000-node graph read from a futures
// file: tens of megabytes), asked to be backed by transparent huge pages.
//
// Why: such an array is fresh memory, and the first touch of each 4 KiB page is a page
// fault. On the benchmarks' VM a fault costs more than filling the page (about a third
// of reading that futures file went to them: docs/benchmarks-durable.md). With
// transparent huge pages in `madvise` mode (Debian's default) a region that asks for
// them takes one fault per 2 MiB instead of 512. Where the system offers no huge pages,
// or says no, nothing changes: the advice is only advice, and its errors are ignored.
#pragma once

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <iterator>
#include <memory>
#include <new>
#include <string_view>
#include <type_traits>
#include <vector>

#include <sys/mman.h>

namespace loom::detail {

/// On unless the environment says LOOM_HUGE_PAGES=0 (to save memory: a 2 MiB page is
/// backed whole once touched; or to measure the difference, as the benchmarks do).
inline bool huge_pages_wanted() {
  const char* setting = std::getenv("LOOM_HUGE_PAGES");
  return setting == nullptr || std::string_view(setting) != "0";
}
inline std::atomic<bool> huge_page_advice{huge_pages_wanted()};

/// Below this an array is not worth a system call (and is mostly not 2 MiB-aligned).
inline constexpr std::size_t huge_page_array_bytes = std::size_t{4} << 20;

/// Advises huge pages for the whole 2 MiB extents inside [data, data + bytes). Call it
/// before the memory is first written: pages already there stay small.
inline void advise_huge_pages(void* data, std::size_t bytes) {
#ifdef MADV_HUGEPAGE
  constexpr std::uintptr_t huge = std::uintptr_t{2} << 20;
  if (data == nullptr || bytes < huge_page_array_bytes || !huge_page_advice.load(std::memory_order_relaxed)) return;
  const auto begin = (reinterpret_cast<std::uintptr_t>(data) + huge - 1) & ~(huge - 1);
  const auto end = (reinterpret_cast<std::uintptr_t>(data) + bytes) & ~(huge - 1);
  if (end > begin) (void)::madvise(reinterpret_cast<void*>(begin), end - begin, MADV_HUGEPAGE);
#else
  (void)data;
  (void)bytes;
#endif
}

/// `v.reserve(n)` for a std::vector or std::basic_string, the new storage advised as
/// above when it is large. One with elements is moved into a fresh one that got the
/// advice first (a plain reallocation would copy them in before any advice could be
/// given, touching the pages).
template <class Container>
void reserve_in_huge_pages(Container& v, std::size_t n) {
  using T = typename Container::value_type;
  static_assert(std::is_nothrow_move_constructible_v<T>, "moved into the new storage: moving must not throw");
  if (v.capacity() >= n) return;
  if (n * sizeof(T) < huge_page_array_bytes || !huge_page_advice.load(std::memory_order_relaxed)) {
    v.reserve(n);
    return;
  }
  Container bigger(v.get_allocator());
  bigger.reserve(n);
  advise_huge_pages(bigger.data(), bigger.capacity() * sizeof(T));
  bigger.insert(bigger.end(), std::make_move_iterator(v.begin()), std::make_move_iterator(v.end()));
  v.swap(bigger);
}

/// Room for `extra` more elements, grown as push_back grows a vector (doubling), in
/// huge pages once large: for vectors and strings that grow to millions of elements
/// (a graph being recorded, a futures file or a pack being written).
template <class Container>
void make_room_in_huge_pages(Container& v, std::size_t extra) {
  const std::size_t need = v.size() + extra;
  if (need <= v.capacity()) return;
  reserve_in_huge_pages(v, std::max(need, 2 * v.capacity()));
}

/// An array of `count` value-initialized T that frees itself: a frame's slots and
/// counters, one per node of a graph that may have hundreds of thousands.
template <class T>
struct huge_array_delete {
  std::size_t count = 0;
  void operator()(T* items) const noexcept {
    std::destroy_n(items, count);
    ::operator delete(static_cast<void*>(items), std::align_val_t{alignof(T)});
  }
};
template <class T>
using huge_array = std::unique_ptr<T[], huge_array_delete<T>>;

/// Allocates a huge_array, in huge pages when it is large.
template <class T>
huge_array<T> make_huge_array(std::size_t count) {
  void* raw = ::operator new(count * sizeof(T), std::align_val_t{alignof(T)});
  advise_huge_pages(raw, count * sizeof(T));
  T* items = static_cast<T*>(raw);
  try {
    std::uninitialized_value_construct_n(items, count);
  } catch (...) {
    ::operator delete(raw, std::align_val_t{alignof(T)});
    throw;
  }
  return huge_array<T>(items, huge_array_delete<T>{count});
}

}  // namespace loom::detail
