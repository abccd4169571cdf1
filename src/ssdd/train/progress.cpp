#include "ssdd/train/progress.h"

#include <unistd.h>

#include <cmath>
#include <iostream>
#include <sstream>

#include "ssdd/core/format.h"

namespace ssdd::train {

std::string format_duration(double seconds) {
  if (!std::isfinite(seconds) || seconds < 0) return "?";
  const long s = std::lround(seconds);
  if (s < 60) return fmt::format("{}s", s);
  if (s < 3600) return fmt::format("{}m{:02d}s", s / 60, s % 60);
  return fmt::format("{}h{:02d}m", s / 3600, (s % 3600) / 60);
}

Progress::Progress(std::string stage, int64_t total_steps, std::string unit, int64_t first_step)
    : stage_(std::move(stage)),
      unit_(std::move(unit)),
      total_(total_steps),
      first_step_(first_step),
      step_(first_step),
      tty_(::isatty(STDERR_FILENO) != 0),
      start_(std::chrono::steady_clock::now()),
      last_print_(start_),
      last_log_(start_) {}

double Progress::elapsed_seconds() const {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
}

namespace {
std::string& progress_context() {
  static std::string context;
  return context;
}
}  // namespace

void set_progress_context(std::string context) { progress_context() = std::move(context); }

std::string Progress::line(int64_t step, const std::string& fields) const {
  const double elapsed = elapsed_seconds();
  const int64_t done = step - first_step_;
  const double rate = elapsed > 0 ? items_ / elapsed : 0.0;
  const double eta = done > 0 ? elapsed / static_cast<double>(done) * static_cast<double>(total_ - step) : NAN;
  std::ostringstream out;
  if (!progress_context().empty()) out << "[" << progress_context() << "] ";
  out << stage_ << " " << step << "/" << total_;
  if (!fields.empty()) out << " | " << fields;
  out << " | " << fmt::format("{:.1f}", rate) << " " << unit_ << " | elapsed " << format_duration(elapsed);
  if (step < total_) out << " | ETA " << format_duration(eta);
  return out.str();
}

void Progress::emit(const std::string& text, bool final) {
  if (!terminal_) return;
  if (tty_) std::cerr << "\r\033[K" << text << (final ? "\n" : "") << std::flush;
  else std::cerr << text << "\n" << std::flush;
}

void Progress::update(int64_t step, const std::string& fields, double items) {
  update(step, [&fields] { return fields; }, items);
}

void Progress::update(int64_t step, const std::function<std::string()>& fields, double items) {
  step_ = step;
  items_ += items;
  const auto now = std::chrono::steady_clock::now();
  auto seconds_since = [&](auto then) { return std::chrono::duration<double>(now - then).count(); };
  if (seconds_since(start_) < silent_s_) return;
  const bool last = step >= total_;
  // A terminal gets a redraw ten times a second; a file a full line every few seconds.
  const bool print = last || seconds_since(last_print_) >= (tty_ ? 0.1 : file_interval_s_);
  const bool log = log_ && (last || seconds_since(last_log_) >= file_interval_s_);
  if (!print && !log) return;
  const std::string text = line(step, fields());
  if (print) {
    last_print_ = now;
    emit(text, false);
  }
  if (log) {
    last_log_ = now;
    log_(text);
  }
}

void Progress::finish(const std::string& fields, int64_t step) {
  if (step >= 0) step_ = step;
  if (elapsed_seconds() < silent_s_) return;
  const std::string text = line(step_, fields);
  emit(text, true);
  if (log_) log_(text);
}

}  // namespace ssdd::train
