// loom/detail/huge_pages.hpp: growing vectors and strings in huge pages keeps their
// elements, grows them geometrically, and asks the kernel for huge pages (checked in
// /proc/self/smaps where the kernel offers transparent huge pages on request); a
// huge_array value-initializes its elements and destroys each one.
#include <loom/detail/huge_pages.hpp>

#include <catch2/catch.hpp>

#include <cstdint>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

namespace {

/// The kernel's transparent huge page mode: "always", "madvise" or "never" (empty when
/// it has none).
std::string thp_mode() {
  std::ifstream in("/sys/kernel/mm/transparent_hugepage/enabled");
  std::string all;
  std::getline(in, all);
  const auto open = all.find('['), close = all.find(']');
  return open == std::string::npos || close == std::string::npos ? "" : all.substr(open + 1, close - open - 1);
}

/// Whether the mapping that holds `address` may have huge pages (smaps "THPeligible").
bool thp_eligible(const void* address) {
  const auto at = reinterpret_cast<std::uintptr_t>(address);
  std::ifstream in("/proc/self/smaps");
  bool inside = false;
  for (std::string line; std::getline(in, line);) {
    std::uintptr_t begin = 0, end = 0;
    char dash = 0;
    std::istringstream range(line);
    if (range >> std::hex >> begin >> dash >> end && dash == '-' && line.find(' ') != std::string::npos &&
        line.find(':') > line.find(' ')) {
      inside = begin <= at && at < end;
      continue;
    }
    if (inside && line.rfind("THPeligible:", 0) == 0) return line.find('1') != std::string::npos;
  }
  return false;
}

struct counted {
  static inline int alive = 0;
  int value = 7;
  counted() { ++alive; }
  counted(counted&& other) noexcept : value(other.value) { ++alive; }
  counted& operator=(counted&&) noexcept = default;
  ~counted() { --alive; }
};

}  // namespace

TEST_CASE("huge pages: a vector grown into huge pages keeps its elements, in order", "[huge_pages]") {
  std::vector<std::uint64_t> v;
  for (std::uint64_t i = 0; i < 1000; ++i) v.push_back(i * 3);
  const std::size_t big = loom::detail::huge_page_array_bytes;  // bytes, so 8 times the elements needed
  loom::detail::reserve_in_huge_pages(v, big);
  REQUIRE(v.capacity() >= big);
  REQUIRE(v.size() == 1000);
  for (std::uint64_t i = 0; i < 1000; ++i) REQUIRE(v[i] == i * 3);
  // Already large enough: nothing moves.
  const auto* data = v.data();
  loom::detail::reserve_in_huge_pages(v, 10);
  REQUIRE(v.data() == data);
}

TEST_CASE("huge pages: make_room grows as push_back does (doubling), for vectors and strings", "[huge_pages]") {
  std::vector<int> v(100, 1);
  v.shrink_to_fit();
  const std::size_t before = v.capacity();
  loom::detail::make_room_in_huge_pages(v, 1);
  REQUIRE(v.capacity() >= 2 * before);
  loom::detail::make_room_in_huge_pages(v, 10'000);
  REQUIRE(v.capacity() >= 10'100);
  REQUIRE(v == std::vector<int>(100, 1));

  std::string s = "loom";
  for (int i = 0; i < 20; ++i) {
    loom::detail::make_room_in_huge_pages(s, s.size());  // room for as much again, past 4 MiB at the end
    s += s;
  }
  REQUIRE(s.size() == 4u << 20);
  REQUIRE(s.substr(0, 8) == "loomloom");
  REQUIRE(s.substr(s.size() - 4) == "loom");
}

TEST_CASE("huge pages: a huge_array value-initializes its elements and destroys each one", "[huge_pages]") {
  {
    auto zeros = loom::detail::make_huge_array<std::uint32_t>(3'000'000);  // 12 MB: advised
    bool all_zero = true;
    for (std::size_t i = 0; i < 3'000'000; ++i) all_zero = all_zero && zeros[i] == 0;
    REQUIRE(all_zero);
    auto items = loom::detail::make_huge_array<counted>(1000);
    REQUIRE(counted::alive == 1000);
    REQUIRE(items[999].value == 7);
    auto none = loom::detail::make_huge_array<counted>(0);
    REQUIRE(counted::alive == 1000);
  }
  REQUIRE(counted::alive == 0);
}

TEST_CASE("huge pages: large arrays are advised, and LOOM_HUGE_PAGES=0's switch turns it off", "[huge_pages]") {
  const std::string mode = thp_mode();
  if (mode != "madvise") {
    // "always" makes everything eligible and "never" nothing: the advice is not seen.
    SUCCEED("transparent huge pages are '" + mode + "' here: the advice cannot be told apart");
    return;
  }
  constexpr std::size_t bytes = std::size_t{16} << 20;
  std::vector<char> advised;
  loom::detail::reserve_in_huge_pages(advised, bytes);
  // The middle of it: inside the whole 2 MiB extents that were advised.
  CHECK(thp_eligible(advised.data() + bytes / 2));

  loom::detail::huge_page_advice = false;
  std::vector<char> plain;
  loom::detail::reserve_in_huge_pages(plain, bytes);
  loom::detail::huge_page_advice = true;
  CHECK_FALSE(thp_eligible(plain.data() + bytes / 2));
}
