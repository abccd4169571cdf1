#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>

#include <torch/torch.h>

#include "ssdd/core/error.h"
#include "ssdd/io/atomic_file.h"
#include "ssdd/io/json_file.h"
#include "ssdd/io/tensor_archive.h"
#include "ssdd/models/zoo.h"
#include "ssdd/teacher/import.h"
#include "ssdd/teacher/teacher.h"
#include "ssdd/train/state.h"
#include "test_util.h"
#include "tiny_data.h"

namespace fs = std::filesystem;
using namespace ssdd;

namespace {

std::string torchvision_name(std::string name) {
  const size_t at = name.find(".shortcut.");
  if (at != std::string::npos) name.replace(at, 10, ".downsample.");
  return name;
}

// A zoo ResNet18 in eval mode with batch-norm statistics of its own (so that a mapping that
// loses them shows), and its weights in torchvision's naming with a classifier head.
struct Reference {
  models::Encoder encoder;
  io::TensorMap torchvision;
};

Reference make_reference(const std::string& spec, int64_t channels) {
  torch::manual_seed(11);
  Reference r;
  r.encoder = models::make_encoder_from_spec(spec, {channels, 32, 32});
  {
    torch::NoGradGuard no_grad;
    for (auto& buffer : r.encoder->named_buffers()) {
      if (buffer.key().find("running_mean") != std::string::npos) buffer.value().normal_(0, 0.2);
      if (buffer.key().find("running_var") != std::string::npos) buffer.value().uniform_(0.5, 1.5);
    }
    for (auto& p : r.encoder->named_parameters())
      if (p.key().find("bn") != std::string::npos || p.key().find("shortcut.1") != std::string::npos)
        p.value().uniform_(0.5, 1.5);
  }
  r.encoder->eval();
  for (const auto& [name, tensor] : train::module_state(*r.encoder)) r.torchvision[torchvision_name(name)] = tensor.clone();
  const int64_t features = r.encoder->feature_dim();
  r.torchvision["fc.weight"] = torch::randn({10, features});
  r.torchvision["fc.bias"] = torch::zeros({10});
  return r;
}

void expect_same_features(const models::Encoder& a, const models::Encoder& b, int64_t channels) {
  torch::NoGradGuard no_grad;
  const auto x = torch::randn({2, channels, 32, 32});
  const auto fa = a->features(x), fb = b->features(x);
  EXPECT_TRUE(torch::allclose(fa, fb, 1e-5, 1e-6)) << (fa - fb).abs().max().item<float>();
}

std::string import_error(const std::string& path) {
  try {
    teacher::map_resnet18_backbone(path);
  } catch (const DataError& e) {
    return e.what();
  }
  ADD_FAILURE() << "expected DataError for " << path;
  return "";
}

bool python_torch_available() {
  return std::system("/usr/bin/python3 -c 'import torch, torchvision' >/dev/null 2>&1") == 0;
}

}  // namespace

TEST(TeacherImport, TorchvisionStateDictOfEitherStemGivesTheZooFeatures) {
  TempDir dir;
  for (const std::string spec : {"resnet18:8:cifar", "resnet18:8:imagenet"}) {
    for (const int64_t channels : {int64_t{3}, int64_t{1}}) {
      const Reference r = make_reference(spec, channels);
      const std::string path = dir.path() + "/resnet.pt";
      io::save_tensors(path, r.torchvision);
      const teacher::MappedBackbone mapped = teacher::map_resnet18_backbone(path);
      EXPECT_EQ(mapped.arch, spec);
      EXPECT_EQ(mapped.channels, channels);
      EXPECT_EQ(mapped.format, "torchvision state_dict");
      EXPECT_EQ(mapped.dropped, std::vector<std::string>{"fc."});
      expect_same_features(r.encoder, mapped.encoder, channels);
    }
  }
}

TEST(TeacherImport, BackbonePrefixIsFoundAndItsNeighboursDropped) {
  TempDir dir;
  const Reference r = make_reference("resnet18:8:cifar", 3);
  io::TensorMap prefixed;
  for (const auto& [name, tensor] : r.torchvision) prefixed["backbone." + name] = tensor;
  prefixed["projector.0.weight"] = torch::randn({16, 64});
  prefixed["classifier.weight"] = torch::randn({10, 64});
  const std::string path = dir.path() + "/solo.pt";
  io::save_tensors(path, prefixed);
  const teacher::MappedBackbone mapped = teacher::map_resnet18_backbone(path, "", 1);
  EXPECT_EQ(mapped.format, "state_dict (backbone.)");
  EXPECT_EQ(mapped.dropped, (std::vector<std::string>{"backbone.fc.", "classifier.", "projector."}));
  expect_same_features(r.encoder, mapped.encoder, 3);
  // The width forced against the weights: every weight is then mis-shaped.
  EXPECT_THROW(teacher::map_resnet18_backbone(path, "resnet18:16"), DataError);
  EXPECT_THROW(teacher::map_resnet18_backbone(path, "vgg11"), ConfigError);
}

