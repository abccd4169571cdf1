#include <CLI/CLI.hpp>

#include <chrono>
#include <cstdio>
#include <iostream>

#include "ssdd/cli/commands.h"
#include "ssdd/core/error.h"
#include "ssdd/core/launch.h"
#include "ssdd/core/limits.h"
#include "ssdd/core/runtime.h"
#include "ssdd/train/collective_check.h"
#include "ssdd/train/distributed.h"

namespace ssdd::cli {

void add_launch_command(CLI::App& app, Action& action) {
  auto* cmd = app.add_subcommand("launch", "Run a command as N local ranks of one job (torchrun's variables)");
  struct State {
    LaunchOptions options;
    std::vector<std::string> command;
  };
  auto s = std::make_shared<State>();
  cmd->add_option("-n,--ranks", s->options.ranks, "Ranks (processes) to start")->capture_default_str();
  cmd->add_option("--master-addr", s->options.master_addr, "Address of rank 0's store")->capture_default_str();
  cmd->add_option("--master-port", s->options.master_port, "Port of rank 0's store (0: a free one)")
      ->capture_default_str();
  cmd->add_option("--grace", s->options.grace_seconds,
                  "Seconds the other ranks get to stop (SIGTERM) after one fails, before SIGKILL")
      ->capture_default_str();
  cmd->add_option("command", s->command, "After --: an ssdd subcommand with its options, or any program")
      ->required();
  cmd->footer(
      "Each rank gets RANK, LOCAL_RANK, WORLD_SIZE, LOCAL_WORLD_SIZE, MASTER_ADDR and MASTER_PORT, as under\n"
      "torchrun, so `ssdd launch -n 2 -- collectives` and `torchrun --nproc-per-node 2 --no-python ssdd collectives`\n"
      "start the same ranks. When one rank fails the others are stopped and the launcher exits with its code.\n"
      "Example: ssdd launch -n 2 -- collectives");
  cmd->callback([s, &app, &action] {
    action = [s, &app] {
      check_at_least("command line", "ranks", s->options.ranks, 1);
      std::vector<std::string> command = s->command;
      // An ssdd subcommand runs this very executable.
      if (!app.get_subcommands([&](const CLI::App* c) { return c->get_name() == command[0]; }).empty())
        command.insert(command.begin(), "/proc/self/exe");
      const int code = launch_local(command, s->options, std::cerr);
      if (code != 0) throw ExitCode{code};
    };
  });
}

void add_collectives_command(CLI::App& app, Action& action) {
  auto* cmd = app.add_subcommand(
      "collectives", "Check a multi-process job's process group: every collective ssdd uses, and its speed");
  struct State {
    std::string backend, device = "cpu";
    int64_t floats = 1 << 20;
    int iterations = 10;
    double timeout = 60;
  };
  auto s = std::make_shared<State>();
  cmd->add_option("--backend", s->backend, "gloo or nccl (default: nccl on cuda, gloo otherwise)");
  cmd->add_option("--device", s->device, "cpu or cuda[:N] (cuda: each rank uses cuda:LOCAL_RANK)")
      ->capture_default_str();
  cmd->add_option("--floats", s->floats, "Floats in the timed all-reduce")->capture_default_str();
  cmd->add_option("--iterations", s->iterations, "Timed all-reduces")->capture_default_str();
  cmd->add_option("--timeout", s->timeout, "Seconds a collective may wait for the other ranks")->capture_default_str();
  cmd->footer("Run it as the job runs: `ssdd launch -n 2 -- collectives`, or under torchrun or srun.");
  cmd->callback([s, &action] {
    action = [s] {
      check_at_least("command line", "floats", s->floats, 1);
      check_at_least("command line", "iterations", s->iterations, 1);
      const train::World world = train::world_from_environment();
      if (!world.distributed())
        throw ConfigError("ssdd collectives", "one process has no group to check; run it under `ssdd launch -n N --`, "
                                              "torchrun or srun");
      c10::Device device = parse_device(s->device);
      if (device.is_cuda() && !device.has_index()) device = c10::Device(c10::kCUDA, world.local_rank);
      const auto timeout = std::chrono::milliseconds(static_cast<int64_t>(s->timeout * 1000));
      train::ProcessGroup group(world, s->backend, device, timeout);
      const auto check = train::check_collectives(group, s->floats, s->iterations, device);
      for (const auto& failure : check.failures)
        std::fprintf(stderr, "ssdd collectives: rank %d: %s\n", world.rank, failure.c_str());
      if (world.rank == 0)
        std::printf("%d ranks (%s variables, %s, %s): all-reduce of %lld floats %.3f ms, bus %.2f GB/s; %s\n", world.size,
                    world.launcher.c_str(), group.backend().c_str(), device.str().c_str(),
                    static_cast<long long>(s->floats), check.all_reduce_seconds * 1e3, check.bus_gb_per_second,
                    check.failures.empty() ? "every collective gave the expected values" : "WRONG VALUES");
      if (!check.failures.empty()) throw Error("rank " + std::to_string(world.rank) + ": a collective gave wrong values");
    };
  });
}

}  // namespace ssdd::cli
