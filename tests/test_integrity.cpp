// Issue 27, class 3: bytes that still parse are not trusted. Teacher weights are tied to
// teacher.json by a digest, the teacher-representation cache, distilled sets and pretrained
// weights carry a checksum, and files from before the checksums still load.
#include <gtest/gtest.h>

#include <ATen/CPUGeneratorImpl.h>
#include <sys/wait.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <vector>
#include <torch/torch.h>

#include "ssdd/core/error.h"
#include "ssdd/data/registry.h"
#include "ssdd/distill/distilled_set.h"
#include "ssdd/evaluate/pretrain.h"
#include "ssdd/io/atomic_file.h"
#include "ssdd/io/json_file.h"
#include "ssdd/io/tensor_archive.h"
#include "ssdd/io/tensor_checksum.h"
#include "ssdd/teacher/representations.h"
#include "tiny_data.h"

using namespace ssdd;
namespace fs = std::filesystem;

namespace {

const c10::Device kCpu(c10::kCPU);

// Two tiny teachers of one architecture (seeds 0 and 1), trained once for the whole suite;
// each test copies what it damages.
class Integrity : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    data_ = std::make_unique<TempDir>();
    cache_ = std::make_unique<TempDir>();
    first_ = std::make_unique<TempDir>();
    second_ = std::make_unique<TempDir>();
    setenv("SSDD_CACHE", cache_->path().c_str(), 1);
    auto config = tiny_teacher_config(write_tiny_idx(data_->path()), 1, 1);
    teacher::train_teacher(config, first_->path(), false);
    config.runtime.seed = 1;
    teacher::train_teacher(config, second_->path(), false);
  }
  static void TearDownTestSuite() { data_.reset(), cache_.reset(), first_.reset(), second_.reset(); }

  // A copy of the first teacher's folder, for a test to damage.
  std::string copy_of_first_teacher() {
    const std::string dir = scratch_.path() + "/teacher";
    fs::copy(first_->path(), dir, fs::copy_options::recursive);
    return dir;
  }

  static at::Tensor train_images() {
    data::LoadOptions load;
    load.data_dir = data_->path();
    return data::load_dataset("mnist", load).train.images;
  }

  static std::unique_ptr<TempDir> data_, cache_, first_, second_;
  TempDir scratch_;
};
std::unique_ptr<TempDir> Integrity::data_, Integrity::cache_, Integrity::first_, Integrity::second_;

// The entry with the most elements (the one a flipped byte is most likely to land in).
std::string largest_entry(const io::TensorMap& tensors) {
  std::string best;
  for (const auto& [name, t] : tensors)
    if (best.empty() || t.numel() > tensors.at(best).numel()) best = name;
  return best;
}

// Flips one bit inside the stored bytes of entry `name`. The archive still parses (its
// records' CRCs are not checked on read); only the numbers change.
void flip_bit_inside(const std::string& path, const std::string& name) {
  const at::Tensor t = io::load_tensors(path).at(name).contiguous();
  const std::string data(static_cast<const char*>(t.data_ptr()), static_cast<size_t>(t.nbytes()));
  std::string bytes = io::read_file(path);
  const size_t at = bytes.find(data);
  ASSERT_NE(at, std::string::npos) << name << " is not stored as plain bytes in " << path;
  bytes[at + data.size() / 2] ^= 0x04;
  io::write_file_atomic(path, bytes);
  const auto reread = io::load_tensors(path);  // the premise: it still parses, with other numbers
  EXPECT_FALSE(torch::equal(reread.at(name), t)) << name;
}

// teacher.json as an ssdd from before weights digests wrote it.
void drop_weights_digest(const std::string& teacher_dir) {
  auto meta = io::parse_json_file(teacher_dir + "/teacher.json");
  ASSERT_TRUE(meta.contains("weights_digest"));
  meta.erase("weights_digest");
  io::write_json_file(teacher_dir + "/teacher.json", meta);
}

