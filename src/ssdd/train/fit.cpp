#include "ssdd/train/fit.h"

#include <ATen/CPUGeneratorImpl.h>

#include <chrono>
#include <cmath>
#include <limits>

#include "ssdd/core/error.h"
#include "ssdd/core/fault.h"
#include "ssdd/core/format.h"
#include "ssdd/core/stop.h"
#include "ssdd/train/checkpoint.h"
#include "ssdd/train/progress.h"
#include "ssdd/train/state.h"

namespace ssdd::train {

int64_t steps_per_epoch(int64_t num_items, int64_t batch_size, bool drop_last) {
  const int64_t batch = std::min(batch_size, num_items);
  if (batch <= 0) return 0;
  return drop_last ? num_items / batch : (num_items + batch - 1) / batch;
}

void set_learning_rate(torch::optim::Optimizer& optimizer, double lr) {
  for (auto& group : optimizer.param_groups()) group.options().set_lr(lr);
}

namespace {

constexpr const char* kOptimizerKey = "__optimizer__";
constexpr const char* kGeneratorKey = "__generator__";
// Only in a checkpoint written inside an epoch (on a stop): the epoch's batch order and
// the sum of its batch losses so far.
constexpr const char* kOrderKey = "__epoch_order__";
constexpr const char* kLossSumKey = "__epoch_loss_sum__";

// Where a run stands inside an unfinished epoch.
struct EpochPosition {
  int64_t epoch = 0;       // 0-based
  int64_t next_batch = 0;  // batches of it done (all of them: its end is still to run)
  at::Tensor order;        // its batch order; undefined: at the epoch's start
  at::Tensor loss_sum;     // sum of its batch losses (double)
  double seconds = 0;      // its time so far
};

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

// `within`: a checkpoint inside an epoch, else one after `epochs_done` epochs.
void write_checkpoint(const FitOptions& options, const FitHooks& hooks, torch::optim::Optimizer& optimizer,
                      at::Generator& gen, int64_t epochs_done, int64_t steps, const FitResult& result,
                      const EpochPosition* within = nullptr) {
  Checkpoint c;
  c.tensors = hooks.save_state();
  c.tensors[kOptimizerKey] = optimizer_state(optimizer);
  c.tensors[kGeneratorKey] = gen.get_state();
  c.meta = {{"stage", options.stage},       {"config_hash", options.config_hash},
            {"steps", steps},
            {"epoch_loss", result.epoch_loss}, {"epoch_seconds", result.epoch_seconds},
            {"seconds", result.seconds}};
  if (within) {
    // No "epochs_done" here: an ssdd that cannot resume inside an epoch then refuses the
    // checkpoint instead of replaying the epoch from a generator that has moved on.
    c.meta["mid_epoch"] = {{"epoch", within->epoch}, {"next_batch", within->next_batch}, {"seconds", within->seconds}};
    c.tensors[kOrderKey] = within->order;
    c.tensors[kLossSumKey] = within->loss_sum.to(torch::kCPU);
  } else {
    c.meta["epochs_done"] = epochs_done;
  }
  save_checkpoint(options.checkpoint_dir, c);
}

// The position a checkpoint resumes at: the start of an epoch (older checkpoints, and
// those written at an epoch's end) or inside one (written on a stop).
EpochPosition resume_position(const Checkpoint& c, int64_t num_items, int64_t steps_per_epoch, const std::string& dir) {
  EpochPosition at;
  if (!c.meta.contains("mid_epoch")) {
    at.epoch = c.meta.at("epochs_done").get<int64_t>();
    return at;
  }
  const auto& mid = c.meta.at("mid_epoch");
  at.epoch = mid.at("epoch").get<int64_t>();
  at.next_batch = mid.at("next_batch").get<int64_t>();
  at.seconds = mid.at("seconds").get<double>();
  at.order = c.tensors.at(kOrderKey);
  at.loss_sum = c.tensors.at(kLossSumKey);
  if (at.order.numel() != num_items || at.next_batch < 1 || at.next_batch > steps_per_epoch)
    throw DataError(dir, "a mid-epoch checkpoint of " + std::to_string(num_items) + " items and " +
                             std::to_string(steps_per_epoch) + " batches an epoch",
                    std::to_string(at.order.numel()) + " items, next batch " + std::to_string(at.next_batch));
  return at;
}

}  // namespace

FitResult fit(int64_t num_items, torch::optim::Optimizer& optimizer, const FitOptions& options,
              const FitHooks& hooks) {
  if (!hooks.batch_loss || !hooks.learning_rate) throw Error(options.stage + ": fit needs batch_loss and learning_rate");
  const bool checkpoints = !options.checkpoint_dir.empty();
  if (checkpoints && (!hooks.save_state || !hooks.load_state))
    throw Error(options.stage + ": checkpoints need save_state and load_state");
  if (options.steps < 0)
    throw ConfigError(options.stage, "steps must not be negative, found " + std::to_string(options.steps));
  if (options.steps == 0 && options.epochs < 1)
    throw ConfigError(options.stage, "epochs must be at least 1, found " + std::to_string(options.epochs));
  const int64_t batch = std::min(options.batch_size, num_items);
  if (batch <= 0) throw ConfigError(options.stage, "no items to train on");
  const int64_t batches_per_epoch = steps_per_epoch(num_items, batch, options.drop_last);
  const int64_t epochs = options.steps > 0 ? (options.steps + batches_per_epoch - 1) / batches_per_epoch : options.epochs;
  const int64_t total_steps = options.steps > 0 ? options.steps : batches_per_epoch * epochs;
  // Batches of an epoch: all of them, but for a step budget's last epoch.
  auto batches_of = [&](int64_t epoch) { return std::min(batches_per_epoch, total_steps - epoch * batches_per_epoch); };

  at::Generator gen = at::make_generator<at::CPUGeneratorImpl>(options.seed);
  FitResult result;
  EpochPosition resume_at;
  if (checkpoints && options.resume) {
    std::string note;
    if (auto c = load_checkpoint(options.checkpoint_dir, &note)) {
      if (c->meta.value("config_hash", "") != options.config_hash)
        throw ConfigError(options.checkpoint_dir, "the checkpoint belongs to another configuration (config hash " +
                                                      c->meta.value("config_hash", "") + ", this run " +
                                                      options.config_hash + "); use a new output folder");
      resume_at = resume_position(*c, num_items, batches_per_epoch, options.checkpoint_dir);
      hooks.load_state(c->tensors);
      load_optimizer_state(optimizer, c->tensors.at(kOptimizerKey));
      gen.set_state(c->tensors.at(kGeneratorKey));
      result.epoch_loss = c->meta.at("epoch_loss").get<std::vector<double>>();
      result.epoch_seconds = c->meta.at("epoch_seconds").get<std::vector<double>>();
      result.seconds = c->meta.at("seconds").get<double>();
      result.resumed_from_epoch = resume_at.epoch;
      if (hooks.log)
        hooks.log(options.stage + ": " + note + " at epoch " + std::to_string(resume_at.epoch) +
                  (resume_at.order.defined() ? ", batch " + std::to_string(resume_at.next_batch) : ""));
    }
  }

  int64_t step = resume_at.epoch * batches_per_epoch + resume_at.next_batch;
  Progress progress(options.stage, total_steps, options.unit, step);
  if (hooks.log) progress.set_log(hooks.log);
  double items_this_process = 0;
  const auto process_start = std::chrono::steady_clock::now();
  // A stop (SIGINT/SIGTERM) inside an epoch: its checkpoint, then Stopped. A run without
  // checkpoints starts its loop again on resume, so it only stops.
  auto stop_inside = [&](const EpochPosition& at) {
    if (checkpoints) {
      const double loss_so_far = at.loss_sum.item<double>();
      if (!std::isfinite(loss_so_far))
        throw NumericsError(options.stage, step, "the loss became " + std::to_string(loss_so_far) + " in epoch " +
                                                     std::to_string(at.epoch + 1));
      write_checkpoint(options, hooks, optimizer, gen, at.epoch, step, result, &at);
    }
    throw Stopped(stop_signal(), options.stage, step);
  };
  for (int64_t epoch = resume_at.epoch; epoch < epochs; ++epoch) {
    const int64_t batches = batches_of(epoch);
    const bool resumed_inside = epoch == resume_at.epoch && resume_at.order.defined();
    const auto epoch_start = std::chrono::steady_clock::now();
    const double earlier_seconds = resumed_inside ? resume_at.seconds : 0.0;
    const at::Tensor order = resumed_inside ? resume_at.order : torch::randperm(num_items, gen, torch::kLong);
    at::Tensor loss_sum = resumed_inside ? resume_at.loss_sum : at::Tensor();  // stays on the loss's device: no per-step host sync
    auto position = [&](int64_t next_batch) {
      return EpochPosition{epoch, next_batch, order, loss_sum, earlier_seconds + seconds_since(epoch_start)};
    };
    for (int64_t b = resumed_inside ? resume_at.next_batch : 0; b < batches; ++b) {
      const int64_t begin = b * batch;
      const at::Tensor index = order.slice(0, begin, std::min(begin + batch, num_items));
      set_learning_rate(optimizer, hooks.learning_rate(step, total_steps));
      optimizer.zero_grad();
      at::Tensor loss = hooks.batch_loss(index, gen);
      if (fault_at(options.stage + ".nan_loss", step)) loss = loss * std::numeric_limits<double>::quiet_NaN();
      loss.backward();
      if (hooks.after_backward) hooks.after_backward();
      optimizer.step();
      ++step;
      const at::Tensor detached = loss.detach().to(torch::kDouble);
      loss_sum = loss_sum.defined() ? loss_sum.to(detached.device()) + detached : detached;
      items_this_process += static_cast<double>(index.size(0));
      if (!options.quiet) {
        auto fields = [&] { return fmt::format("epoch {}/{} | loss {:.4f}", epoch + 1, epochs, loss.item<double>()); };
        progress.update(step, fields, static_cast<double>(index.size(0)));
      }
      // After the epoch's last batch the stop waits for the epoch's own checkpoint.
      if (stop_requested() && b + 1 < batches) stop_inside(position(b + 1));
    }
    const double mean_loss = loss_sum.item<double>() / static_cast<double>(batches);
    if (!std::isfinite(mean_loss))
      throw NumericsError(options.stage, step, "the loss became " + std::to_string(mean_loss) + " in epoch " +
                                                   std::to_string(epoch + 1));
    const double epoch_seconds = earlier_seconds + seconds_since(epoch_start);
    if (hooks.on_epoch_end) {
      try {
        hooks.on_epoch_end(epoch, mean_loss);
      } catch (const Stopped& stopped) {  // inside the hook (a probe): the epoch's batches are kept
        const EpochPosition batches_done = position(batches);
        if (checkpoints) write_checkpoint(options, hooks, optimizer, gen, epoch, step, result, &batches_done);
        throw Stopped(stopped.signal(), options.stage, step);  // named by the loop that resumes
      }
    }
    result.epoch_loss.push_back(mean_loss);
    result.epoch_seconds.push_back(epoch_seconds);
    result.seconds += epoch_seconds;
    const bool last = epoch + 1 == epochs;
    const bool stopping = stop_requested() && !last;
    if (checkpoints && ((epoch + 1) % options.checkpoint_every_epochs == 0 || last || stopping))
      write_checkpoint(options, hooks, optimizer, gen, epoch + 1, step, result);
    if (stopping) throw Stopped(stop_signal(), options.stage, step);
  }
  if (!options.quiet) {
    progress.finish(
        fmt::format("done | final loss {:.4f}", result.epoch_loss.empty() ? NAN : result.epoch_loss.back()));
  }
  const double process_seconds = seconds_since(process_start);
  result.items_per_second = process_seconds > 0 ? items_this_process / process_seconds : 0;
  result.steps = step;
  return result;
}

}  // namespace ssdd::train