// The weights of a 3x3 stem look the same at either padding: 2 under backbone.* (solo-learn),
// 1 otherwise, unless told.
TEST(TeacherImport, ACifarStemsPaddingFollowsTheFilesLayoutUnlessToldOtherwise) {
  TempDir dir;
  const Reference solo = make_reference("resnet18:8:cifar:pad2", 3);
  io::TensorMap prefixed;
  for (const auto& [name, tensor] : solo.torchvision) prefixed["backbone." + name] = tensor;
  const std::string solo_path = dir.path() + "/solo.pt";
  io::save_tensors(solo_path, prefixed);
  const teacher::MappedBackbone by_layout = teacher::map_resnet18_backbone(solo_path);
  EXPECT_EQ(by_layout.arch, "resnet18:8:cifar:pad2");
  expect_same_features(solo.encoder, by_layout.encoder, 3);
  const teacher::MappedBackbone told = teacher::map_resnet18_backbone(solo_path, "", 1);
  EXPECT_EQ(told.arch, "resnet18:8:cifar");
  {
    torch::NoGradGuard no_grad;
    const auto x = torch::randn({2, 3, 32, 32});
    EXPECT_FALSE(torch::allclose(solo.encoder->features(x), told.encoder->features(x), 1e-3, 1e-4));
  }
  const Reference plain = make_reference("resnet18:8:cifar", 3);
  const std::string plain_path = dir.path() + "/plain.pt";
  io::save_tensors(plain_path, plain.torchvision);
  EXPECT_EQ(teacher::map_resnet18_backbone(plain_path).arch, "resnet18:8:cifar");
  EXPECT_EQ(teacher::map_resnet18_backbone(plain_path, "", 2).arch, "resnet18:8:cifar:pad2");
  const Reference imagenet = make_reference("resnet18:8:imagenet", 3);  // 7x7 stems always pad 3
  io::save_tensors(plain_path, imagenet.torchvision);
  EXPECT_EQ(teacher::map_resnet18_backbone(plain_path, "", 2).arch, "resnet18:8:imagenet");
  EXPECT_THROW(teacher::map_resnet18_backbone(plain_path, "", 3), ConfigError);
}

TEST(TeacherImport, OneLineListsMissingUnexpectedAndMisshapedKeys) {
  TempDir dir;
  io::TensorMap weights = make_reference("resnet18:8:cifar", 3).torchvision;
  weights.erase("layer2.0.conv1.weight");
  weights["layer1.0.conv3.weight"] = torch::zeros({8, 8, 1, 1});
  weights["bn1.weight"] = torch::ones({9});
  const std::string path = dir.path() + "/damaged.pt";
  io::save_tensors(path, weights);
  const std::string message = import_error(path);
  EXPECT_EQ(message.find('\n'), std::string::npos) << message;
  EXPECT_NE(message.find(path), std::string::npos) << message;
  EXPECT_NE(message.find("1 missing key: layer2.0.conv1.weight"), std::string::npos) << message;
  EXPECT_NE(message.find("1 unexpected key: layer1.0.conv3.weight"), std::string::npos) << message;
  EXPECT_NE(message.find("1 mis-shaped key: bn1.weight (expected [8], found [9])"), std::string::npos) << message;
}

