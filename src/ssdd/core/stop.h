// Stopping on SIGINT / SIGTERM at a step boundary. The handlers only record the signal;
// each long loop checks stop_requested() once per step, finishes the step, writes its
// checkpoint and throws Stopped, which the CLI turns into one line and exit 128 + signal.
// A second signal gets the default action (the process ends at once), so a step that
// hangs can still be ended; the last checkpoint stays good either way.
#pragma once
#include <cstdint>
#include <string>

namespace ssdd {

// Installs the handlers. `resume_command` is printed in the stop message: the command
// line that continues the stopped run.
void install_stop_handlers(std::string resume_command);

bool stop_requested();
int stop_signal();  // the signal that asked for the stop; 0 when none did

// What the handler does; tests call it to stop a loop at a chosen step.
void request_stop(int signal);
// Forgets a requested stop (tests; the handlers stay as they are).
void clear_stop();

// A stop, thrown by a loop after its step and its checkpoint. Deliberately not a
// std::exception: no handler written for failures takes a stop for one.
class Stopped {
 public:
  Stopped(int signal, std::string stage, int64_t iteration);
  int signal() const { return signal_; }
  const std::string& stage() const { return stage_; }
  int64_t iteration() const { return iteration_; }
  // "stopped by SIGTERM at distill iteration 12; resume with: ssdd distill ..."
  std::string message() const;
  int exit_code() const { return 128 + signal_; }  // 130 for SIGINT, 143 for SIGTERM

 private:
  int signal_;
  std::string stage_;
  int64_t iteration_;
};

// Throws Stopped(stage, iteration) when a stop was requested: the check of a loop whose
// own work is redone on resume (k-means, a probe), or after its checkpoint is written.
void throw_if_stopped(const std::string& stage, int64_t iteration);

}  // namespace ssdd
