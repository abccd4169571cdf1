// `ssdd bench teacher`: times `ssdd teacher`'s training step (teacher_step.h) on synthetic
// uint8 images of a given shape, the way ../shared/bench/pytorch_teacher_step.py times a
// plain PyTorch Barlow Twins step: the augmentation (two views of the batch) and the step
// proper (forward of both views, loss, backward, LARS, SGD) are timed apart, so the step
// can be set beside the reference's, which makes no views. With `phases`, a second pass times
// the step's pieces apart (the gradients' reset and the forward of both views, loss, backward,
// LARS + SGD).
#pragma once
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "ssdd/core/runtime_options.h"
#include "ssdd/teacher/teacher.h"

namespace ssdd::teacher {

struct TeacherBenchOptions {
  TeacherConfig config;  // arch, projector, batch size, optimiser, crop scale (a preset's)
  int64_t channels = 1;
  int64_t size = 28;     // square images
  int64_t iterations = 8;
  int64_t warmup = 2;
  bool phases = false;   // also time each phase, in a second pass (a device sync after each)
  RuntimeOptions runtime;  // seed of the synthetic data and the model; threads; device
};

struct TeacherBenchResult {
  TeacherBenchOptions options;
  int threads = 0;                      // as set
  std::vector<double> augment_seconds;  // per timed iteration: the two views of the batch
  std::vector<double> step_seconds;     // per timed iteration: forward, loss, backward, update
  double median_augment = 0;
  double median_step = 0;
  double median_total = 0;              // median over iterations of augment + step
  double peak_rss_mib = 0;
  nlohmann::json phases;                // median seconds per phase (when asked for): kPhaseNames

  static constexpr const char* kPhaseNames[] = {"augmentation", "forward", "loss", "backward", "update"};
  double images_per_second(double seconds) const;
  nlohmann::json to_json() const;
};

TeacherBenchResult run_teacher_bench(const TeacherBenchOptions& options);

}  // namespace ssdd::teacher
