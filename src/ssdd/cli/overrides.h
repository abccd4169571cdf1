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

namespace ssdd::cli {

template <class Config>
class Overrides {
 public:
  template <class T>
  CLI::Option* add(CLI::App& app, const std::string& flag, T Config::*field, const std::string& help) {
    CLI::Option* option = app.add_option(flag, scratch_.get()->*field, help);
    setters_.emplace_back(option, [scratch = scratch_, field](Config& c) { c.*field = scratch.get()->*field; });
    return option;
  }
  // A field of a nested struct, e.g. &DistillConfig::pool, &PoolOptions::arch.
  template <class Inner, class T>
  CLI::Option* add(CLI::App& app, const std::string& flag, Inner Config::*outer, T Inner::*field,
                   const std::string& help) {
    CLI::Option* option = app.add_option(flag, (scratch_.get()->*outer).*field, help);
    setters_.emplace_back(option, [scratch = scratch_, outer, field](Config& c) {
      (c.*outer).*field = (scratch.get()->*outer).*field;
    });
    return option;
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
