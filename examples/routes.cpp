// Plain structs and enums as task values, with no macro and no registration code: the
// target is built with loom_generate(routes), whose generated code serializes `leg` and
// `route_summary`, names every input after its parameter, takes the default of
// `default_speed` from its default argument, and registers every entity.
//
//   routes run plan_route --route '[{"by":"walk","metres":500},{"by":"bike","metres":2000}]'
//                         --speeds '{"walk":1.25,"bike":5.0}'      (one command line)
//   → {"o0":{"legs":2,"metres":2500.0,"seconds":800.0,"slowest":"walk"}}
#include <loom/loom.hpp>

#include <cstdint>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace routes {

enum class mode { walk, bike, train };

struct leg {
  mode by = mode::walk;
  double metres = 0;
  std::optional<std::string> note;  // may be absent in the input
};

struct route_summary {
  std::int64_t legs = 0;
  double metres = 0;
  double seconds = 0;
  mode slowest = mode::walk;
};

inline std::string name_of(mode m) {
  switch (m) {
    case mode::walk: return "walk";
    case mode::bike: return "bike";
    case mode::train: return "train";
  }
  throw std::invalid_argument("not a mode");
}

// The time one leg takes, at the speed of its mode (metres per second).
inline constexpr auto leg_seconds = loom::task<"leg_seconds">(
    [](leg l, std::map<std::string, double> speeds, double default_speed = 1.25) -> double {
      const auto it = speeds.find(name_of(l.by));
      const double speed = it != speeds.end() ? it->second : default_speed;
      if (speed <= 0) throw std::invalid_argument("the speed of " + name_of(l.by) + " must be positive");
      return l.metres / speed;
    });

inline constexpr auto summarise = loom::task<"summarise">([](std::vector<leg> route, std::vector<double> seconds) {
  route_summary s;
  s.legs = static_cast<std::int64_t>(route.size());
  double slowest_speed = 0;
  for (std::size_t i = 0; i < route.size(); ++i) {
    s.metres += route[i].metres;
    s.seconds += seconds[i];
    const double speed = seconds[i] > 0 ? route[i].metres / seconds[i] : 0;
    if (i == 0 || speed < slowest_speed) {
      slowest_speed = speed;
      s.slowest = route[i].by;
    }
  }
  return s;
});

// One leg_seconds node per leg: the graph's width is the route's length, known at run time.
inline constexpr auto plan_route = loom::dynamic<"plan_route">(
    [](loom::dynamic_builder& wf, std::vector<leg> route, std::map<std::string, double> speeds,
       double default_speed = 1.25) -> loom::promise<route_summary> {
      std::vector<loom::promise<double>> seconds;
      for (const leg& l : route) seconds.push_back(wf(leg_seconds, l, speeds, default_speed));
      return wf(summarise, route, seconds);
    });

}  // namespace routes

int main(int argc, char** argv) { return loom::main(argc, argv); }