// A small explicit distilled set, saved at `path`.
distill::DistilledSet saved_set(const std::string& path) {
  auto gen = at::make_generator<at::CPUGeneratorImpl>(3);
  auto set = distill::DistilledSet::explicit_form(torch::randn({4, 1, 8, 8}, gen), torch::randn({4, 6}, gen),
                                                  {data::View{}});
  set.meta = {{"method", "random"}, {"budget", 4}};
  set.save(path);
  return set;
}

// `path`'s tensors written back without their checksum, as an ssdd from before checksums did.
void strip_checksum(const std::string& path) {
  auto tensors = io::load_tensors(path);
  ASSERT_EQ(tensors.erase(io::kChecksumEntry), 1u) << path;
  io::save_tensors(path, tensors);
}

template <typename F>
std::string data_error_of(F&& load) {
  try {
    load();
  } catch (const DataError& e) {
    return e.what();
  }
  ADD_FAILURE() << "no DataError";
  return "";
}

}  // namespace

TEST_F(Integrity, FlippedBytesInTeacherWeightsAreRefusedNamingTeacherPt) {
  const std::string dir = copy_of_first_teacher();
  flip_bit_inside(dir + "/teacher.pt", largest_entry(io::load_tensors(dir + "/teacher.pt")));
  const std::string message = data_error_of([&] { teacher::load_teacher(dir, kCpu); });
  EXPECT_NE(message.find(dir + "/teacher.pt"), std::string::npos) << message;
  const std::string expected = io::parse_json_file(dir + "/teacher.json").at("weights_digest");
  EXPECT_NE(message.find(expected), std::string::npos) << "names the expected digest: " << message;
}

TEST_F(Integrity, AnotherTeachersWeightsAreRefused) {
  const std::string dir = copy_of_first_teacher();
  fs::copy_file(second_->path() + "/teacher.pt", dir + "/teacher.pt", fs::copy_options::overwrite_existing);
  const std::string message = data_error_of([&] { teacher::load_teacher(dir, kCpu); });
  EXPECT_NE(message.find(dir + "/teacher.pt"), std::string::npos) << message;
  // Both digests named: teacher.json's and the one of the weights found.
  const std::string expected = io::parse_json_file(dir + "/teacher.json").at("weights_digest");
  const std::string found = io::parse_json_file(second_->path() + "/teacher.json").at("weights_digest");
  EXPECT_NE(expected, found);
  EXPECT_NE(message.find(expected), std::string::npos) << message;
  EXPECT_NE(message.find(found), std::string::npos) << message;
  // The untouched folders still load, each with its own digest.
  EXPECT_EQ(teacher::load_teacher(first_->path(), kCpu).weights_digest, expected);
  EXPECT_EQ(teacher::load_teacher(second_->path(), kCpu).weights_digest, found);
}

TEST_F(Integrity, ATeacherFolderWithoutAWeightsDigestStillLoadsWithAWarning) {
  const std::string dir = copy_of_first_teacher();
  drop_weights_digest(dir);
  testing::internal::CaptureStderr();
  const auto t = teacher::load_teacher(dir, kCpu);
  const std::string warning = testing::internal::GetCapturedStderr();
  EXPECT_NE(warning.find("warning: " + dir + "/teacher.pt is not checked"), std::string::npos) << warning;
  EXPECT_EQ(std::count(warning.begin(), warning.end(), '\n'), 1) << warning;
  EXPECT_EQ(t.weights_digest, io::parse_json_file(first_->path() + "/teacher.json").at("weights_digest"));
}

