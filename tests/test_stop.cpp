// SIGINT / SIGTERM (core/stop.h): a loop finishes its step, writes a checkpoint and throws
// Stopped; the CLI prints one line and exits 130 / 143; the printed command resumes the
// run to the numbers an uninterrupted one gives, bit for bit.
#include <gtest/gtest.h>

#include <ATen/CPUGeneratorImpl.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <fstream>
#include <sstream>
#include <thread>
#include <vector>
#include <torch/torch.h>

#include "ssdd/core/stop.h"
#include "ssdd/io/atomic_file.h"
#include "ssdd/train/checkpoint.h"
#include "ssdd/train/fit.h"
#include "ssdd/train/schedule.h"
#include "ssdd/train/state.h"
#include "tiny_data.h"

extern char** environ;

using namespace ssdd;

namespace {

// Every test starts and ends with no stop requested.
class Stop : public ::testing::Test {
 protected:
  void SetUp() override { clear_stop(); }
  void TearDown() override { clear_stop(); }
};

// A linear regression through fit(): 64 items, batches of 16 (4 steps an epoch), inputs
// noised from the loop's generator as an augmentation would.
struct Regression {
  torch::nn::Linear model{nullptr};
  at::Tensor x, y;
  int64_t calls = 0;
  Regression() {
    torch::manual_seed(3);
    model = torch::nn::Linear(4, 1);
    auto gen = at::make_generator<at::CPUGeneratorImpl>(11);
    x = torch::randn({64, 4}, gen);
    y = x.matmul(torch::tensor({1.0f, -2.0f, 0.5f, 3.0f})).unsqueeze(1);
  }
  // `stop_at_call`: the batch (1-based, counted in this process) during which a SIGTERM "arrives".
  train::FitResult run(const std::string& dir, int64_t stop_at_call = -1,
                       std::function<void(int64_t)> on_epoch = {}) {
    torch::optim::SGD opt(model->parameters(), torch::optim::SGDOptions(0.05).momentum(0.9));
    train::FitOptions o;
    o.epochs = 5;
    o.batch_size = 16;
    o.seed = 5;
    o.checkpoint_dir = dir;
    o.checkpoint_every_epochs = 2;  // a stop must not wait for a due checkpoint
    o.quiet = true;
    o.config_hash = "regression";
    train::FitHooks h;
    h.batch_loss = [&](const at::Tensor& idx, at::Generator& gen) {
      if (++calls == stop_at_call) request_stop(SIGTERM);
      auto noise = 0.01 * torch::randn({idx.size(0), 4}, gen);
      return torch::mse_loss(model(x.index_select(0, idx) + noise), y.index_select(0, idx));
    };
    h.learning_rate = [](int64_t step, int64_t total) { return train::warmup_cosine(step, total, 2, 0.05); };
    h.save_state = [&] { return train::module_state(*model); };
    h.load_state = [&](const io::TensorMap& s) { train::load_module_state(*model, s, "ckpt"); };
    if (on_epoch) h.on_epoch_end = [on_epoch](int64_t e, double) { on_epoch(e); };
    return train::fit(64, opt, o, h);
  }
};

void expect_same_run(const Regression& a, const train::FitResult& ra, const Regression& b,
                     const train::FitResult& rb) {
  EXPECT_TRUE(torch::equal(a.model->weight, b.model->weight));
  EXPECT_TRUE(torch::equal(a.model->bias, b.model->bias));
  ASSERT_EQ(ra.epoch_loss.size(), rb.epoch_loss.size());
  for (size_t e = 0; e < ra.epoch_loss.size(); ++e) EXPECT_EQ(ra.epoch_loss[e], rb.epoch_loss[e]) << "epoch " << e;
  EXPECT_EQ(ra.steps, rb.steps);
}

}  // namespace

TEST_F(Stop, FitStoppedInsideAnEpochResumesBitForBit) {
  TempDir full_dir, cut_dir;
  Regression full;
  const auto full_result = full.run(full_dir.path());
  // The signal arrives during batch 7, epoch 2's third of four: the run stops after it.
  {
    Regression first;
    try {
      first.run(cut_dir.path(), 7);
      FAIL() << "no stop";
    } catch (const Stopped& s) {
      EXPECT_EQ(s.signal(), SIGTERM);
      EXPECT_EQ(s.stage(), "train");
      EXPECT_EQ(s.iteration(), 7);
      EXPECT_EQ(s.exit_code(), 143);
      EXPECT_NE(s.message().find("stopped by SIGTERM at train iteration 7"), std::string::npos) << s.message();
    }
    const auto c = train::load_checkpoint(cut_dir.path());
    ASSERT_TRUE(c);
    EXPECT_EQ(c->meta.at("mid_epoch").at("epoch"), 1);
    EXPECT_EQ(c->meta.at("mid_epoch").at("next_batch"), 3);
    EXPECT_FALSE(c->meta.contains("epochs_done")) << "an older ssdd must refuse it, not replay the epoch";
  }
  clear_stop();
  Regression resumed;
  torch::manual_seed(999);  // another global generator state: must not matter
  const auto resumed_result = resumed.run(cut_dir.path());
  EXPECT_EQ(resumed_result.resumed_from_epoch, 1);
  expect_same_run(full, full_result, resumed, resumed_result);
}

