// `ssdd launch -n N -- COMMAND`: N local ranks of one command, each with the variables torchrun
// sets (RANK, LOCAL_RANK, WORLD_SIZE, LOCAL_WORLD_SIZE, MASTER_ADDR, MASTER_PORT), for users
// without torchrun and for the tests. Like torchrun, a rank that fails stops the job: the
// others get SIGTERM (they checkpoint and stop at their next step), then SIGKILL after a grace
// period, and one line names the rank that failed first.
#pragma once
#include <iosfwd>
#include <string>
#include <vector>

namespace ssdd {

struct LaunchOptions {
  int ranks = 2;
  std::string master_addr = "127.0.0.1";
  int master_port = 0;         // 0: a free port of this machine
  double grace_seconds = 10;   // between the other ranks' SIGTERM and their SIGKILL
};

// Runs `command` (command[0] a program, looked up in PATH) as ranks 0..N-1 and waits for all.
// SIGINT / SIGTERM to the launcher are passed on to every rank, once. Returns 0 when every
// rank exits 0, else the first failing rank's exit code (128 + signal when one was killed).
int launch_local(const std::vector<std::string>& command, const LaunchOptions& options, std::ostream& log);

// A TCP port of `address` that is free now (the kernel's choice).
int free_port(const std::string& address);

}  // namespace ssdd