TEST_F(Integrity, AZeroedOrFlippedRepsCacheEntryIsRecomputed) {
  const std::string dir = copy_of_first_teacher();
  const auto t = teacher::load_teacher(dir, kCpu);
  const auto images = train_images();
  auto reps = [&] { return teacher::representations(t, "mnist", "train", images, data::View{}, kCpu); };
  const at::Tensor fresh = reps();
  const std::string path = dir + "/reps/mnist-train-rot0.pt";
  ASSERT_TRUE(fs::exists(path));

  // Zeroed in place, key and checksum kept: the file parses and its key matches.
  auto stored = io::load_tensors(path);
  stored["reps"] = torch::zeros_like(stored["reps"]);
  io::save_tensors(path, stored);
  testing::internal::CaptureStderr();
  const at::Tensor after_zeroing = reps();
  const std::string log = testing::internal::GetCapturedStderr();
  EXPECT_TRUE(torch::equal(after_zeroing, fresh));
  EXPECT_GT(after_zeroing.abs().sum().item<double>(), 0);
  EXPECT_NE(log.find("teacher reps: " + path + " failed its checksum; recomputing"), std::string::npos) << log;
  EXPECT_EQ(io::check_checksum(io::load_tensors(path)), io::ChecksumCheck::matches) << "rewritten whole";

  // One flipped bit inside the stored reps.
  flip_bit_inside(path, "reps");
  testing::internal::CaptureStderr();
  EXPECT_TRUE(torch::equal(reps(), fresh));
  EXPECT_NE(testing::internal::GetCapturedStderr().find("failed its checksum"), std::string::npos);
}

TEST_F(Integrity, RepsCacheIsKeyedByTheTeachersWeights) {
  // A folder from before digests (not refused, only warned about) whose teacher.pt is then
  // replaced by another teacher's: the id is unchanged, the weights are not.
  const std::string dir = copy_of_first_teacher();
  drop_weights_digest(dir);
  const auto images = train_images();
  auto reps = [&] {
    testing::internal::CaptureStderr();  // the warning about the missing digest
    const auto t = teacher::load_teacher(dir, kCpu);
    const auto r = teacher::representations(t, "mnist", "train", images, data::View{}, kCpu);
    testing::internal::GetCapturedStderr();
    return r;
  };
  const at::Tensor first = reps();
  fs::copy_file(second_->path() + "/teacher.pt", dir + "/teacher.pt", fs::copy_options::overwrite_existing);
  const at::Tensor second = reps();
  const auto other = teacher::load_teacher(second_->path(), kCpu);
  const at::Tensor expected =
      teacher::representations(other, "mnist", "train", images, data::View{}, kCpu);
  EXPECT_FALSE(torch::equal(second, first)) << "the first teacher's cached reps were served";
  EXPECT_TRUE(torch::equal(second, expected));
}

TEST_F(Integrity, ADistilledSetWithAFlippedValueIsRefusedNamingTheFile) {
  const std::string path = scratch_.path() + "/distilled.pt";
  saved_set(path);
  EXPECT_NO_THROW(distill::DistilledSet::load(path));
  flip_bit_inside(path, "targets");
  const std::string message = data_error_of([&] { distill::DistilledSet::load(path); });
  EXPECT_NE(message.find(path), std::string::npos) << message;
  EXPECT_NE(message.find("checksum"), std::string::npos) << message;
  // A value edited and the file re-saved whole (a valid archive, the old checksum).
  saved_set(path);
  auto tensors = io::load_tensors(path);
  tensors["images"][0][0][0][0] = 42.0f;
  io::save_tensors(path, tensors);
  EXPECT_NE(data_error_of([&] { distill::DistilledSet::load(path); }).find(path), std::string::npos);
}

TEST_F(Integrity, ADamagedSetIsRefusedByTheCliInOneLine) {
  if (std::string(SSDD_CLI_PATH).empty()) GTEST_SKIP() << "the ssdd executable is not built";
  const std::string path = scratch_.path() + "/distilled.pt";
  saved_set(path);
  EXPECT_EQ(run_ssdd("inspect " + path).code, 0);
  flip_bit_inside(path, "images");
  const auto [code, output] = run_ssdd("inspect " + path);  // CliOutcome: code, output
  EXPECT_EQ(code, 1) << output;
  EXPECT_EQ(output.rfind("ssdd: error: " + path + ": expected contents matching their checksum", 0), 0u) << output;
  EXPECT_EQ(std::count(output.begin(), output.end(), '\n'), 1) << output;
}

