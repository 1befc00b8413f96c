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

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <vector>

#include <sys/mman.h>

namespace loom::detail {

/// Off: no advice (bench_dynamic_futures_file turns it off to measure the difference in
/// one run).
inline std::atomic<bool> huge_page_advice{true};

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

/// `v.reserve(n)`, with the new storage advised as above when it is large. Only an empty
/// vector gets the advice: a reallocation would copy into it at once, touching it.
template <class T, class Allocator>
void reserve_in_huge_pages(std::vector<T, Allocator>& v, std::size_t n) {
  const bool fresh = v.empty() && v.capacity() < n;
  v.reserve(n);
  if (fresh) advise_huge_pages(v.data(), v.capacity() * sizeof(T));
}

}  // namespace loom::detail
