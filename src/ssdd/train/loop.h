// The skeleton of every long run (the teacher's and pretraining's epochs in train::fit,
// the distiller's outer iterations): a step counter, resume from the newest good
// checkpoint of the same run, checkpoints every N steps and at a stop, deferred reads of
// the scalars each step leaves on the device (one transfer per progress line or
// checkpoint, not a sync per step) with the caller's divergence guard at each read, and
// progress with rate and ETA. What a step does, and what a checkpoint holds, is the
// caller's.
#pragma once
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include <ATen/core/Tensor.h>
#include <nlohmann/json.hpp>

#include "ssdd/train/checkpoint.h"
#include "ssdd/train/distributed.h"
#include "ssdd/train/progress.h"

namespace ssdd::train {

inline constexpr double kQuietRunSeconds = 30.0;

struct LoopOptions {
  std::string stage;               // names the run in errors and stops ("teacher", "distill")
  std::string progress_label;      // names it in progress lines; empty: `stage`
  int64_t total_steps = 0;
  std::string checkpoint_dir;      // empty: no checkpoints, no resume
  int64_t checkpoint_every = 0;    // steps between periodic checkpoints; 0: only where the caller asks
  bool resume = true;              // continue from a checkpoint in checkpoint_dir
  // Meta a checkpoint must carry, with these values, to be resumed (config hash, teacher,
  // data digest); written into every checkpoint. Keys in `identity_added_later` may be
  // absent from an older checkpoint, which is then accepted.
  nlohmann::json identity = nlohmann::json::object();
  std::vector<std::string> identity_added_later;
  std::string unit = "it/s";
  // Progress lines only once the run has lasted kQuietRunSeconds: the many short inner runs
  // of a grid or a probe stay silent, and one that turns out long still shows rate and ETA.
  bool quiet = false;
  std::function<void(const std::string&)> log;  // every progress line and the resume note
  // A run shared among the ranks of a job (issue 26), or null: the ranks stop at the same
  // step (one rank's SIGINT/SIGTERM stops them all), every rank runs the save hook (which may
  // gather state from the others), and only rank 0 writes checkpoints.
  ProcessGroup* group = nullptr;
};

struct LoopHooks {
  // Required with checkpoints: the caller's state after `steps_done` steps (the loop adds
  // the identity to its meta), and the restore of one, returning the steps it had done.
  std::function<Checkpoint(int64_t steps_done)> save;
  std::function<int64_t(const Checkpoint&)> restore;
  // Optional: runs on a fresh start only (no checkpoint restored), before progress starts
  // counting time: work a resumed run must not repeat (the distiller's pool stagger).
  std::function<void()> fresh_start;
  // Optional: the scalars step `step` (0-based) recorded, read back in step order. The
  // divergence guard: it throws (NumericsError) before any checkpoint could keep them.
  std::function<void(int64_t step, const std::vector<double>& values)> on_read;
};

class Loop {
 public:
  Loop(LoopOptions options, LoopHooks hooks);

  // Restores the newest good checkpoint of this run (when resuming) and returns the steps
  // it had done; 0 for a fresh start. Call once, before the first step. A checkpoint of
  // another run (its identity differs) is refused with a ConfigError.
  int64_t start();
  // Whether start() restored a checkpoint.
  bool resumed() const { return resumed_; }

  // After a step: keeps the scalars it left on the device (read later, in one transfer),
  // updates progress (`fields` runs after those reads, only when a line is due), writes the
  // periodic checkpoint when due, and on a SIGINT/SIGTERM (core/stop.h) checkpoints and
  // throws Stopped, unless `may_stop` is false (the caller then stops at its own point).
  // `steps_done` counts this step; `items` is what it processed (for the rate).
  void after_step(int64_t steps_done, std::vector<at::Tensor> scalars, double items,
                  const std::function<std::string()>& fields, bool may_stop = true);
  // Reads every kept scalar now (hooks.on_read), e.g. before an end-of-epoch mean.
  void read_pending();
  // Reads, then writes a checkpoint of `steps_done` steps (nothing without checkpoint_dir).
  void checkpoint(int64_t steps_done);
  // On a requested stop: checkpoint, then throw Stopped. For the caller's own stop points.
  void stop_if_requested(int64_t steps_done);
  // Reads what is left and prints the final progress line.
  void finish(const std::string& fields);

  bool checkpoints() const { return !options_.checkpoint_dir.empty(); }
  // The signal that stops the run here (0: none), agreed among the ranks of a job (collective).
  int agreed_stop_signal() const;

 private:
  void refuse_other_run(const Checkpoint& c) const;
  void say(const std::string& line) const;  // to the terminal (unless quiet) and the log
  bool on_terminal() const;                  // one process, or rank 0 of a job

  LoopOptions options_;
  LoopHooks hooks_;
  std::optional<Progress> progress_;  // from start(): its rate counts this process's steps
  bool resumed_ = false;
  int64_t next_read_step_ = 0;                  // the step whose scalars come next in `pending_`
  std::vector<std::vector<at::Tensor>> pending_;  // per step: its scalars
};

}  // namespace ssdd::train
