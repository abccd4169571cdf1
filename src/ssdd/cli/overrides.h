// Options that override a preset: each flag writes a field of a scratch config, and
// apply() copies only the flags the user gave onto the chosen preset. So
// `--preset cpu --epochs 5` means "the cpu preset, but 5 epochs".
#pragma once
#include <CLI/CLI.hpp>

#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "ssdd/core/choice.h"
#include "ssdd/core/runtime_options.h"
#include "ssdd/train/job.h"

namespace ssdd::cli {

// --backend and --timeout of a command whose stage can run as several ranks (train/job.h).
inline void add_job_options(CLI::App& app) {
  app.add_option_function<std::string>(
      "--backend",
      [](const std::string& backend) {
        auto o = train::job_options();
        o.backend = backend;
        train::set_job_options(o);
      },
      "Under a launcher: gloo or nccl (default: nccl on cuda, gloo otherwise)");
  app.add_option_function<double>(
         "--timeout",
         [](double seconds) {
           auto o = train::job_options();
           o.timeout = std::chrono::milliseconds(static_cast<int64_t>(seconds * 1000));
           train::set_job_options(o);
         },
         "Under a launcher: seconds a rank waits for the others before the job stops (default 1800)")
      ->check(CLI::Range(1.0, 7.0 * 24 * 3600));
}

// An option writing `target`. An enum (core/choice.h) takes its names only (not the
// numbers behind them), --help lists them, and an unknown one is refused with them.
template <class T>
CLI::Option* add_setting(CLI::App& app, const std::string& flag, T& target, const std::string& help) {
  if constexpr (is_choice<T>::value) {
    std::vector<std::string> names;
    for (const auto& [value, name] : choice_names(T{})) names.push_back(name);
    return app
        .add_option_function<std::string>(flag, [&target](const std::string& name) { find_choice(name, target); }, help)
        ->check(CLI::IsMember(names));
  } else {
    return app.add_option(flag, target, help);
  }
}

// --seed, --threads and --device writing `runtime` directly, defaults shown (a command
// without presets: a baseline, a benchmark).
inline void add_runtime_options(CLI::App& app, RuntimeOptions& runtime, const std::string& seed_help) {
  app.add_option("--seed", runtime.seed, seed_help)->capture_default_str();
  app.add_option("--threads", runtime.threads, "CPU threads (0 = all cores)")->capture_default_str();
  app.add_option("--device", runtime.device, "cpu or cuda[:N]")->capture_default_str();
}

template <class Config>
class Overrides {
 public:
  template <class T>
  CLI::Option* add(CLI::App& app, const std::string& flag, T Config::*field, const std::string& help) {
    CLI::Option* option = add_setting(app, flag, scratch_.get()->*field, help);
    setters_.emplace_back(option, [scratch = scratch_, field](Config& c) { c.*field = scratch.get()->*field; });
    return option;
  }
  // A field of a nested struct, e.g. &DistillConfig::pool, &PoolOptions::arch.
  template <class Inner, class T>
  CLI::Option* add(CLI::App& app, const std::string& flag, Inner Config::*outer, T Inner::*field,
                   const std::string& help) {
    CLI::Option* option = add_setting(app, flag, (scratch_.get()->*outer).*field, help);
    setters_.emplace_back(option, [scratch = scratch_, outer, field](Config& c) {
      (c.*outer).*field = (scratch.get()->*outer).*field;
    });
    return option;
  }
  // --seed, --threads and --device onto Config::runtime (core/runtime_options.h).
  void add_runtime(CLI::App& app, const std::string& seed_help = "Random seed") {
    add(app, "--seed", &Config::runtime, &RuntimeOptions::seed, seed_help);
    add(app, "--threads", &Config::runtime, &RuntimeOptions::threads, "CPU threads (0 = all cores)");
    add(app, "--device", &Config::runtime, &RuntimeOptions::device, "cpu or cuda[:N]");
  }
  void apply(Config& config) const {
    for (const auto& [option, set] : setters_)
      if (option->count() > 0) set(config);
  }

 private:
  std::shared_ptr<Config> scratch_ = std::make_shared<Config>();
  std::vector<std::pair<CLI::Option*, std::function<void(Config&)>>> setters_;
};

}  // namespace ssdd::cli