TEST(TeacherImport, AnotherArchitectureIsOneClearLine) {
  TempDir dir;
  // A VGG's features: nothing of a ResNet18, listed ten at a time.
  io::TensorMap vgg;
  for (int i = 0; i < 8; ++i) {
    vgg["features." + std::to_string(3 * i) + ".weight"] = torch::zeros({4, 4, 3, 3});
    vgg["features." + std::to_string(3 * i) + ".bias"] = torch::zeros({4});
  }
  io::save_tensors(dir.path() + "/vgg.pt", vgg);
  const std::string vgg_message = import_error(dir.path() + "/vgg.pt");
  EXPECT_NE(vgg_message.find("16 unexpected keys: "), std::string::npos) << vgg_message;
  EXPECT_NE(vgg_message.find(" and 6 more"), std::string::npos) << vgg_message;
  EXPECT_NE(vgg_message.find("missing keys: "), std::string::npos) << vgg_message;
  // A ResNet50's first block: bottleneck (1x1, 3x3, 1x1) convolutions and a downsample.
  io::TensorMap resnet50 = make_reference("resnet18:8:imagenet", 3).torchvision;
  resnet50["layer1.0.conv1.weight"] = torch::zeros({8, 8, 1, 1});
  resnet50["layer1.0.conv3.weight"] = torch::zeros({32, 8, 1, 1});
  resnet50["layer1.0.downsample.0.weight"] = torch::zeros({32, 8, 1, 1});
  io::save_tensors(dir.path() + "/resnet50.pt", resnet50);
  const std::string message = import_error(dir.path() + "/resnet50.pt");
  EXPECT_EQ(message.find('\n'), std::string::npos) << message;
  EXPECT_NE(message.find("bottleneck blocks (conv3: a ResNet50 or deeper)"), std::string::npos) << message;
  EXPECT_NE(message.find("layer1.0.conv3.weight"), std::string::npos) << message;
  EXPECT_NE(message.find("layer1.0.conv1.weight (expected [8, 8, 3, 3], found [8, 8, 1, 1])"), std::string::npos)
      << message;
}

TEST(TeacherImport, TruncatedFileIsRefusedAndNothingIsWritten) {
  TempDir dir;
  const std::string path = dir.path() + "/resnet.pt";
  io::save_tensors(path, make_reference("resnet18:8:cifar", 1).torchvision);
  const std::string whole = io::read_file(path);
  io::write_file_atomic(path, whole.substr(0, whole.size() / 2));
  EXPECT_THROW(teacher::map_resnet18_backbone(path), DataError);
  const std::string out = dir.path() + "/teacher";
  const auto o = run_ssdd("teacher import " + path + " --out " + out + " --data mnist --data-dir " + dir.path());
  EXPECT_EQ(o.code, 1) << o.output;
  EXPECT_NE(o.output.find(path), std::string::npos) << o.output;
  EXPECT_FALSE(fs::exists(out));
}

TEST(TeacherImport, ImportWritesATeacherFolderLoadTeacherReads) {
  TempDir dir;
  const std::string data_dir = dir.path() + "/data";
  fs::create_directories(data_dir);
  write_tiny_idx(data_dir);
  const Reference r = make_reference("resnet18:8:cifar", 1);
  const std::string path = dir.path() + "/resnet.pt";
  io::save_tensors(path, r.torchvision);
  const std::string out = dir.path() + "/teacher";
  const auto o = run_ssdd("teacher import " + path + " --out " + out + " --data mnist --data-dir " + data_dir +
                          " --probe-epochs 2 --threads 2");
  ASSERT_EQ(o.code, 0) << o.output;
  EXPECT_NE(o.output.find("dropped fc."), std::string::npos) << o.output;
  const teacher::Teacher t = teacher::load_teacher(out, torch::kCPU);
  EXPECT_EQ(t.arch, "resnet18:8:cifar");
  EXPECT_EQ(t.id.rfind("import-", 0), 0u) << t.id;
  EXPECT_EQ(t.id.size(), 7u + 16u);
  EXPECT_EQ(t.shape.channels, 1);
  expect_same_features(r.encoder, t.encoder, 1);
  const auto manifest = io::parse_json_file(out + "/manifest.json");
  EXPECT_EQ(manifest.at("source"), "imported");
  EXPECT_EQ(manifest.at("id"), t.id);
  EXPECT_EQ(manifest.at("imported_from").at("format"), "torchvision state_dict");
  EXPECT_EQ(manifest.at("imported_from").at("dropped"), nlohmann::json::array({"fc."}));
  EXPECT_EQ(manifest.at("probe_epochs"), 2);
  EXPECT_GT(manifest.at("probe_test_accuracy").get<double>(), 0.0);
  EXPECT_NE(manifest.at("command").get<std::string>().find("teacher import"), std::string::npos);
  // An existing folder of the user's is refused without --force.
  const std::string users = dir.path() + "/users";
  fs::create_directories(users);
  io::write_file_atomic(users + "/notes.txt", "mine");
  const auto refused = run_ssdd("teacher import " + path + " --out " + users + " --data mnist --data-dir " +
                                data_dir + " --probe-epochs 0");
  EXPECT_EQ(refused.code, 1) << refused.output;
  EXPECT_FALSE(fs::exists(users + "/teacher.pt"));
}

