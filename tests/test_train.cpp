#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <torch/torch.h>

#include "ssdd/core/error.h"
#include "ssdd/io/atomic_file.h"
#include "ssdd/train/checkpoint.h"
#include "ssdd/train/fit.h"
#include "ssdd/train/lars.h"
#include "ssdd/train/progress.h"
#include "ssdd/train/schedule.h"
#include "ssdd/train/state.h"
#include "test_util.h"

using namespace ssdd;

TEST(Schedule, WarmupCosineEndpoints) {
  EXPECT_DOUBLE_EQ(train::warmup_cosine(0, 100, 10, 1.0), 0.1);
  EXPECT_DOUBLE_EQ(train::warmup_cosine(9, 100, 10, 1.0), 1.0);
  EXPECT_DOUBLE_EQ(train::warmup_cosine(10, 100, 10, 1.0), 1.0);
  EXPECT_NEAR(train::warmup_cosine(55, 100, 10, 1.0), 0.5, 1e-12);
  EXPECT_NEAR(train::warmup_cosine(100, 100, 10, 1.0, 0.01), 0.01, 1e-12);
  EXPECT_DOUBLE_EQ(train::linear_decay(0, 10, 2.0, 1e-3), 2.0);
  EXPECT_NEAR(train::linear_decay(10, 10, 2.0, 1e-3), 2e-3, 1e-15);
  EXPECT_NEAR(train::linear_decay(5, 10, 1.0, 0.0), 0.5, 1e-15);
}

TEST(Progress, FormatsDurations) {
  EXPECT_EQ(train::format_duration(42), "42s");
  EXPECT_EQ(train::format_duration(252), "4m12s");
  EXPECT_EQ(train::format_duration(3720), "1h02m");
  EXPECT_EQ(train::format_duration(NAN), "?");
}

TEST(Progress, StaysSilentWhileTheWorkIsShortAndSpeaksOnceItIsLong) {
  std::vector<std::string> lines;
  auto quiet_progress = [&](const std::string& stage, double silent_seconds) {
    auto p = std::make_unique<train::Progress>(stage, 10, "it/s");
    p->set_terminal(false);
    p->set_file_interval(0);  // every update is due: only the silence holds a line back
    p->set_log([&](const std::string& line) { lines.push_back(line); });
    p->set_silent_for(silent_seconds);
    return p;
  };
  auto short_run = quiet_progress("short", 3600);
  for (int64_t step = 1; step <= 10; ++step) short_run->update(step, "loss 1");
  short_run->finish("done");
  EXPECT_TRUE(lines.empty());  // not even the final line

  auto long_run = quiet_progress("long", 0.2);
  long_run->update(1, "loss 1");
  EXPECT_TRUE(lines.empty());
  std::this_thread::sleep_for(std::chrono::milliseconds(250));
  long_run->update(2, "loss 0.5");
  long_run->finish("done");
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_NE(lines[0].find("long 2/10 | loss 0.5 | "), std::string::npos) << lines[0];
  EXPECT_NE(lines[0].find("ETA"), std::string::npos) << lines[0];
  EXPECT_NE(lines[1].find("long 2/10 | done"), std::string::npos) << lines[1];
}

TEST(Lars, MatchesAHandComputedStep) {
  // p = [3, 4] (norm 5), g = [0, 1], wd = 0.5, eta = 0.1
  // g + wd p = [1.5, 3] (norm sqrt(11.25)); trust = 0.1 * 5 / sqrt(11.25)
  auto w = torch::tensor({3.0, 4.0}, torch::kDouble).reshape({1, 2}).requires_grad_(true);
  auto bias = torch::tensor({2.0}, torch::kDouble).requires_grad_(true);
  w.mutable_grad() = torch::tensor({0.0, 1.0}, torch::kDouble).reshape({1, 2});
  bias.mutable_grad() = torch::tensor({0.7}, torch::kDouble);
  train::lars_adapt_gradients({w, bias}, {/*weight_decay=*/0.5, /*eta=*/0.1, /*exclude=*/true});
  const double trust = 0.1 * 5.0 / std::sqrt(11.25);
  EXPECT_NEAR(w.grad()[0][0].item<double>(), 1.5 * trust, 1e-12);
  EXPECT_NEAR(w.grad()[0][1].item<double>(), 3.0 * trust, 1e-12);
  EXPECT_DOUBLE_EQ(bias.grad()[0].item<double>(), 0.7);  // 1-d: excluded
  // Then SGD with momentum 0.9, lr 2: first step p <- p - lr * g.
  torch::optim::SGD sgd({w}, torch::optim::SGDOptions(2.0).momentum(0.9));
  sgd.step();
  EXPECT_NEAR(w[0][0].item<double>(), 3.0 - 2.0 * 1.5 * trust, 1e-12);
}