TEST_F(Integrity, PretrainedWeightsWithAFlippedValueAreRefused) {
  const std::string path = scratch_.path() + "/pretrained.pt";
  const models::ImageShape shape{1, 8, 8};
  evaluate::save_pretrained(path, evaluate::fresh_network("convnet:4-8:gap", shape, 6, 0, kCpu));
  EXPECT_NO_THROW(evaluate::load_pretrained(path, "convnet:4-8:gap", shape, 6, kCpu));
  flip_bit_inside(path, largest_entry(io::load_tensors(path)));
  const std::string message = data_error_of([&] { evaluate::load_pretrained(path, "convnet:4-8:gap", shape, 6, kCpu); });
  EXPECT_NE(message.find(path), std::string::npos) << message;
}

TEST_F(Integrity, FilesWrittenBeforeChecksumsStillLoad) {
  const std::string set_path = scratch_.path() + "/distilled.pt";
  const auto original = saved_set(set_path);
  strip_checksum(set_path);
  const auto loaded = distill::DistilledSet::load(set_path);
  EXPECT_TRUE(torch::equal(loaded.images(), original.images()));
  EXPECT_EQ(loaded.meta.value("method", ""), "random");

  const std::string weights_path = scratch_.path() + "/pretrained.pt";
  const models::ImageShape shape{1, 8, 8};
  evaluate::save_pretrained(weights_path, evaluate::fresh_network("convnet:4-8:gap", shape, 6, 0, kCpu));
  strip_checksum(weights_path);
  EXPECT_NO_THROW(evaluate::load_pretrained(weights_path, "convnet:4-8:gap", shape, 6, kCpu));
}

TEST_F(Integrity, DigestsLeaveTheChecksumOut) {
  if (std::string(SSDD_CLI_PATH).empty()) GTEST_SKIP() << "the ssdd executable is not built";
  // Two sets with the same numbers and other metadata (wall times, say): other checksums,
  // the same digest lines, as scripts/kill-anywhere.sh compares them.
  const std::string a = scratch_.path() + "/a.pt", b = scratch_.path() + "/b.pt";
  auto set = saved_set(a);
  set.meta["seconds"] = 12.5;
  set.save(b);
  EXPECT_NE(io::tensor_to_text(io::load_tensors(a).at(io::kChecksumEntry)),
            io::tensor_to_text(io::load_tensors(b).at(io::kChecksumEntry)));
  // `ssdd info --digest` of the given files, each line without its file's name.
  auto lines = [&](const std::vector<std::string>& paths) {
    std::string args = "info --digest";
    for (const auto& path : paths) args += " " + path;
    const auto [code, output] = run_ssdd(args);
    EXPECT_EQ(code, 0) << output;
    std::vector<std::string> out(paths.size());
    for (size_t start = 0, end; start < output.size(); start = end + 1) {
      end = std::min(output.find('\n', start), output.size());
      const std::string line = output.substr(start, end - start);
      for (size_t i = 0; i < paths.size(); ++i)
        if (line.rfind(paths[i] + " ", 0) == 0) out[i] += line.substr(paths[i].size() + 1) + "\n";
    }
    return out;
  };
  const auto both = lines({a, b});
  EXPECT_FALSE(both[0].empty());
  EXPECT_EQ(both[0], both[1]);
  EXPECT_EQ(both[0].find("__checksum__"), std::string::npos) << both[0];
  strip_checksum(a);  // the same file as before checksums: the same lines
  EXPECT_EQ(lines({a})[0], both[0]);
}
