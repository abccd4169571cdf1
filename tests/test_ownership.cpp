// Issue 27, classes 1, 2 and 4: ssdd never deletes or overwrites what is not its own, never
// serves a result made from other inputs as current, and never lets two runs write one
// folder. Unit tests of the pieces (owned folders, locks, data digests), then the hostile
// scenarios driven through the CLI on tiny data.
#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <thread>

#include "ssdd/core/error.h"
#include "ssdd/data/identity.h"
#include "ssdd/io/atomic_file.h"
#include "ssdd/io/folder_lock.h"
#include "ssdd/io/json_file.h"
#include "ssdd/io/owned_folder.h"
#include "tiny_data.h"

using namespace ssdd;
namespace fs = std::filesystem;

namespace {

// A file of the user's, with content to check later.
void user_file(const std::string& path, const std::string& text = "the user's notes\n") {
  fs::create_directories(fs::path(path).parent_path());
  std::ofstream(path) << text;
}

std::string text_of(const std::string& path) { return io::read_file(path); }

// Changes one pixel of the tiny IDX set's first training image: the same name, the same
// format and size, other images.
void change_one_pixel(const std::string& data_dir) {
  const std::string path = data_dir + "/train-images-idx3-ubyte";
  std::string bytes = io::read_file(path);
  bytes[16 + 5] = static_cast<char>(bytes[16 + 5] ^ 0x5a);
  io::write_file_atomic(path, bytes);
}

}  // namespace

TEST(OwnedFolder, ClaimsMissingOrEmptyFoldersAndRefusesTheUsers) {
  TempDir dir;
  const std::string fresh = dir.path() + "/a/b";
  io::claim_folder(fresh, "test");
  EXPECT_TRUE(io::is_claimed(fresh));
  io::claim_folder(fresh, "test");  // marked: accepted again

  const std::string users = dir.path() + "/users";
  user_file(users + "/config.json", "{\"mine\": true}\n");
  EXPECT_THROW(io::claim_folder(users, "test"), IoError);
  EXPECT_FALSE(io::is_claimed(users));
  EXPECT_EQ(text_of(users + "/config.json"), "{\"mine\": true}\n");
  io::claim_folder(users, "test", /*force=*/true);
  EXPECT_TRUE(io::is_claimed(users));
  EXPECT_EQ(text_of(users + "/config.json"), "{\"mine\": true}\n");  // marking writes nothing else

  user_file(dir.path() + "/plain-file");
  EXPECT_THROW(io::claim_folder(dir.path() + "/plain-file", "test", true), IoError);  // not a folder
}

TEST(OwnedFolder, ClearsOnlyMarkedFoldersStrictlyInsideTheirOwner) {
  TempDir dir;
  const std::string run = dir.path() + "/run", stage = run + "/distill/x";
  io::claim_folder(run, "run");
  io::claim_folder(stage, "distill");
  user_file(stage + "/old.pt");
  user_file(run + "/notes.txt");
  io::clear_claimed_folder(stage, run);
  EXPECT_FALSE(fs::exists(stage + "/old.pt"));
  EXPECT_TRUE(io::is_claimed(stage));  // the marker stays
  EXPECT_TRUE(fs::exists(run + "/notes.txt"));

  EXPECT_THROW(io::clear_claimed_folder(run, run), IoError);                    // the owner itself
  EXPECT_THROW(io::clear_claimed_folder(run + "/distill/..", run), IoError);    // ".." back to it
  EXPECT_THROW(io::clear_claimed_folder(dir.path(), run), IoError);             // above it
  const std::string users = run + "/distill/users";
  user_file(users + "/thesis.tex");
  EXPECT_THROW(io::clear_claimed_folder(users, run), IoError);                  // inside, not marked
  EXPECT_TRUE(fs::exists(users + "/thesis.tex"));

  // A stage folder that is a link to a marked folder elsewhere resolves outside: refused.
  const std::string elsewhere = dir.path() + "/elsewhere";
  io::claim_folder(elsewhere, "x");
  user_file(elsewhere + "/precious");
  fs::create_directory_symlink(elsewhere, run + "/distill/linked");
  EXPECT_THROW(io::clear_claimed_folder(run + "/distill/linked", run), IoError);
  EXPECT_TRUE(fs::exists(elsewhere + "/precious"));
  EXPECT_TRUE(fs::exists(run + "/notes.txt"));
}