TEST(Checkpoint, RoundTripAndFallbackToThePreviousGoodOne) {
  TempDir dir;
  train::Checkpoint a{{{"w", torch::ones({2})}}, {{"epoch", 1}}};
  train::Checkpoint b{{{"w", torch::full({2}, 2.0)}}, {{"epoch", 2}}};
  train::save_checkpoint(dir.path(), a);
  train::save_checkpoint(dir.path(), b);
  auto loaded = train::load_checkpoint(dir.path());
  ASSERT_TRUE(loaded);
  EXPECT_EQ(loaded->meta["epoch"], 2);
  // Damage one byte of the newest: the checksum refuses it and the previous is used.
  const std::string newest = dir.path() + "/checkpoint.ckpt";
  std::string bytes = io::read_file(newest);
  bytes[bytes.size() / 2] ^= 0x5a;
  std::ofstream(newest, std::ios::binary | std::ios::trunc) << bytes;
  std::string note;
  loaded = train::load_checkpoint(dir.path(), &note);
  ASSERT_TRUE(loaded);
  EXPECT_EQ(loaded->meta["epoch"], 1);
  EXPECT_NE(note.find("damaged"), std::string::npos) << note;
  EXPECT_TRUE(torch::equal(loaded->tensors.at("w"), torch::ones({2})));
  // Truncated bytes are refused with a typed error.
  EXPECT_THROW(train::checkpoint_from_bytes(bytes.substr(0, 30), "x"), DataError);
  EXPECT_FALSE(train::load_checkpoint(dir.path() + "/empty"));
}

namespace {

// A tiny regression problem trained through fit(); returns the final weights.
struct TinyRun {
  torch::nn::Linear model{torch::nn::LinearOptions(4, 1)};
  torch::Tensor x, y;
  TinyRun() {
    torch::manual_seed(3);
    model = torch::nn::Linear(torch::nn::LinearOptions(4, 1));
    auto gen = at::make_generator<at::CPUGeneratorImpl>(11);
    x = torch::randn({64, 4}, gen);
    y = x.matmul(torch::tensor({1.0f, -2.0f, 0.5f, 3.0f})).unsqueeze(1) + 0.1 * torch::randn({64, 1}, gen);
  }
  train::FitResult run(const std::string& ckpt_dir, int64_t epochs, std::function<void(int64_t)> on_epoch = {},
                       int64_t steps = 0) {
    torch::optim::SGD opt(model->parameters(), torch::optim::SGDOptions(0.05).momentum(0.9));
    train::FitOptions o;
    o.epochs = epochs;
    o.steps = steps;
    o.batch_size = 16;
    o.seed = 5;
    o.checkpoint_dir = ckpt_dir;
    o.quiet = true;
    o.config_hash = "tiny";
    train::FitHooks h;
    h.batch_loss = [&](const torch::Tensor& idx, at::Generator& gen) {
      // Uses the generator, as an augmentation would: noise on the inputs.
      auto noise = 0.01 * torch::randn({idx.size(0), 4}, gen);
      return torch::mse_loss(model(x.index_select(0, idx) + noise), y.index_select(0, idx));
    };
    h.learning_rate = [this](int64_t step, int64_t total) {
      rates_asked.emplace_back(step, total);
      return train::warmup_cosine(step, total, 2, 0.05);
    };
    h.save_state = [&] { return train::module_state(*model); };
    h.load_state = [&](const io::TensorMap& s) { train::load_module_state(*model, s, "ckpt"); };
    if (on_epoch) h.on_epoch_end = [&](int64_t e, double) { on_epoch(e); };
    return run_fit(opt, o, h);
  }
  static train::FitResult run_fit(torch::optim::Optimizer& opt, const train::FitOptions& o, const train::FitHooks& h) {
    return train::fit(64, opt, o, h);
  }
  std::vector<std::pair<int64_t, int64_t>> rates_asked;  // (step, total) of every learning_rate call
};

}  // namespace

TEST(Fit, LowersTheLoss) {
  TinyRun run;
  auto result = run.run("", 20);
  ASSERT_EQ(result.epoch_loss.size(), 20u);
  EXPECT_LT(result.epoch_loss.back(), 0.1 * result.epoch_loss.front());
  EXPECT_EQ(result.steps, 20 * 4);
}

