#include "ssdd/core/launch.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <cstring>
#include <ostream>
#include <thread>

#include "ssdd/core/error.h"

namespace ssdd {
namespace {

volatile std::sig_atomic_t g_signal = 0;

void record_signal(int signal) { g_signal = signal; }

// The launcher's own SIGINT / SIGTERM are recorded and passed on by the wait loop. The ranks
// run in their own process group, so a Ctrl-C on the terminal reaches them once, through here.
void catch_stop_signals() {
  struct sigaction action {};
  action.sa_handler = record_signal;
  sigemptyset(&action.sa_mask);
  sigaction(SIGINT, &action, nullptr);
  sigaction(SIGTERM, &action, nullptr);
}

[[noreturn]] void exec_rank(const std::vector<std::string>& command, const LaunchOptions& o, int rank, int port) {
  setpgid(0, 0);
  prctl(PR_SET_PDEATHSIG, SIGTERM);  // a launcher killed outright takes its ranks with it
  signal(SIGINT, SIG_DFL);
  signal(SIGTERM, SIG_DFL);
  setenv("RANK", std::to_string(rank).c_str(), 1);
  setenv("LOCAL_RANK", std::to_string(rank).c_str(), 1);
  setenv("WORLD_SIZE", std::to_string(o.ranks).c_str(), 1);
  setenv("LOCAL_WORLD_SIZE", std::to_string(o.ranks).c_str(), 1);
  setenv("MASTER_ADDR", o.master_addr.c_str(), 1);
  setenv("MASTER_PORT", std::to_string(port).c_str(), 1);
  std::vector<char*> argv;
  for (const auto& a : command) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  execvp(argv[0], argv.data());
  const std::string line = "ssdd launch: rank " + std::to_string(rank) + ": cannot run " + command[0] + ": " +
                           std::strerror(errno) + "\n";
  (void)!write(STDERR_FILENO, line.data(), line.size());
  _exit(127);
}

std::string describe(int status) {
  if (WIFSIGNALED(status)) return std::string("was killed by signal ") + std::to_string(WTERMSIG(status));
  return "exited with code " + std::to_string(WEXITSTATUS(status));
}

int exit_code_of(int status) { return WIFSIGNALED(status) ? 128 + WTERMSIG(status) : WEXITSTATUS(status); }

// Each rank leads its own process group: the signal reaches what the rank started too.
void signal_alive(const std::vector<pid_t>& pids, int signal) {
  for (pid_t pid : pids)
    if (pid > 0) kill(-pid, signal);
}

}  // namespace

int free_port(const std::string& address) {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) throw Error("ssdd launch: cannot open a socket: " + std::string(std::strerror(errno)));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = 0;
  if (inet_pton(AF_INET, address.c_str(), &addr.sin_addr) != 1) {
    close(fd);
    throw ConfigError("--master-addr", "expected an IPv4 address of this machine, found '" + address + "'");
  }
  socklen_t length = sizeof addr;
  if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &length) != 0) {
    const std::string why = std::strerror(errno);
    close(fd);
    throw Error("ssdd launch: no free port on " + address + ": " + why);
  }
  close(fd);
  return ntohs(addr.sin_port);
}

int launch_local(const std::vector<std::string>& command, const LaunchOptions& o, std::ostream& log) {
  if (command.empty()) throw ConfigError("ssdd launch", "give the command after --");
  if (o.ranks < 1) throw ConfigError("-n", "expected at least 1 rank, found " + std::to_string(o.ranks));
  const int port = o.master_port > 0 ? o.master_port : free_port(o.master_addr);
  catch_stop_signals();
  std::vector<pid_t> pids(static_cast<size_t>(o.ranks), 0);
  for (int rank = 0; rank < o.ranks; ++rank) {
    const pid_t pid = fork();
    if (pid < 0) {
      signal_alive(pids, SIGKILL);
      throw Error("ssdd launch: fork failed: " + std::string(std::strerror(errno)));
    }
    if (pid == 0) exec_rank(command, o, rank, port);
    setpgid(pid, pid);  // here too, so that no signal of ours can reach it before its own call
    pids[static_cast<size_t>(rank)] = pid;
  }
  int alive = o.ranks, result = 0;
  std::chrono::steady_clock::time_point kill_at{};
  bool stopping = false;
  while (alive > 0) {
    if (const int signal = g_signal) {  // passed on once; the ranks stop at their next step
      g_signal = 0;
      signal_alive(pids, signal);
    }
    int status = 0;
    const pid_t pid = waitpid(-1, &status, WNOHANG);
    if (pid <= 0) {
      if (stopping && std::chrono::steady_clock::now() >= kill_at) signal_alive(pids, SIGKILL);
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
      continue;
    }
    int rank = 0;
    while (rank < o.ranks && pids[static_cast<size_t>(rank)] != pid) ++rank;
    if (rank == o.ranks) continue;  // not one of ours
    pids[static_cast<size_t>(rank)] = 0;
    --alive;
    if (exit_code_of(status) != 0 && result == 0) {
      result = exit_code_of(status);
      log << "ssdd launch: rank " << rank << " " << describe(status)
          << (alive > 0 ? "; stopping the other ranks" : "") << std::endl;
      signal_alive(pids, SIGTERM);
      stopping = true;
      kill_at = std::chrono::steady_clock::now() + std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                                                       std::chrono::duration<double>(o.grace_seconds));
    }
  }
  return result;
}

}  // namespace ssdd