TEST(OwnedFolder, PlainNamesOnly) {
  for (const char* ok : {"ours", "ours-no-approx", "krrst_2", "v1.2", "A"}) EXPECT_TRUE(io::is_plain_name(ok)) << ok;
  for (const char* bad : {"", ".", "..", "../x", "a/b", "/abs", ".hidden", "-flag", "a b", "x\ny"})
    EXPECT_FALSE(io::is_plain_name(bad)) << bad;
  EXPECT_FALSE(io::is_plain_name(std::string(65, 'a')));
}

TEST(FolderLock, ASecondProcessIsRefusedNamingTheHolder) {
  TempDir dir;
  const std::string folder = dir.path() + "/run";
  {
    const io::FolderLock lock(folder, io::FolderLock::IfHeld::refuse);
    const io::FolderLock again(folder, io::FolderLock::IfHeld::refuse);  // re-entrant in one process
    // Another process (flock(1) on the same file) cannot take it while we hold it.
    const std::string probe = "flock -n " + folder + "/.ssdd.lock true";
    EXPECT_NE(std::system(probe.c_str()), 0);
  }
  // Released: another process takes it now; then we are refused while it holds it.
  const std::string hold = "flock -n " + folder + "/.ssdd.lock sleep 3 & sleep 0.5";
  ASSERT_EQ(std::system(hold.c_str()), 0);
  try {
    const io::FolderLock lock(folder, io::FolderLock::IfHeld::refuse);
    ADD_FAILURE() << "the lock was taken while another process held it";
  } catch (const IoError& e) {
    EXPECT_NE(std::string(e.what()).find("in use by another ssdd process (pid"), std::string::npos) << e.what();
  }
}

TEST(DataDigest, ChangesWithTheImagesNotWithTheFolder) {
  TempDir a, b;
  write_tiny_idx(a.path());
  write_tiny_idx(b.path());
  data::LoadOptions in_a, in_b;
  in_a.data_dir = a.path();
  in_b.data_dir = b.path();
  in_a.use_cache = in_b.use_cache = false;
  const std::string digest = data::dataset_digest(data::load_dataset("mnist", in_a));
  EXPECT_EQ(data::dataset_digest(data::load_dataset("mnist", in_b)), digest);  // same images elsewhere
  change_one_pixel(b.path());
  EXPECT_NE(data::dataset_digest(data::load_dataset("mnist", in_b)), digest);  // one pixel differs
}

// ---- hostile scenarios through the CLI ---------------------------------------------------

namespace {

class HostileRun : public ::testing::Test {
 protected:
  void SetUp() override {
    if (std::string(SSDD_CLI_PATH).empty()) GTEST_SKIP() << "the ssdd executable is not built";
    write_tiny_idx(data_.path());
  }

  // A tiny experiment: a teacher in the run folder, krrst and random, a one-seed grid.
  std::string config(const std::string& name, const std::string& extra = "") const {
    return "name = \"" + name + "\"\npreset = \"quick\"\ndata = \"mnist\"\ndata_dir = \"" + data_.path() +
           "\"\nbudget = 10\nthreads = 1\n"
           "[teacher]\ncache = false\narch = \"convnet:8-16:gap\"\nprojector = [32, 32]\nepochs = 1\n"
           "batch_size = 64\nprobe_epochs = 1\n"
           "[distill]\niterations = 4\ncheckpoint_every = 2\nreal_batch = 32\n[distill.pool]\narch = \"convnet:8-8\"\n"
           "[distill.krrst]\nmethod = \"krrst\"\nreal_augment = \"none\"\n" + extra +
           "[baselines]\nmethods = [\"random\"]\n"
           "[evaluate]\narchs = [\"convnet:8-8\"]\nseeds = 1\npretrain_epochs = 1\nprobe_epochs = 1\n";
  }

  std::string write_config(const std::string& text) const {
    const std::string path = work_.path() + "/config-" + std::to_string(++configs_) + ".toml";
    io::write_file_atomic(path, text);
    return path;
  }

  // `ssdd run --dry-run`: stage name -> what a run would do.
  std::map<std::string, std::string> dry_run(const std::string& config_path, const std::string& out) const {
    const auto o = run_ssdd("run " + config_path + " --out " + out + " --dry-run");
    EXPECT_EQ(o.code, 0) << o.output;
    std::map<std::string, std::string> plan;
    std::istringstream lines(o.output);
    for (std::string line; std::getline(lines, line);) {
      for (const char* action : {" skipped ", " planned ", " reused "}) {
        const auto at = line.find(action);
        if (at == std::string::npos) continue;
        std::string name = line.substr(0, at);
        while (!name.empty() && name.back() == ' ') name.pop_back();
        std::string what = action;
        plan[name] = what.substr(1, what.size() - 2);
      }
    }
    return plan;
  }