TEST(Fit, ResumeAfterAKillReproducesTheUninterruptedRun) {
  TempDir full_dir, cut_dir;
  TinyRun full;
  full.run(full_dir.path(), 6);
  // "Kill" after epoch 3 (an exception escapes the loop), then resume in a fresh process state.
  {
    TinyRun first;
    struct Killed {};
    EXPECT_THROW(first.run(cut_dir.path(), 6, [](int64_t e) { if (e == 2) throw Killed{}; }), Killed);
  }
  // on_epoch_end runs before that epoch's checkpoint, so two epochs are on disk.
  TinyRun resumed;
  torch::manual_seed(999);  // different global RNG: must not matter
  auto result = resumed.run(cut_dir.path(), 6);
  EXPECT_EQ(result.resumed_from_epoch, 2);
  EXPECT_EQ(result.epoch_loss.size(), 6u);
  EXPECT_TRUE(torch::equal(resumed.model->weight, full.model->weight));
  EXPECT_TRUE(torch::equal(resumed.model->bias, full.model->bias));
}

TEST(Fit, AStepBudgetEndsInsideAnEpochAndResumesToTheSameWeights) {
  // 64 items in batches of 16: 4 steps an epoch, so 10 steps are 2 epochs and half of a third.
  TempDir full_dir, cut_dir;
  TinyRun full;
  const auto result = full.run(full_dir.path(), /*epochs, ignored=*/100, {}, /*steps=*/10);
  EXPECT_EQ(result.steps, 10);
  EXPECT_EQ(result.epoch_loss.size(), 3u);
  ASSERT_EQ(full.rates_asked.size(), 10u);
  EXPECT_EQ(full.rates_asked.back(), std::make_pair(int64_t{9}, int64_t{10}));  // the schedule spans the budget
  {
    TinyRun first;
    struct Killed {};
    EXPECT_THROW(first.run(cut_dir.path(), 100, [](int64_t e) { if (e == 1) throw Killed{}; }, 10), Killed);
  }
  TinyRun resumed;
  const auto again = resumed.run(cut_dir.path(), 100, {}, 10);
  EXPECT_EQ(again.resumed_from_epoch, 1);
  EXPECT_EQ(again.steps, 10);
  EXPECT_TRUE(torch::equal(resumed.model->weight, full.model->weight));
  EXPECT_EQ(train::steps_per_epoch(64, 16, true), 4);
  EXPECT_EQ(train::steps_per_epoch(70, 16, false), 5);
  EXPECT_EQ(train::steps_per_epoch(70, 16, true), 4);
}

TEST(Fit, RefusesACheckpointOfAnotherConfig) {
  TempDir dir;
  TinyRun a;
  a.run(dir.path(), 1);
  torch::optim::SGD opt(a.model->parameters(), torch::optim::SGDOptions(0.1));
  train::FitOptions o;
  o.checkpoint_dir = dir.path();
  o.config_hash = "other";
  o.quiet = true;
  train::FitHooks h;
  h.batch_loss = [&](const torch::Tensor&, at::Generator&) { return a.model(a.x).mean(); };
  h.learning_rate = [](int64_t, int64_t) { return 0.1; };
  h.save_state = [&] { return train::module_state(*a.model); };
  h.load_state = [&](const io::TensorMap& s) { train::load_module_state(*a.model, s, "ckpt"); };
  EXPECT_THROW(train::fit(64, opt, o, h), ConfigError);
}

TEST(Fit, NanLossStopsWithANumericsError) {
  torch::nn::Linear model(2, 1);
  torch::optim::SGD opt(model->parameters(), torch::optim::SGDOptions(0.1));
  train::FitOptions o;
  o.quiet = true;
  o.stage = "teacher";
  train::FitHooks h;
  h.batch_loss = [&](const torch::Tensor& idx, at::Generator&) {
    return (model(torch::ones({idx.size(0), 2})) * std::numeric_limits<float>::quiet_NaN()).mean();
  };
  h.learning_rate = [](int64_t, int64_t) { return 0.1; };
  try {
    train::fit(8, opt, o, h);
    FAIL();
  } catch (const NumericsError& e) {
    EXPECT_NE(std::string(e.what()).find("teacher"), std::string::npos);
  }
}

TEST(State, LoadRefusesWrongShapesAndMissingEntries) {
  torch::nn::Linear a(3, 2), b(3, 2), c(4, 2);
  train::load_module_state(*b, train::module_state(*a), "f");
  EXPECT_TRUE(torch::equal(a->weight, b->weight));
  EXPECT_THROW(train::load_module_state(*c, train::module_state(*a), "f"), DataError);
  EXPECT_THROW(train::load_module_state(*a, {}, "f"), DataError);
}
