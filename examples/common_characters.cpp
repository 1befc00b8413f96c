// The number of characters two strings have in common (A-Z/a-z, case-blind), as a
// static workflow: two independent frequency counts, run in parallel, then compared.
//
//   common_characters            # the embedded defaults: "Pear" and "Earth" → 3
//   common_characters abc cab    # → 3
#include <loom/loom.hpp>

#include <cctype>
#include <cstdint>
#include <iostream>
#include <string>
#include <vector>

using frequencies = std::vector<std::int64_t>;

inline constexpr auto count_letters = loom::task<"count_letters">([](std::string text) {
  frequencies freq(26, 0);
  for (const unsigned char c : text) {
    if (std::isalpha(c) != 0) ++freq[static_cast<std::size_t>(std::tolower(c) - 'a')];
  }
  return freq;
});

inline constexpr auto derive_count = loom::task<"derive_count">([](frequencies freq1, frequencies freq2) {
  std::int64_t count = 0;
  for (std::size_t i = 0; i < 26; ++i) count += std::min(freq1[i], freq2[i]);
  return count;
});

inline constexpr auto start_wf =
    loom::workflow<"start_wf">([](auto& wf, loom::promise<std::string> s1, loom::promise<std::string> s2) {
      return wf(derive_count, wf(count_letters, s1), wf(count_letters, s2));
    })
        .with_inputs("s1", "s2")
        .with_default<0>("Pear")
        .with_default<1>("Earth");

static_assert(loom::plan_of(start_wf).size() == 3);

int main(int argc, char** argv) {
  try {
    if (argc == 3) {
      std::cout << start_wf(argv[1], argv[2]) << '\n';
    } else {
      std::cout << start_wf() << '\n';
    }
  } catch (const std::exception& e) {
    std::cerr << "common_characters: " << e.what() << '\n';
    return 1;
  }
}
