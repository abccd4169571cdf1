// Progress lines for long work: step, caller's fields (loss, ...), rate and ETA.
// On a terminal one line is redrawn in place; into a file (or a pipe) a full line is
// written every `file_interval_s` seconds, so logs stay readable.
#pragma once
#include <chrono>
#include <cstdint>
#include <functional>
#include <iosfwd>
#include <string>

namespace ssdd::train {

std::string format_duration(double seconds);  // "42s", "4m12s", "1h02m"

// A prefix for every progress line of this process, e.g. "run 3/8 distill ours": a
// pipeline of stages sets it so that each stage's own progress reads as one display.
void set_progress_context(std::string context);

class Progress {
 public:
  // `unit` names what the rate counts ("img/s", "it/s"). `first_step` is where a
  // resumed run starts, so rate and ETA count only this process's work.
  Progress(std::string stage, int64_t total_steps, std::string unit, int64_t first_step = 0);

  // Call after finishing `step` (1-based count of steps done); `items` is how many
  // units the step processed (images for img/s, 1 for it/s).
  void update(int64_t step, const std::string& fields, double items = 1.0);
  // Same, with the fields computed only when a line is due (reading a loss value off
  // a GPU forces a sync, so the hot loop should not do it every step).
  void update(int64_t step, const std::function<std::string()>& fields, double items = 1.0);
  // Prints the final line (always) with the total wall time; `step`, when given, is the
  // count reached (work done elsewhere, e.g. by other ranks), with no line of its own.
  void finish(const std::string& fields, int64_t step = -1);

  // Every printed line (not the in-place redraws) also goes here, e.g. to a run log.
  void set_log(std::function<void(const std::string&)> log) { log_ = std::move(log); }
  void set_file_interval(double seconds) { file_interval_s_ = seconds; }
  // Off: lines go only to the log (the ranks after 0 of a job).
  void set_terminal(bool on) { terminal_ = on; }
  // No line at all (printed, logged or final) until the work has lasted `seconds`: a short
  // inner run (a grid cell's pretraining) stays silent, a long one still shows rate and ETA.
  void set_silent_for(double seconds) { silent_s_ = seconds; }
  double elapsed_seconds() const;

 private:
  std::string line(int64_t step, const std::string& fields) const;
  void emit(const std::string& text, bool final);

  std::string stage_, unit_;
  int64_t total_, first_step_, step_ = 0;
  double items_ = 0.0;
  bool tty_;
  bool terminal_ = true;
  double file_interval_s_ = 10.0;
  double silent_s_ = 0.0;
  std::chrono::steady_clock::time_point start_, last_print_, last_log_;
  std::function<void(const std::string&)> log_;
};

}  // namespace ssdd::train
