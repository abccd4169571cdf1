#include "ssdd/train/fit.h"

#include <ATen/CPUGeneratorImpl.h>

#include <chrono>
#include <cmath>
#include <limits>
#include <torch/torch.h>

#include "ssdd/core/error.h"
#include "ssdd/core/fault.h"
#include "ssdd/core/format.h"
#include "ssdd/core/stop.h"
#include "ssdd/train/checkpoint.h"
#include "ssdd/train/loop.h"
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
  double loss_sum = 0;     // sum of its batch losses
  double seconds = 0;      // its time so far
};

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

// The checkpoint of a run at `position`: inside its epoch (`inside`: written on a stop,
// with the epoch's batch order and loss so far) or after `position.epoch + 1` epochs.
Checkpoint fit_checkpoint(const FitOptions& options, const FitHooks& hooks, torch::optim::Optimizer& optimizer,
                          at::Generator& gen, int64_t steps, const FitResult& result, const EpochPosition& position,
                          bool inside) {
  Checkpoint c;
  c.tensors = hooks.save_state();
  c.tensors[kOptimizerKey] = optimizer_state(optimizer);
  c.tensors[kGeneratorKey] = gen.get_state();
  c.meta = {{"stage", options.stage},
            {"steps", steps},
            {"epoch_loss", result.epoch_loss},
            {"epoch_seconds", result.epoch_seconds},
            {"seconds", result.seconds}};
  if (inside) {
    // No "epochs_done" here: an ssdd that cannot resume inside an epoch then refuses the
    // checkpoint instead of replaying the epoch from a generator that has moved on.
    c.meta["mid_epoch"] = {{"epoch", position.epoch}, {"next_batch", position.next_batch}, {"seconds", position.seconds}};
    c.tensors[kOrderKey] = position.order;
    c.tensors[kLossSumKey] = torch::scalar_tensor(position.loss_sum, torch::kDouble);
  } else {
    c.meta["epochs_done"] = position.epoch + 1;
  }
  return c;
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
  at.loss_sum = c.tensors.at(kLossSumKey).item<double>();
  if (at.order.numel() != num_items || at.next_batch < 1 || at.next_batch > steps_per_epoch)
    throw DataError(dir, "a mid-epoch checkpoint of " + std::to_string(num_items) + " items and " +
                             std::to_string(steps_per_epoch) + " batches an epoch",
                    std::to_string(at.order.numel()) + " items, next batch " + std::to_string(at.next_batch));
  return at;
}

// fit() as an object: the epochs of shuffled batches over train::Loop, which keeps the step
// count, the deferred loss reads (checked there for divergence), progress and checkpoints.
// `position` is where the run stands; the checkpoint hook writes it.
class EpochRun {
 public:
  EpochRun(int64_t num_items, torch::optim::Optimizer& optimizer, const FitOptions& options, const FitHooks& hooks)
      : num_items_(num_items), optimizer_(optimizer), options_(options), hooks_(hooks),
        batch_(std::min(options.batch_size, num_items)),
        batches_per_epoch_(steps_per_epoch(num_items, batch_, options.drop_last)),
        epochs_(options.steps > 0 ? (options.steps + batches_per_epoch_ - 1) / batches_per_epoch_ : options.epochs),
        total_steps_(options.steps > 0 ? options.steps : batches_per_epoch_ * epochs_),
        gen_(at::make_generator<at::CPUGeneratorImpl>(options.seed)),
        loop_(loop_options(), loop_hooks()) {}

  FitResult run() {
    step_ = loop_.start();
    const EpochPosition resume_at = position_;
    const auto process_start = std::chrono::steady_clock::now();
    for (int64_t epoch = resume_at.epoch; epoch < epochs_; ++epoch) {
      const bool resumed_inside = epoch == resume_at.epoch && resume_at.order.defined();
      run_epoch(epoch, resumed_inside ? &resume_at : nullptr);
    }
    loop_.finish(fmt::format("done | final loss {:.4f}", result_.epoch_loss.empty() ? NAN : result_.epoch_loss.back()));
    const double process_seconds = seconds_since(process_start);
    result_.items_per_second = process_seconds > 0 ? items_this_process_ / process_seconds : 0;
    result_.steps = step_;
    return result_;
  }

 private:
  LoopOptions loop_options() const {
    LoopOptions o;
    o.stage = options_.stage;
    o.total_steps = total_steps_;
    o.checkpoint_dir = options_.checkpoint_dir;  // checkpoints at epoch ends and stops only (below)
    o.resume = options_.resume;
    o.identity = {{"config_hash", options_.config_hash}};  // a checkpoint of another config is refused
    o.unit = options_.unit;
    o.quiet = options_.quiet;
    o.log = hooks_.log;
    o.group = options_.group;
    return o;
  }