  TempDir data_, work_;
  mutable int configs_ = 0;
};

}  // namespace

TEST_F(HostileRun, DotDotLabelsAndNamesAreRefusedBeforeAnythingIsWritten) {
  const std::string out = work_.path() + "/out";
  user_file(out + "/keep.txt");
  for (const std::string& bad : {std::string("[distill.\"..\"]\nmethod = \"krrst\"\n"),
                                 std::string("[distill.\".\"]\nmethod = \"krrst\"\n")}) {
    const auto o = run_ssdd("run " + write_config(config("tiny", bad)) + " --out " + out + " --force");
    EXPECT_EQ(o.code, 1) << o.output;
    EXPECT_NE(o.output.find("a set's name must start with a letter or digit"), std::string::npos) << o.output;
  }
  const auto o = run_ssdd("run " + write_config(config("..")) + " --dry-run");
  EXPECT_EQ(o.code, 1) << o.output;
  EXPECT_EQ(text_of(out + "/keep.txt"), "the user's notes\n");
  EXPECT_FALSE(fs::exists(out + "/stage.json"));
}

TEST_F(HostileRun, AnUnmarkedNonEmptyOutIsRefusedAndForceTouchesOnlyItsOwnNames) {
  const std::string out = work_.path() + "/mine";
  user_file(out + "/config.json", "{\"my\": \"experiment\"}\n");
  user_file(out + "/loss.png", "not a png of ssdd's");
  const std::string cfg = write_config(config("tiny"));
  auto o = run_ssdd("run " + cfg + " --out " + out);
  EXPECT_EQ(o.code, 1);
  EXPECT_NE(o.output.find("was not made by ssdd"), std::string::npos) << o.output;
  EXPECT_NE(o.output.find("--force"), std::string::npos) << o.output;
  EXPECT_EQ(text_of(out + "/config.json"), "{\"my\": \"experiment\"}\n");
  EXPECT_FALSE(fs::exists(out + "/.ssdd"));
  // The stage commands refuse it too.
  o = run_ssdd("baseline random --teacher " + out + " --out " + out);
  EXPECT_EQ(o.code, 1) << o.output;
  EXPECT_EQ(text_of(out + "/loss.png"), "not a png of ssdd's");
  // --force: the run goes ahead; files of other names are untouched.
  user_file(out + "/thesis.tex", "\\section{Results}\n");
  o = run_ssdd("run " + cfg + " --out " + out + " --force");
  EXPECT_EQ(o.code, 0) << o.output;
  EXPECT_EQ(text_of(out + "/thesis.tex"), "\\section{Results}\n");
  EXPECT_EQ(text_of(out + "/loss.png"), "not a png of ssdd's");
  EXPECT_TRUE(fs::exists(out + "/report.md"));
}

TEST_F(HostileRun, AStageFolderLinkedOutsideIsNeverCleared) {
  const std::string out = work_.path() + "/run";
  ASSERT_EQ(run_ssdd("run " + write_config(config("tiny")) + " --out " + out).code, 0);
  // The user replaces a stage folder by a link to their own (marked) folder elsewhere, then
  // changes that stage's settings: the stage may not be cleared through the link.
  const std::string elsewhere = work_.path() + "/elsewhere";
  fs::rename(out + "/distill/krrst", elsewhere);
  user_file(elsewhere + "/precious.txt");
  fs::create_directory_symlink(elsewhere, out + "/distill/krrst");
  const auto o = run_ssdd("run " + write_config(config("tiny", "iterations = 6\n")) + " --out " + out);
  EXPECT_EQ(o.code, 1) << o.output;
  EXPECT_NE(o.output.find("refusing to clear"), std::string::npos) << o.output;
  EXPECT_EQ(text_of(elsewhere + "/precious.txt"), "the user's notes\n");
}

TEST_F(HostileRun, OtherImagesUnderTheSameNameRerunEveryStageThatReadsThem) {
  const std::string out = work_.path() + "/run";
  const std::string cfg = write_config(config("tiny"));
  ASSERT_EQ(run_ssdd("run " + cfg + " --out " + out).code, 0);
  for (const auto& [stage, action] : dry_run(cfg, out)) EXPECT_EQ(action, "skipped") << stage;
  change_one_pixel(data_.path());
  const auto plan = dry_run(cfg, out);
  ASSERT_EQ(plan.size(), 4u);
  for (const auto& [stage, action] : plan) EXPECT_EQ(action, "planned") << stage;
}

