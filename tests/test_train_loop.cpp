// train::Loop, the skeleton of every long run: resume only from a checkpoint of the same
// run, periodic checkpoints, deferred reads in step order with the guard before any
// checkpoint, stops, and the fresh-start hook.
#include <gtest/gtest.h>

#include <csignal>
#include <vector>
#include <torch/torch.h>

#include "ssdd/core/error.h"
#include "ssdd/core/stop.h"
#include "ssdd/train/checkpoint.h"
#include "ssdd/train/loop.h"
#include "test_util.h"

using namespace ssdd;

namespace {

class TrainLoop : public ::testing::Test {
 protected:
  void SetUp() override { clear_stop(); }
  void TearDown() override { clear_stop(); }
};

// A run whose state is one counter: each step adds its step number, and records it as a
// device scalar, twice over (two scalars per step).
struct CountingRun {
  double total = 0;
  std::vector<int64_t> read_steps;
  std::vector<double> read_values;
  int fresh_starts = 0;
  double poison_at = -1;  // the step whose recorded value is NaN

  train::LoopHooks hooks() {
    train::LoopHooks h;
    h.save = [this](int64_t steps) {
      train::Checkpoint c;
      c.tensors["total"] = torch::scalar_tensor(total, torch::kDouble);
      c.meta["steps"] = steps;
      return c;
    };
    h.restore = [this](const train::Checkpoint& c) {
      total = c.tensors.at("total").item<double>();
      return c.meta.at("steps").get<int64_t>();
    };
    h.fresh_start = [this] { ++fresh_starts; };
    h.on_read = [this](int64_t step, const std::vector<double>& v) {
      if (!std::isfinite(v[0])) throw NumericsError("count", step, "nan");
      EXPECT_EQ(v[1], 2 * v[0]);
      read_steps.push_back(step);
      read_values.push_back(v[0]);
    };
    return h;
  }

  // Runs steps until `total_steps`; a SIGTERM "arrives" during step `stop_at` (0-based).
  void run(train::LoopOptions o, int64_t stop_at = -1) {
    train::Loop loop(o, hooks());
    for (int64_t s = loop.start(); s < o.total_steps; ++s) {
      if (s == stop_at) request_stop(SIGTERM);
      total += static_cast<double>(s);
      const at::Tensor v = torch::scalar_tensor(s == poison_at ? NAN : static_cast<double>(s));
      loop.after_step(s + 1, {v, 2 * v}, 1.0, {});
    }
    loop.finish("done");
  }
};

train::LoopOptions options(const std::string& dir) {
  train::LoopOptions o;
  o.stage = "count";
  o.total_steps = 10;
  o.checkpoint_dir = dir;
  o.checkpoint_every = 4;
  o.quiet = true;
  o.identity = {{"config_hash", "abc"}, {"data_digest", "d1"}};
  o.identity_added_later = {"data_digest"};
  return o;
}

}  // namespace

TEST_F(TrainLoop, ReadsEveryStepInOrderAndCheckpointsWhenDue) {
  TempDir dir;
  CountingRun r;
  r.run(options(dir.path()));
  EXPECT_EQ(r.read_steps, (std::vector<int64_t>{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}));
  EXPECT_EQ(r.fresh_starts, 1);
  // Due at 4 and 8; 10 is the end, the caller's to checkpoint.
  const auto c = train::load_checkpoint(dir.path());
  ASSERT_TRUE(c);
  EXPECT_EQ(c->meta.at("steps"), 8);
  EXPECT_EQ(c->meta.at("config_hash"), "abc") << "the identity is written into every checkpoint";
  EXPECT_EQ(c->tensors.at("total").item<double>(), 28.0);
}

TEST_F(TrainLoop, AStopCheckpointsThatStepAndResumesToTheSameEnd) {
  TempDir dir;
  CountingRun first;
  try {
    first.run(options(dir.path()), 5);
    FAIL() << "no stop";
  } catch (const Stopped& s) {
    EXPECT_EQ(s.stage(), "count");
    EXPECT_EQ(s.iteration(), 6);
  }
  EXPECT_EQ(train::load_checkpoint(dir.path())->meta.at("steps"), 6);
  clear_stop();
  CountingRun second;
  second.run(options(dir.path()));
  EXPECT_EQ(second.fresh_starts, 0) << "a resumed run must not redo its fresh start";
  EXPECT_EQ(second.read_steps, (std::vector<int64_t>{6, 7, 8, 9}));
  EXPECT_EQ(second.total, 45.0);
}

TEST_F(TrainLoop, TheGuardThrowsBeforeACheckpointCouldKeepABadValue) {
  TempDir dir;
  CountingRun r;
  r.poison_at = 6;
  EXPECT_THROW(r.run(options(dir.path())), NumericsError);
  EXPECT_EQ(train::load_checkpoint(dir.path())->meta.at("steps"), 4) << "the step-8 checkpoint read step 6 first";
}

TEST_F(TrainLoop, RefusesACheckpointOfAnotherRunButAcceptsOneOlderThanAnIdentityKey) {
  TempDir dir;
  {
    train::Checkpoint c;
    c.tensors["total"] = torch::scalar_tensor(0.0, torch::kDouble);
    c.meta = {{"steps", 2}, {"config_hash", "abc"}};  // written before data digests were recorded
    train::save_checkpoint(dir.path(), c);
  }
  CountingRun older;
  older.run(options(dir.path()));
  EXPECT_EQ(older.read_steps.front(), 2);

  auto other = options(dir.path());
  other.identity["config_hash"] = "xyz";
  CountingRun r;
  try {
    r.run(other);
    FAIL() << "resumed another run's checkpoint";
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("config_hash"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("\"abc\""), std::string::npos) << e.what();
  }
  other = options(dir.path());
  other.resume = false;
  CountingRun fresh;
  fresh.run(other);
  EXPECT_EQ(fresh.fresh_starts, 1);
  EXPECT_EQ(fresh.read_steps.front(), 0);
}
