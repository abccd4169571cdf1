// Shipped teachers (teacher/shipped.h): `ssdd teacher ship` packs a trained teacher, and
// `ssdd teacher` / `ssdd run` take it instead of training when its id matches and its
// sha256 holds.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <torch/torch.h>

#include "ssdd/core/error.h"
#include "ssdd/io/atomic_file.h"
#include "ssdd/io/json_file.h"
#include "ssdd/io/sha256.h"
#include "ssdd/io/tensor_archive.h"
#include "ssdd/teacher/shipped.h"
#include "ssdd/teacher/teacher.h"
#include "test_util.h"
#include "tiny_data.h"

using namespace ssdd;

namespace {

// The tiny teacher of tiny_data.h, trained and shipped into a private teachers/ folder that
// $SSDD_TEACHERS points at.
struct ShippedTiny : TinyTeacher {
  TempDir shelf;
  std::string shipped;  // shelf/tiny
  std::string teacher_args;  // the `ssdd teacher` options of the same config
  ShippedTiny() : shipped(shelf.path() + "/tiny") {
    setenv("SSDD_TEACHERS", shelf.path().c_str(), 1);
    teacher::ship_trained_teacher(teacher.path(), shipped);
    teacher_args = "teacher --preset quick --data mnist --data-dir " + data.path() +
                   " --arch convnet:8-16:gap --projector 32,32 --epochs 2 --batch-size 64 --probe-epochs 2 --threads 2";
  }
  ~ShippedTiny() { unsetenv("SSDD_TEACHERS"); }
};

void flip_a_byte(const std::string& path) {
  std::string bytes = io::read_file(path);
  bytes[bytes.size() - 100] ^= 0x01;  // inside the archive, before its zip directory
  std::ofstream(path, std::ios::binary) << bytes;
}

}  // namespace

TEST(ShippedTeacher, ShipKeepsTheBackboneInFloat32WithAManifest) {
  ShippedTiny t;
  const auto weights = io::load_tensors(t.shipped + "/teacher.pt");
  for (const auto& [name, tensor] : weights) {
    EXPECT_EQ(name.rfind("backbone.", 0), 0u) << name;  // no projector
    if (tensor.is_floating_point()) {
      EXPECT_EQ(tensor.scalar_type(), torch::kFloat32) << name;
    }
  }
  const auto manifest = io::parse_json_file(t.shipped + "/manifest.json");
  const auto digest = io::sha256_of_file(t.shipped + "/teacher.pt");
  EXPECT_EQ(manifest.at("sha256"), digest.sha256);
  EXPECT_EQ(manifest.at("bytes"), digest.bytes);
  const auto trained = teacher::load_teacher(t.teacher.path(), torch::kCPU);
  EXPECT_EQ(manifest.at("id"), trained.id);
  EXPECT_EQ(manifest.at("data"), "mnist");
  EXPECT_GT(manifest.at("probe_test_accuracy").get<double>(), 0.0);
  EXPECT_EQ(manifest.at("command").get<std::string>().rfind("ssdd teacher --preset quick", 0), 0u);
  // The shipped backbone computes what the trained one does.
  const auto shipped = teacher::load_teacher(t.shipped, torch::kCPU);
  const auto x = torch::rand({3, 1, 16, 16});
  EXPECT_TRUE(torch::equal(shipped.encoder->features(x), trained.encoder->features(x)));
  // A shipped teacher is written into a new folder only.
  EXPECT_THROW(teacher::ship_trained_teacher(t.teacher.path(), t.shipped), ConfigError);
}

TEST(ShippedTeacher, TeacherCommandTakesItAndRetrainTrains) {
  ShippedTiny t;
  TempDir out, retrained;
  auto o = run_ssdd(t.teacher_args + " --out " + out.path() + "/t");
  ASSERT_EQ(o.code, 0) << o.output;
  EXPECT_NE(o.output.find("using the shipped teacher " + t.shipped), std::string::npos) << o.output;
  EXPECT_EQ(io::read_file(out.path() + "/t/teacher.pt"), io::read_file(t.shipped + "/teacher.pt"));
  EXPECT_FALSE(std::filesystem::exists(out.path() + "/t/metrics.json"));  // nothing trained
  teacher::load_teacher(out.path() + "/t", torch::kCPU);

  o = run_ssdd(t.teacher_args + " --retrain --out " + retrained.path() + "/t");
  ASSERT_EQ(o.code, 0) << o.output;
  EXPECT_EQ(o.output.find("shipped teacher"), std::string::npos) << o.output;
  EXPECT_TRUE(std::filesystem::exists(retrained.path() + "/t/metrics.json"));
  expect_same_tensors(retrained.path() + "/t/teacher.pt", t.teacher.path() + "/teacher.pt");
}

TEST(ShippedTeacher, DamagedWeightsAreRefusedInOneLineNamingTheFile) {
  ShippedTiny t;
  flip_a_byte(t.shipped + "/teacher.pt");
  TempDir out;
  const auto o = run_ssdd(t.teacher_args + " --out " + out.path() + "/t");
  EXPECT_EQ(o.code, 1) << o.output;
  EXPECT_NE(o.output.find(t.shipped + "/teacher.pt"), std::string::npos) << o.output;
  EXPECT_NE(o.output.find("sha256"), std::string::npos) << o.output;
  EXPECT_EQ(std::count(o.output.begin(), o.output.end(), '\n'), 1) << o.output;
  EXPECT_FALSE(std::filesystem::exists(out.path() + "/t"));  // nothing half-written
}

TEST(ShippedTeacher, AManifestOfOtherWeightsIsRefused) {
  ShippedTiny t;
  auto manifest = io::parse_json_file(t.shipped + "/manifest.json");
  manifest["sha256"] = std::string(64, '0');
  io::write_json_file(t.shipped + "/manifest.json", manifest);
  EXPECT_THROW(teacher::find_shipped_teacher(manifest.at("id")), DataError);
  // Another teacher's id on the shelf is simply not this config's teacher.
  EXPECT_FALSE(teacher::find_shipped_teacher("not-an-id").has_value());
}

TEST(ShippedTeacher, CommandIsThePresetAndWhatDiffers) {
  EXPECT_EQ(teacher::teacher_command(teacher::teacher_preset("cpu")), "ssdd teacher --preset cpu");
  auto c = teacher::teacher_preset("cpu");
  c.epochs = 40;
  c.data = "cifar10";
  c.runtime.threads = 2;  // speed, not the weights: left out
  EXPECT_EQ(teacher::teacher_command(c), "ssdd teacher --preset cpu --data cifar10 --epochs 40");
}