TEST_F(HostileRun, ATargetDataSetChangedUnderItsNameRerunsTheGrid) {
  TempDir target;
  write_tiny_idx(target.path());
  const std::string out = work_.path() + "/run";
  const std::string cfg = write_config(config("tiny") + "targets = [\"source\", \"fashion-mnist=" + target.path() + "\"]\n");
  ASSERT_EQ(run_ssdd("run " + cfg + " --out " + out).code, 0);
  EXPECT_EQ(dry_run(cfg, out)["evaluate main"], "skipped");
  change_one_pixel(target.path());
  const auto plan = dry_run(cfg, out);
  EXPECT_EQ(plan.at("teacher"), "skipped");
  EXPECT_EQ(plan.at("distill krrst"), "skipped");
  EXPECT_EQ(plan.at("evaluate main"), "planned");
}

TEST_F(HostileRun, AFolderIsNeverReadAsAConfig) {
  const std::string folder = work_.path() + "/folder";
  fs::create_directories(folder);
  auto o = run_ssdd("run " + folder + " --dry-run");
  EXPECT_EQ(o.code, 1);
  EXPECT_NE(o.output.find("is a folder, not a config file"), std::string::npos) << o.output;
  // A folder named like a built-in (a run folder made by `ssdd run quick --out quick`) means
  // the built-in, and the note says so.
  o = run_ssdd("run quick --out " + work_.path() + "/quick --dry-run");
  ASSERT_EQ(o.code, 0) << o.output;
  fs::create_directories(work_.path() + "/quick");
  const std::string here = fs::current_path().string();
  fs::current_path(work_.path());
  o = run_ssdd("run quick --out quick --dry-run");
  fs::current_path(here);
  EXPECT_EQ(o.code, 0) << o.output;
  EXPECT_NE(o.output.find("using the built-in config 'quick'"), std::string::npos) << o.output;
  EXPECT_NE(o.output.find("distill ours"), std::string::npos) << o.output;  // the quick config's stages
}

TEST_F(HostileRun, TwoRunsIntoOneFolderCannotInterleave) {
  const std::string out = work_.path() + "/run";
  const std::string cfg = write_config(config("tiny", "iterations = 400\n"));
  const std::string log = work_.path() + "/first.log";
  // The first run in the background; the second starts once the first holds the folder.
  const std::string pid_file = work_.path() + "/first.pid";
  const std::string first =
      std::string(SSDD_CLI_PATH) + " run " + cfg + " --out " + out + " >" + log + " 2>&1 & echo $! >" + pid_file;
  ASSERT_EQ(std::system(first.c_str()), 0);
  for (int i = 0; i < 600 && !fs::exists(out + "/distill/krrst/stage.json"); ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  // Held still (SIGSTOP) while the others try: on a loaded machine the krrst stage could finish,
  // and free its folder, before they start. A stopped process still holds what it holds.
  const std::string first_pid = "$(cat " + pid_file + ")";
  ASSERT_EQ(std::system(("kill -STOP " + first_pid).c_str()), 0);
  const auto o = run_ssdd("run " + cfg + " --out " + out);
  EXPECT_EQ(o.code, 1) << o.output;
  EXPECT_NE(o.output.find("in use by another ssdd process (pid "), std::string::npos) << o.output;
  // A stage command into one of its stage folders is refused as well.
  const auto s = run_ssdd("distill --preset quick --teacher " + out + "/teacher --data mnist --data-dir " +
                          data_.path() + " --out " + out + "/distill/krrst");
  EXPECT_EQ(s.code, 1) << s.output;
  EXPECT_NE(s.output.find("in use by another ssdd process"), std::string::npos) << s.output;
  ASSERT_EQ(std::system(("kill -CONT " + first_pid).c_str()), 0);
  ASSERT_EQ(std::system(("while kill -0 " + first_pid + " 2>/dev/null; do sleep 0.2; done").c_str()), 0);
  EXPECT_NE(io::read_file(log).find("run: done"), std::string::npos) << io::read_file(log);
  // The first run was untouched: every grid cell once.
  const std::string cells = io::read_file(out + "/evaluate/main/cells.jsonl");
  std::map<std::string, int> keys;
  std::istringstream lines(cells);
  for (std::string line; std::getline(lines, line);)
    if (!line.empty()) ++keys[nlohmann::json::parse(line).value("key", "")];
  for (const auto& [key, count] : keys) EXPECT_EQ(count, 1) << key;
}