// An RGB backbone on a grey data set: the images are read as three equal channels, with the
// grey set's normalisation in each, and the teacher keeps three input channels.
TEST(TeacherImport, AnRgbBackboneReadsAGreyDataSetAsThreeEqualChannels) {
  TempDir dir;
  const std::string data_dir = dir.path() + "/data";
  fs::create_directories(data_dir);
  write_tiny_idx(data_dir);
  const Reference r = make_reference("resnet18:8:cifar", 3);
  const std::string path = dir.path() + "/resnet.pt";
  io::save_tensors(path, r.torchvision);
  teacher::ImportOptions options;
  options.data = "mnist";
  options.data_dir = data_dir;
  options.probe_epochs = 1;
  const std::string out = dir.path() + "/teacher";
  const teacher::ImportResult result = teacher::import_teacher(path, out, options);
  EXPECT_GT(result.probe_test_accuracy, 0.0);
  const teacher::Teacher t = teacher::load_teacher(out, torch::kCPU);
  EXPECT_EQ(t.shape.channels, 3);
  ASSERT_EQ(t.norm.mean.size(), 3u);
  EXPECT_EQ(t.norm.mean[0], t.norm.mean[2]);
  EXPECT_EQ(t.norm.std[0], t.norm.std[1]);
  expect_same_features(r.encoder, t.encoder, 3);
}

// A torchvision ResNet18 (CIFAR stem) saved by Python: its state_dict, and the same weights
// inside a Lightning-style checkpoint, give Python's features.
TEST(TeacherImport, PythonTorchvisionResnet18GivesPythonsFeatures) {
  if (!python_torch_available())
    GTEST_SKIP() << "/usr/bin/python3 cannot import torch and torchvision (Debian's python3-torch, python3-torchvision)";
  TempDir dir;
  const std::string script = dir.path() + "/save.py";
  io::write_file_atomic(script, R"(import sys, torch, torchvision
out = sys.argv[1]
torch.manual_seed(0)
x = torch.randn(4, 3, 32, 32)
features = {'x': x}
# A torchvision model given a CIFAR stem by hand (padding 1), and solo-learn's (padding 2)
# inside a Lightning checkpoint.
for padding, name in [(1, 'state_dict.pt'), (2, 'lightning.ckpt')]:
    model = torchvision.models.resnet18()
    model.conv1 = torch.nn.Conv2d(3, 64, 3, 1, padding, bias=False)
    model.maxpool = torch.nn.Identity()
    with torch.no_grad():  # batch-norm statistics of their own
        model.train()
        model(torch.randn(8, 3, 32, 32))
    model.eval()
    sd = model.state_dict()
    if padding == 1:
        torch.save(sd, out + '/' + name)
    else:
        torch.save({'state_dict': {'backbone.' + k: v for k, v in sd.items()}, 'epoch': 3,
                    'hyper_parameters': {'lr': 0.1, 'name': 'bt'}, 'loops': [1, 2.5, 'x', None]}, out + '/' + name)
    model.fc = torch.nn.Identity()
    with torch.no_grad():
        features[name] = model(x)
torch.save(features, out + '/features.pt')
)");
  ASSERT_EQ(std::system(("/usr/bin/python3 " + script + " " + dir.path()).c_str()), 0);
  const io::TensorMap expected = io::load_tensors(dir.path() + "/features.pt");
  for (const auto& [file, arch] : {std::pair<std::string, std::string>{"state_dict.pt", "resnet18:64:cifar"},
                                   {"lightning.ckpt", "resnet18:64:cifar:pad2"}}) {
    const teacher::MappedBackbone mapped = teacher::map_resnet18_backbone(dir.path() + "/" + file);
    EXPECT_EQ(mapped.arch, arch) << file;
    torch::NoGradGuard no_grad;
    const at::Tensor f = mapped.encoder->features(expected.at("x")), want = expected.at(file);
    const double relative = ((f - want).abs().max() / want.abs().max()).item<double>();
    EXPECT_LT(relative, 1e-4) << file;
  }
  EXPECT_EQ(teacher::map_resnet18_backbone(dir.path() + "/lightning.ckpt").format, "lightning checkpoint (backbone.)");
}
