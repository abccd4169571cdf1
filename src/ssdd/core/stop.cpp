#include "ssdd/core/stop.h"

#include <atomic>
#include <csignal>
#include <utility>

namespace ssdd {
namespace {

std::atomic<int> requested_signal{0};  // lock-free: set from the signal handler
static_assert(std::atomic<int>::is_always_lock_free, "the signal handler needs a lock-free flag");

std::string& resume_command() {
  static std::string command;
  return command;
}

// Async-signal-safe: one atomic store and two sigaction calls.
extern "C" void on_stop_signal(int signal) {
  // The next SIGINT or SIGTERM ends the process at once.
  struct sigaction default_action {};
  default_action.sa_handler = SIG_DFL;
  sigaction(SIGINT, &default_action, nullptr);
  sigaction(SIGTERM, &default_action, nullptr);
  requested_signal.store(signal);
}

std::string signal_name(int signal) {
  if (signal == SIGINT) return "SIGINT";
  if (signal == SIGTERM) return "SIGTERM";
  return "signal " + std::to_string(signal);
}

}  // namespace

void install_stop_handlers(std::string command) {
  resume_command() = std::move(command);
  struct sigaction action {};
  action.sa_handler = on_stop_signal;
  action.sa_flags = SA_RESTART;  // reads and writes in progress carry on
  sigemptyset(&action.sa_mask);
  for (int signal : {SIGINT, SIGTERM}) {
    // A signal ignored by whoever started us (a shell's background job: SIGINT) stays ignored.
    struct sigaction current {};
    sigaction(signal, nullptr, &current);
    if (current.sa_handler != SIG_IGN) sigaction(signal, &action, nullptr);
  }
}

bool stop_requested() { return requested_signal.load(std::memory_order_relaxed) != 0; }
int stop_signal() { return requested_signal.load(); }
void request_stop(int signal) { requested_signal.store(signal); }
void clear_stop() { requested_signal.store(0); }

Stopped::Stopped(int signal, std::string stage, int64_t iteration)
    : signal_(signal), stage_(std::move(stage)), iteration_(iteration) {}

std::string Stopped::message() const {
  const std::string& command = resume_command();
  return "stopped by " + signal_name(signal_) + " at " + stage_ + " iteration " + std::to_string(iteration_) +
         "; resume with: " + (command.empty() ? "the same command" : command);
}

void throw_if_stopped(const std::string& stage, int64_t iteration) {
  if (const int signal = stop_signal()) throw Stopped(signal, stage, iteration);
}

}  // namespace ssdd
