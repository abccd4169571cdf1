#include "ssdd/train/fit.h"

#include <ATen/CPUGeneratorImpl.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <limits>

#include "ssdd/core/error.h"
#include "ssdd/core/fault.h"
#include "ssdd/train/checkpoint.h"
#include "ssdd/train/progress.h"
#include "ssdd/train/state.h"

namespace ssdd::train {

void set_learning_rate(torch::optim::Optimizer& optimizer, double lr) {
  for (auto& group : optimizer.param_groups()) group.options().set_lr(lr);
}

namespace {

constexpr const char* kOptimizerKey = "__optimizer__";
constexpr const char* kGeneratorKey = "__generator__";

void write_checkpoint(const FitOptions& options, const FitHooks& hooks, torch::optim::Optimizer& optimizer,
                      at::Generator& gen, int64_t epochs_done, int64_t steps, const FitResult& result) {
  Checkpoint c;
  c.tensors = hooks.save_state();
  c.tensors[kOptimizerKey] = optimizer_state(optimizer);
  c.tensors[kGeneratorKey] = gen.get_state();
  c.meta = {{"stage", options.stage},       {"config_hash", options.config_hash},
            {"epochs_done", epochs_done},   {"steps", steps},
            {"epoch_loss", result.epoch_loss}, {"epoch_seconds", result.epoch_seconds},
            {"seconds", result.seconds}};
  save_checkpoint(options.checkpoint_dir, c);
}

}  // namespace

FitResult fit(int64_t num_items, torch::optim::Optimizer& optimizer, const FitOptions& options,
              const FitHooks& hooks) {
  if (!hooks.batch_loss || !hooks.learning_rate) throw Error(options.stage + ": fit needs batch_loss and learning_rate");
  const bool checkpoints = !options.checkpoint_dir.empty();
  if (checkpoints && (!hooks.save_state || !hooks.load_state))
    throw Error(options.stage + ": checkpoints need save_state and load_state");
  const int64_t batch = std::min(options.batch_size, num_items);
  if (batch <= 0) throw ConfigError(options.stage, "no items to train on");
  const int64_t steps_per_epoch = options.drop_last ? num_items / batch : (num_items + batch - 1) / batch;
  const int64_t total_steps = steps_per_epoch * options.epochs;

  at::Generator gen = at::make_generator<at::CPUGeneratorImpl>(options.seed);
  FitResult result;
  int64_t start_epoch = 0;
  if (checkpoints && options.resume) {
    std::string note;
    if (auto c = load_checkpoint(options.checkpoint_dir, &note)) {
      if (c->meta.value("config_hash", "") != options.config_hash)
        throw ConfigError(options.checkpoint_dir, "the checkpoint belongs to another configuration (config hash " +
                                                      c->meta.value("config_hash", "") + ", this run " +
                                                      options.config_hash + "); use a new output folder");
      hooks.load_state(c->tensors);
      load_optimizer_state(optimizer, c->tensors.at(kOptimizerKey));
      gen.set_state(c->tensors.at(kGeneratorKey));
      start_epoch = c->meta.at("epochs_done").get<int64_t>();
      result.epoch_loss = c->meta.at("epoch_loss").get<std::vector<double>>();
      result.epoch_seconds = c->meta.at("epoch_seconds").get<std::vector<double>>();
      result.seconds = c->meta.at("seconds").get<double>();
      result.resumed_from_epoch = start_epoch;
      if (hooks.log) hooks.log(options.stage + ": " + note + " at epoch " + std::to_string(start_epoch));
    }
  }

  Progress progress(options.stage, total_steps, options.unit, start_epoch * steps_per_epoch);
  if (hooks.log) progress.set_log(hooks.log);
  double items_this_process = 0;
  const auto process_start = std::chrono::steady_clock::now();
  int64_t step = start_epoch * steps_per_epoch;
  for (int64_t epoch = start_epoch; epoch < options.epochs; ++epoch) {
    const auto epoch_start = std::chrono::steady_clock::now();
    const at::Tensor order = torch::randperm(num_items, gen, torch::kLong);
    at::Tensor loss_sum;  // stays on the loss's device: no per-step host sync
    for (int64_t b = 0; b < steps_per_epoch; ++b, ++step) {
      const int64_t begin = b * batch;
      const at::Tensor index = order.slice(0, begin, std::min(begin + batch, num_items));
      set_learning_rate(optimizer, hooks.learning_rate(step, total_steps));
      optimizer.zero_grad();
      at::Tensor loss = hooks.batch_loss(index, gen);
      if (fault_at(options.stage + ".nan_loss", step)) loss = loss * std::numeric_limits<double>::quiet_NaN();
      loss.backward();
      if (hooks.after_backward) hooks.after_backward();
      optimizer.step();
      const at::Tensor detached = loss.detach().to(torch::kDouble);
      loss_sum = loss_sum.defined() ? loss_sum + detached : detached;
      items_this_process += static_cast<double>(index.size(0));
      if (!options.quiet) {
        auto fields = [&] {
          char text[96];
          std::snprintf(text, sizeof text, "epoch %lld/%lld | loss %.4f", static_cast<long long>(epoch + 1),
                        static_cast<long long>(options.epochs), loss.item<double>());
          return std::string(text);
        };
        progress.update(step + 1, fields, static_cast<double>(index.size(0)));
      }
    }
    const double mean_loss = (loss_sum.defined() ? loss_sum.item<double>() : NAN) / static_cast<double>(std::max<int64_t>(1, steps_per_epoch));
    if (!std::isfinite(mean_loss))
      throw NumericsError(options.stage, step, "the loss became " + std::to_string(mean_loss) + " in epoch " +
                                                   std::to_string(epoch + 1));
    const double epoch_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - epoch_start).count();
    result.epoch_loss.push_back(mean_loss);
    result.epoch_seconds.push_back(epoch_seconds);
    result.seconds += epoch_seconds;
    if (hooks.on_epoch_end) hooks.on_epoch_end(epoch, mean_loss);
    const bool last = epoch + 1 == options.epochs;
    if (checkpoints && ((epoch + 1) % options.checkpoint_every_epochs == 0 || last))
      write_checkpoint(options, hooks, optimizer, gen, epoch + 1, step, result);
  }
  if (!options.quiet) {
    char fields[64];
    std::snprintf(fields, sizeof fields, "done | final loss %.4f", result.epoch_loss.empty() ? NAN : result.epoch_loss.back());
    progress.finish(fields);
  }
  const double process_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - process_start).count();
  result.items_per_second = process_seconds > 0 ? items_this_process / process_seconds : 0;
  result.steps = step;
  return result;
}

}  // namespace ssdd::train
