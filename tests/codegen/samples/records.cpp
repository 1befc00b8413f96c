// Golden-file sample: everything in records.hpp, plus a type in an anonymous namespace
// (the generated code, appended to this translation unit, can still name it).
#include "records.hpp"

namespace {
struct local_only {
  std::vector<std::int64_t> values;
};
inline constexpr auto total = loom::task<"total">([](local_only l) {
  std::int64_t t = 0;
  for (auto v : l.values) t += v;
  return t;
});
}  // namespace