  LoopHooks loop_hooks() {
    LoopHooks h;
    h.save = [this](int64_t steps) {
      position_.seconds = earlier_seconds_ + seconds_since(epoch_start_);
      return fit_checkpoint(options_, hooks_, optimizer_, gen_, steps, result_, position_, inside_epoch_);
    };
    h.restore = [this](const Checkpoint& c) {
      position_ = resume_position(c, num_items_, batches_per_epoch_, options_.checkpoint_dir);
      hooks_.load_state(c.tensors);
      load_optimizer_state(optimizer_, c.tensors.at(kOptimizerKey));
      gen_.set_state(c.tensors.at(kGeneratorKey));
      result_.epoch_loss = c.meta.at("epoch_loss").get<std::vector<double>>();
      result_.epoch_seconds = c.meta.at("epoch_seconds").get<std::vector<double>>();
      result_.seconds = c.meta.at("seconds").get<double>();
      result_.resumed_from_epoch = position_.epoch;
      return position_.epoch * batches_per_epoch_ + position_.next_batch;
    };
    // Each batch's loss, read in order: an epoch's mean is their sum over its batches.
    h.on_read = [this](int64_t step, const std::vector<double>& loss) {
      if (!std::isfinite(loss[0]))
        throw NumericsError(options_.stage, step, "the loss became " + std::to_string(loss[0]) + " in epoch " +
                                                      std::to_string(step / batches_per_epoch_ + 1));
      position_.loss_sum += loss[0];
      last_loss_ = loss[0];
    };
    return h;
  }

  // One epoch: its batches (from `resumed`'s position when resuming inside it), then its end.
  void run_epoch(int64_t epoch, const EpochPosition* resumed) {
    const int64_t batches = std::min(batches_per_epoch_, total_steps_ - epoch * batches_per_epoch_);
    epoch_start_ = std::chrono::steady_clock::now();
    earlier_seconds_ = resumed ? resumed->seconds : 0.0;
    position_.loss_sum = resumed ? resumed->loss_sum : 0.0;
    position_.epoch = epoch;
    position_.order = resumed ? resumed->order : torch::randperm(num_items_, gen_, torch::kLong);
    inside_epoch_ = true;
    for (int64_t b = resumed ? resumed->next_batch : 0; b < batches; ++b) {
      const int64_t begin = b * batch_;
      const at::Tensor index = position_.order.slice(0, begin, std::min(begin + batch_, num_items_));
      set_learning_rate(optimizer_, hooks_.learning_rate(step_, total_steps_));
      optimizer_.zero_grad();
      at::Tensor loss = hooks_.batch_loss(index, gen_);
      if (fault_at(options_.stage + ".nan_loss", step_)) loss = loss * std::numeric_limits<double>::quiet_NaN();
      loss.backward();
      if (options_.group) sum_gradients(*options_.group, optimizer_);
      if (hooks_.after_backward) hooks_.after_backward();
      optimizer_.step();
      ++step_;
      position_.next_batch = b + 1;
      items_this_process_ += static_cast<double>(index.size(0));
      // After the epoch's last batch a stop waits for the epoch's own checkpoint.
      loop_.after_step(step_, {loss}, static_cast<double>(index.size(0)),
                       [&] { return fmt::format("epoch {}/{} | loss {:.4f}", epoch + 1, epochs_, last_loss_); },
                       b + 1 < batches);
    }
    end_epoch(epoch, batches);
  }

  void end_epoch(int64_t epoch, int64_t batches) {
    loop_.read_pending();
    const double mean_loss = position_.loss_sum / static_cast<double>(batches);
    const double epoch_seconds = earlier_seconds_ + seconds_since(epoch_start_);
    if (hooks_.on_epoch_end) {
      try {
        hooks_.on_epoch_end(epoch, mean_loss);
      } catch (const Stopped& stopped) {  // inside the hook (a probe): the epoch's batches are kept
        loop_.checkpoint(step_);
        throw Stopped(stopped.signal(), options_.stage, step_);  // named by the loop that resumes
      }
    }
    result_.epoch_loss.push_back(mean_loss);
    result_.epoch_seconds.push_back(epoch_seconds);
    result_.seconds += epoch_seconds;
    inside_epoch_ = false;
    const bool last = epoch + 1 == epochs_;
    const int stop = last ? 0 : loop_.agreed_stop_signal();  // the ranks of a job stop together
    if ((epoch + 1) % options_.checkpoint_every_epochs == 0 || last || stop) loop_.checkpoint(step_);
    if (stop) throw Stopped(stop, options_.stage, step_);
  }

  const int64_t num_items_;
  torch::optim::Optimizer& optimizer_;
  const FitOptions& options_;
  const FitHooks& hooks_;
  const int64_t batch_, batches_per_epoch_, epochs_, total_steps_;
  at::Generator gen_;
  FitResult result_;
  Loop loop_;
  EpochPosition position_;  // the epoch under way (or the one a checkpoint resumes)
  bool inside_epoch_ = false;
  double last_loss_ = NAN, earlier_seconds_ = 0, items_this_process_ = 0;
  std::chrono::steady_clock::time_point epoch_start_ = std::chrono::steady_clock::now();
  int64_t step_ = 0;
};

}  // namespace

FitResult fit(int64_t num_items, torch::optim::Optimizer& optimizer, const FitOptions& options,
              const FitHooks& hooks) {
  if (!hooks.batch_loss || !hooks.learning_rate) throw Error(options.stage + ": fit needs batch_loss and learning_rate");
  if (!options.checkpoint_dir.empty() && (!hooks.save_state || !hooks.load_state))
    throw Error(options.stage + ": checkpoints need save_state and load_state");
  if (options.steps < 0)
    throw ConfigError(options.stage, "steps must not be negative, found " + std::to_string(options.steps));
  if (options.steps == 0 && options.epochs < 1)
    throw ConfigError(options.stage, "epochs must be at least 1, found " + std::to_string(options.epochs));
  if (std::min(options.batch_size, num_items) <= 0) throw ConfigError(options.stage, "no items to train on");
  return EpochRun(num_items, optimizer, options, hooks).run();
}

}  // namespace ssdd::train
