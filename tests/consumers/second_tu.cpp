// A second translation unit of the consumer that includes <loom/loom.hpp> and uses the
// runtime: under loom::header_only the runtime's functions are compiled in both units
// and must link as inline functions do (no duplicate symbols); under loom::loom they
// come from loom::runtime.
#include <loom/loom.hpp>

#include <string>

std::string consumer_stored_run_id() {
  loom::object_store::check_key("ex-1/n0/outputs.json");
  return loom::executor::new_execution_id();
}
