// The opening every long stage shares: make the run folder, open its log, write
// config.json, set threads, device and seeds, and say so in the log.
#pragma once
#include <memory>
#include <string>

#include <c10/core/Device.h>
#include <nlohmann/json.hpp>

#include "ssdd/io/run_log.h"

namespace ssdd::train {

struct RunContext {
  io::RunLog log;
  int threads = 1;
  c10::Device device = c10::Device(c10::kCPU);
  explicit RunContext(const std::string& log_path) : log(log_path) {}
};

std::unique_ptr<RunContext> start_run(const std::string& stage, const std::string& out_dir,
                                      const nlohmann::json& config, int threads, const std::string& device,
                                      uint64_t seed);

}  // namespace ssdd::train
