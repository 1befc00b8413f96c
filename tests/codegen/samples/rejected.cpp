// Golden-file sample: types loom-codegen must reject, each with file:line:col, the type
// and the reason (the C++ compiler accepts them all as aggregates).
#include <loom/loom.hpp>

#include <array>
#include <cstdint>
#include <vector>

struct base {
  std::int64_t id = 0;
};
struct derived : base {  // a base class
  std::int64_t more = 0;
};
struct with_pointer {
  std::int64_t* where = nullptr;
};
struct with_char {
  char initial = 'a';
};
struct with_bits {
  unsigned flags : 3;
};
struct with_array {
  std::array<std::int64_t, 3> xyz;
};
struct node {
  std::vector<node> children;  // recursive
};

inline constexpr auto a = loom::task<"a">([](derived d) { return d.more; });
inline constexpr auto b = loom::task<"b">([](with_pointer p) { return p.where != nullptr; });
inline constexpr auto c = loom::task<"c">([](std::vector<with_char> c) { return c.size() > 0; });
inline constexpr auto d = loom::task<"d">([](with_bits w) { return std::int64_t{w.flags}; });
inline constexpr auto e = loom::task<"e">([](with_array w) { return w.xyz[0]; });
inline constexpr auto f = loom::task<"f">([](node n) { return n.children.empty(); });
