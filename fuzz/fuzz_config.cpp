// Experiment configs (TOML): parsed, then checked as `ssdd run` checks a config file.
#include "fuzz_support.h"
#include "ssdd/experiment/experiment_config.h"
#include "ssdd/io/toml_file.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace ssdd;
  const std::string text = fuzz::as_string(data, size);
  fuzz::accept_only_ssdd_errors([&] { experiment::parse_experiment(io::parse_toml(text, "fuzz.toml"), "fuzz.toml", text); });
  return 0;
}