TEST_F(Stop, FitStoppedAtAnEpochsLastBatchOrInItsEndHookResumesBitForBit) {
  TempDir full_dir;
  Regression full;
  const auto full_result = full.run(full_dir.path());
  // Batch 4 ends epoch 1: the epoch's own checkpoint is written (though not due), then the stop.
  {
    TempDir cut_dir;
    Regression first;
    EXPECT_THROW(first.run(cut_dir.path(), 4), Stopped);
    EXPECT_EQ(train::load_checkpoint(cut_dir.path())->meta.at("epochs_done"), 1);
    clear_stop();
    Regression resumed;
    const auto r = resumed.run(cut_dir.path());
    expect_same_run(full, full_result, resumed, r);
  }
  // A stop inside the end-of-epoch hook (a probe, itself a stopped loop): the epoch's
  // batches are kept, the hook runs again on resume, and the stop names the outer loop.
  {
    TempDir cut_dir;
    Regression first;
    int hook_calls = 0;
    try {
      first.run(cut_dir.path(), -1, [&](int64_t epoch) {
        ++hook_calls;
        if (epoch == 2) {
          request_stop(SIGINT);
          throw_if_stopped("linear probe", 0);
        }
      });
      FAIL() << "no stop";
    } catch (const Stopped& s) {
      EXPECT_EQ(s.stage(), "train");
      EXPECT_EQ(s.iteration(), 12);
      EXPECT_EQ(s.exit_code(), 130);
    }
    EXPECT_EQ(train::load_checkpoint(cut_dir.path())->meta.at("mid_epoch").at("next_batch"), 4);
    clear_stop();
    Regression resumed;
    std::vector<int64_t> epochs_seen;
    const auto r = resumed.run(cut_dir.path(), -1, [&](int64_t epoch) { epochs_seen.push_back(epoch); });
    EXPECT_EQ(epochs_seen, (std::vector<int64_t>{2, 3, 4}));
    expect_same_run(full, full_result, resumed, r);
  }
}

TEST_F(Stop, FitWithoutCheckpointsStopsAfterTheStep) {
  Regression r;
  EXPECT_THROW(r.run("", 3), Stopped);
  EXPECT_EQ(r.calls, 3);
}

TEST_F(Stop, TheHandlerRecordsTheSignalAndLeavesTheNextToTheDefault) {
  struct sigaction previous_int {}, previous_term {};
  sigaction(SIGINT, nullptr, &previous_int);
  sigaction(SIGTERM, nullptr, &previous_term);
  install_stop_handlers("ssdd distill --out x --resume");
  ASSERT_FALSE(stop_requested());
  std::raise(SIGTERM);
  EXPECT_TRUE(stop_requested());
  EXPECT_EQ(stop_signal(), SIGTERM);
  struct sigaction now {};
  sigaction(SIGINT, nullptr, &now);
  EXPECT_EQ(now.sa_handler, SIG_DFL) << "a second signal must end the process at once";
  sigaction(SIGTERM, nullptr, &now);
  EXPECT_EQ(now.sa_handler, SIG_DFL);
  EXPECT_EQ(Stopped(SIGTERM, "distill", 12).message(),
            "stopped by SIGTERM at distill iteration 12; resume with: ssdd distill --out x --resume");
  install_stop_handlers("");  // forget the command, then give the test process its own handlers back
  sigaction(SIGINT, &previous_int, nullptr);
  sigaction(SIGTERM, &previous_term, nullptr);
}

