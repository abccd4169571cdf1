// Options that override a preset: each flag writes a field of a scratch config, and
// apply() copies only the flags the user gave onto the chosen preset. So
// `--preset cpu --epochs 5` means "the cpu preset, but 5 epochs".
#pragma once
#include <CLI/CLI.hpp>

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "ssdd/core/choice.h"
#include "ssdd/core/runtime_options.h"

namespace ssdd::cli {

// An enum option (core/choice.h) takes its names, and an unknown one is refused with them.
template <class T>
CLI::Option* takes_names(CLI::Option* option) {
  if constexpr (is_choice<T>::value) {
    std::map<std::string, T> names;
    for (const auto& [value, name] : choice_names(T{})) names.emplace(name, value);
    option->transform(CLI::CheckedTransformer(names));
  }
  return option;
}

template <class Config>
class Overrides {
 public:
  template <class T>
  CLI::Option* add(CLI::App& app, const std::string& flag, T Config::*field, const std::string& help) {
    CLI::Option* option = takes_names<T>(app.add_option(flag, scratch_.get()->*field, help));
    setters_.emplace_back(option, [scratch = scratch_, field](Config& c) { c.*field = scratch.get()->*field; });
    return option;
  }
  // A field of a nested struct, e.g. &DistillConfig::pool, &PoolOptions::arch.
  template <class Inner, class T>
  CLI::Option* add(CLI::App& app, const std::string& flag, Inner Config::*outer, T Inner::*field,
                   const std::string& help) {
    CLI::Option* option = takes_names<T>(app.add_option(flag, (scratch_.get()->*outer).*field, help));
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