namespace {

std::vector<std::string> split_words(const std::string& line) {
  std::istringstream in(line);
  std::vector<std::string> words;
  for (std::string w; in >> w;) words.push_back(w);
  return words;
}

// Starts the ssdd executable with `args` (words), stderr into `stderr_path`.
pid_t spawn_ssdd(const std::string& args, const std::string& stderr_path) {
  std::vector<std::string> words = split_words(args);
  words.insert(words.begin(), SSDD_CLI_PATH);
  std::vector<char*> argv;
  for (auto& w : words) argv.push_back(w.data());
  argv.push_back(nullptr);
  posix_spawn_file_actions_t files;
  posix_spawn_file_actions_init(&files);
  posix_spawn_file_actions_addopen(&files, 1, "/dev/null", O_WRONLY, 0);
  posix_spawn_file_actions_addopen(&files, 2, stderr_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  pid_t pid = -1;
  const int failed = posix_spawn(&pid, argv[0], &files, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&files);
  return failed ? -1 : pid;
}

// Sends `signal` once `file` exists (the run is under way), and returns the exit code
// (-1: killed by a signal, or never started).
int signal_when_file_appears(pid_t pid, const std::string& file, int signal) {
  if (pid < 0) return -1;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(120);
  while (!std::filesystem::exists(file) && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  kill(pid, signal);
  int status = 0;
  waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

// The lines of `text` that contain `needle`.
std::vector<std::string> lines_with(const std::string& text, const std::string& needle) {
  std::istringstream in(text);
  std::vector<std::string> found;
  for (std::string line; std::getline(in, line);)
    if (line.find(needle) != std::string::npos) found.push_back(line);
  return found;
}

// Runs a printed command line through the shell: its exit code.
int run_shell(const std::string& command) {
  const int status = std::system((command + " >/dev/null 2>&1").c_str());
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

// `ssdd <args> <out>` sent `signal` as soon as its first checkpoint is on disk: its exit
// code, what it printed on stderr, and the lines of it that report a stop.
struct StopOutcome {
  int code = -1;
  std::string printed;
  std::vector<std::string> stop_lines;
  std::string resume_command() const {
    const std::string marker = "; resume with: ";
    return stop_lines.empty() ? "" : stop_lines[0].substr(stop_lines[0].find(marker) + marker.size());
  }
};

StopOutcome stop_after_first_checkpoint(const std::string& args, const std::string& out, int signal) {
  StopOutcome o;
  const std::string err = out + ".stderr";
  o.code = signal_when_file_appears(spawn_ssdd(args + out, err), out + "/checkpoints/checkpoint.ckpt", signal);
  o.printed = io::read_file(err);
  o.stop_lines = lines_with(o.printed, "stopped by");
  return o;
}

class StopCli : public Stop {
 protected:
  void SetUp() override {
    if (std::string(SSDD_CLI_PATH).empty()) GTEST_SKIP() << "the ssdd executable is not built";
    Stop::SetUp();
  }
};

}  // namespace

TEST_F(StopCli, SigtermStopsADistillationWithOneLineAndThePrintedCommandResumesIt) {
  TinyTeacher dirs;
  TempDir runs;
  const std::string args = "distill --preset quick --teacher " + dirs.teacher.path() + " --data-dir " +
                           dirs.data.path() + " --method ours --budget 4 --iterations 10 --checkpoint-every 1 " +
                           "--real-batch 16 --pool-arch convnet:8-8 --image-bases 8 --rep-bases 4 " +
                           "--approx-hidden 4 --pca-pool 200 --threads 2 --out ";
  ASSERT_EQ(run_ssdd(args + runs.path() + "/full").code, 0);

  const std::string cut = runs.path() + "/cut";
  const StopOutcome stopped = stop_after_first_checkpoint(args, cut, SIGTERM);
  EXPECT_EQ(stopped.code, 143);
  ASSERT_EQ(stopped.stop_lines.size(), 1u) << stopped.printed;
  const std::string line = stopped.stop_lines[0];
  const std::string prefix = "ssdd: stopped by SIGTERM at distill iteration ";
  ASSERT_EQ(line.rfind(prefix, 0), 0u) << line;
  const int64_t iteration = std::stoll(line.substr(prefix.size()));
  EXPECT_GE(iteration, 1);
  EXPECT_LT(iteration, 10);
  // The step's checkpoint is on disk, and the line is in the run's log.
  EXPECT_EQ(train::load_checkpoint(cut + "/checkpoints")->meta.at("iteration").get<int64_t>(), iteration);
  EXPECT_EQ(lines_with(io::read_file(cut + "/log"), line.substr(6)).size(), 1u);
  EXPECT_FALSE(std::filesystem::exists(cut + "/distilled.pt"));

  EXPECT_NE(stopped.resume_command().find(" --resume"), std::string::npos) << line;
  ASSERT_EQ(run_shell(stopped.resume_command()), 0) << line;
  expect_same_tensors(runs.path() + "/full/distilled.pt", cut + "/distilled.pt");
}

TEST_F(StopCli, SigintStopsATeacherInsideAnEpochWithExit130AndItResumesBitForBit) {
  TempDir data, cache, runs;
  setenv("SSDD_CACHE", cache.path().c_str(), 1);
  write_tiny_idx(data.path());
  const std::string args = "teacher --preset quick --data mnist --data-dir " + data.path() +
                           " --arch convnet:8-16:gap --projector 32,32 --epochs 4 --batch-size 64 "
                           "--probe-epochs 1 --threads 2 --out ";
  ASSERT_EQ(run_ssdd(args + runs.path() + "/full").code, 0);

  const std::string cut = runs.path() + "/cut";
  const StopOutcome stopped = stop_after_first_checkpoint(args, cut, SIGINT);
  EXPECT_EQ(stopped.code, 130);
  ASSERT_EQ(stopped.stop_lines.size(), 1u) << stopped.printed;
  EXPECT_EQ(stopped.stop_lines[0].rfind("ssdd: stopped by SIGINT at teacher iteration ", 0), 0u) << stopped.printed;
  EXPECT_FALSE(std::filesystem::exists(cut + "/teacher.pt"));
  ASSERT_EQ(run_shell(stopped.resume_command()), 0) << stopped.printed;
  expect_same_tensors(runs.path() + "/full/teacher.pt", cut + "/teacher.pt");
}
