#include <gtest/gtest.h>
#include <torch/torch.h>

#include "ssdd/core/error.h"
#include "ssdd/models/batch_norm.h"
#include "ssdd/models/channels_last.h"
#include "ssdd/models/convnet.h"
#include "ssdd/models/resnet.h"
#include "ssdd/models/zoo.h"
#include "ssdd/io/tensor_archive.h"
#include "ssdd/train/state.h"
#include "test_util.h"

using namespace ssdd::models;

namespace {

const ImageShape kMnist{1, 28, 28};
const ImageShape kCifar{3, 32, 32};

// Small variants of every architecture, to keep the suite fast.
ZooOptions small_options() {
  ZooOptions o;
  o.widths = {8, 8, 8};
  o.base_width = 8;
  o.width_mult = 0.125;
  return o;
}

int64_t numel_of_parameters(torch::nn::Module& m) {
  int64_t n = 0;
  for (const auto& p : m.parameters()) n += p.numel();
  return n;
}

}  // namespace

TEST(Models, EveryArchitectureAtBothShapes) {
  torch::manual_seed(0);
  for (const auto& arch : known_archs()) {
    for (const auto& shape : {kMnist, kCifar}) {
      SCOPED_TRACE(arch + " at " + std::to_string(shape.channels) + "x" + std::to_string(shape.height));
      ZooOptions opts = small_options();
      if (arch == "mobilenetv2") opts.width_mult = 0.25;
      Encoder net = make_encoder(arch, shape, opts);
      EXPECT_EQ(net->arch(), arch);
      const auto x = torch::rand({3, shape.channels, shape.height, shape.width});

      // Train mode: output shape and gradient reaching the first conv (first parameter).
      net->train();
      const auto f = net->features(x);
      ASSERT_EQ(f.dim(), 2);
      EXPECT_EQ(f.size(0), 3);
      EXPECT_EQ(f.size(1), net->feature_dim());
      EXPECT_TRUE(torch::isfinite(f).all().item<bool>());
      f.pow(2).sum().backward();
      const auto first = net->named_parameters().items().front();
      EXPECT_NE(first.key().find("weight"), std::string::npos) << first.key();
      ASSERT_TRUE(first.value().grad().defined()) << first.key();
      EXPECT_GT(first.value().grad().abs().sum().item<double>(), 0.0) << first.key();

      // Eval mode (running statistics), also for a single image.
      net->eval();
      torch::NoGradGuard no_grad;
      const auto g = net->forward(x.narrow(0, 0, 1));
      EXPECT_EQ(g.sizes(), (std::vector<int64_t>{1, net->feature_dim()}));
    }
  }
}

TEST(Models, DefaultFeatureDims) {
  // Construction only (no forward): the dimensions the report quotes.
  const std::vector<std::pair<std::string, std::pair<int64_t, int64_t>>> expected{
      {"convnet", {64 * 3 * 3, 64 * 4 * 4}}, {"resnet18", {512, 512}}, {"vgg11", {512, 512}},
      {"alexnet", {192 * 3 * 3, 192 * 4 * 4}}, {"mobilenetv2", {1280, 1280}}};
  for (const auto& [arch, dims] : expected) {
    EXPECT_EQ(make_encoder(arch, kMnist)->feature_dim(), dims.first) << arch;
    EXPECT_EQ(make_encoder(arch, kCifar)->feature_dim(), dims.second) << arch;
  }
}

TEST(Models, ConvNetFlattenedDims) {
  torch::NoGradGuard no_grad;
  ConvNet krrst(ConvNetOptions{{128, 256, 512}, Norm::batch, false}, kCifar);
  EXPECT_EQ(krrst->feature_dim(), 8192);
  krrst->eval();
  EXPECT_EQ(krrst->features(torch::rand({1, 3, 32, 32})).size(1), 8192);

  ConvNet mnist(ConvNetOptions{{64, 64, 64}, Norm::batch, false}, kMnist);  // 28->14->7->3
  EXPECT_EQ(mnist->feature_dim(), 576);
  EXPECT_EQ(mnist->features(torch::rand({2, 1, 28, 28})).size(1), 576);

  ConvNet pooled(ConvNetOptions{{8, 16}, Norm::instance, true}, kCifar);
  EXPECT_EQ(pooled->feature_dim(), 16);
  EXPECT_EQ(pooled->features(torch::rand({2, 3, 32, 32})).sizes(), (std::vector<int64_t>{2, 16}));

  ConvNet four(ConvNetOptions{{8, 8, 8, 8}, Norm::none, false}, ImageShape{3, 64, 64});
  EXPECT_EQ(four->feature_dim(), 8 * 4 * 4);
  EXPECT_EQ(four->features(torch::rand({1, 3, 64, 64})).size(1), 8 * 4 * 4);

  // 28 -> 14 -> 7 -> 3 -> 1 -> 0: five blocks are too many.
  EXPECT_THROW(ConvNet(ConvNetOptions{{8, 8, 8, 8, 8}, Norm::batch, false}, kMnist), ssdd::ConfigError);
  EXPECT_THROW(ConvNet(ConvNetOptions{{}, Norm::batch, false}, kMnist), ssdd::ConfigError);
  EXPECT_THROW(ConvNet(ConvNetOptions{{8, 0}, Norm::batch, false}, kMnist), ssdd::ConfigError);
}

TEST(Models, ConvNetLayerAccess) {
  ConvNet bn(ConvNetOptions{{4, 6}, Norm::batch, false}, kCifar);
  EXPECT_EQ(bn->depth(), 2);
  EXPECT_EQ(bn->conv(1)->weight.sizes(), (std::vector<int64_t>{6, 4, 3, 3}));
  ASSERT_TRUE(bn->conv(0)->bias.defined());
  ASSERT_TRUE(bn->batch_norm(1));
  EXPECT_FALSE(bn->group_norm(0));
  const auto params = bn->named_parameters();
  EXPECT_TRUE(params.contains("conv0.weight"));
  EXPECT_TRUE(params.contains("norm1.bias"));
  EXPECT_TRUE(bn->named_buffers().contains("norm0.running_mean"));

  // Running the blocks one by one equals features().
  bn->eval();
  torch::NoGradGuard no_grad;
  const auto x = torch::rand({2, 3, 32, 32});
  EXPECT_TRUE(torch::allclose(bn->block(1, bn->block(0, x)).flatten(1), bn->features(x)));

  ConvNet in(ConvNetOptions{{4}, Norm::instance, false}, kCifar);
  EXPECT_TRUE(in->group_norm(0));
  EXPECT_FALSE(in->batch_norm(0));
  EXPECT_EQ(in->group_norm(0)->options.num_groups(), 4);
  ConvNet none(ConvNetOptions{{4}, Norm::none, false}, kCifar);
  EXPECT_EQ(none->named_parameters().size(), 2u);  // conv weight and bias only
}

TEST(Models, ResNet18FullWidth) {
  ResNet18 net(ResNetOptions{}, kCifar);
  EXPECT_EQ(net->feature_dim(), 512);
  // torchvision resnet18 without fc (11,176,512) with the 7x7 stem (9,408) swapped for 3x3 (1,728).
  EXPECT_EQ(numel_of_parameters(*net), 11168832);
  torch::NoGradGuard no_grad;
  const auto f = net->features(torch::rand({2, 3, 32, 32}));
  EXPECT_EQ(f.sizes(), (std::vector<int64_t>{2, 512}));
  EXPECT_TRUE((f >= 0).all().item<bool>());  // post-ReLU average, not normalised

  ResNetOptions imagenet;
  imagenet.base_width = 8;
  imagenet.imagenet_stem = true;
  ResNet18 big(imagenet, ImageShape{3, 64, 64});
  EXPECT_EQ(big->feature_dim(), 64);
  EXPECT_EQ(big->named_parameters()["conv1.weight"].sizes(), (std::vector<int64_t>{8, 3, 7, 7}));
  EXPECT_EQ(big->features(torch::rand({2, 3, 64, 64})).sizes(), (std::vector<int64_t>{2, 64}));
  EXPECT_TRUE(big->named_parameters().contains("layer2.0.shortcut.0.weight"));
}

TEST(Models, SpecParsing) {
  auto s = parse_arch_spec("convnet:64-128-256");
  EXPECT_EQ(s.arch, "convnet");
  EXPECT_EQ(s.options.widths, (std::vector<int64_t>{64, 128, 256}));
  EXPECT_EQ(s.options.norm, Norm::batch);
  EXPECT_FALSE(s.options.global_pool);

  s = parse_arch_spec("convnet:128-256-512:instance");
  EXPECT_EQ(s.options.widths, (std::vector<int64_t>{128, 256, 512}));
  EXPECT_EQ(s.options.norm, Norm::instance);

  s = parse_arch_spec("ConvNet:none:32x4:gap");
  EXPECT_EQ(s.options.widths, (std::vector<int64_t>{32, 32, 32, 32}));
  EXPECT_EQ(s.options.norm, Norm::none);
  EXPECT_TRUE(s.options.global_pool);

  EXPECT_EQ(parse_arch_spec("convnet").options.widths, (std::vector<int64_t>{64, 64, 64}));

  s = parse_arch_spec("resnet18:32");
  EXPECT_EQ(s.arch, "resnet18");
  EXPECT_EQ(s.options.base_width, 32);
  EXPECT_FALSE(s.options.imagenet_stem);
  EXPECT_TRUE(parse_arch_spec("resnet18:imagenet").options.imagenet_stem);
  EXPECT_EQ(parse_arch_spec("resnet18").options.stem_padding, 1);
  EXPECT_EQ(parse_arch_spec("resnet18:pad2:8").options.stem_padding, 2);

  EXPECT_EQ(parse_arch_spec("vgg11").options.width_mult, 1.0);
  EXPECT_EQ(parse_arch_spec("mobilenetv2:0.5").options.width_mult, 0.5);
  EXPECT_EQ(parse_arch_spec("alexnet:.25").options.width_mult, 0.25);

  // Canonical form round-trips.
  for (const char* text : {"convnet:128-256-512:instance:gap", "resnet18:16:imagenet", "resnet18:pad2", "vgg11:0.5",
                           "alexnet:1", "mobilenetv2:0.75", "convnet"}) {
    const auto spec = parse_arch_spec(text);
    const auto canonical = format_arch_spec(spec);
    EXPECT_EQ(format_arch_spec(parse_arch_spec(canonical)), canonical) << text;
  }
  EXPECT_EQ(format_arch_spec(parse_arch_spec("convnet")), "convnet:64-64-64:batch");
  EXPECT_EQ(format_arch_spec(parse_arch_spec("resnet18")), "resnet18:64:cifar");
  EXPECT_EQ(format_arch_spec(parse_arch_spec("resnet18:pad1")), "resnet18:64:cifar");  // specs of before stay
  EXPECT_EQ(format_arch_spec(parse_arch_spec("resnet18:8:pad2")), "resnet18:8:cifar:pad2");
  // A stem padded 2 makes 34x34 maps of a 32x32 input; the features keep their size.
  const auto padded = make_encoder_from_spec("resnet18:8:pad2", kCifar);
  EXPECT_EQ(padded->features(torch::rand({2, 3, 32, 32})).sizes(), (std::vector<int64_t>{2, 64}));
  EXPECT_EQ(format_arch_spec(parse_arch_spec("mobilenetv2:0.5")), "mobilenetv2:0.5");

  const auto net = make_encoder_from_spec("convnet:8-16:instance", kMnist);
  EXPECT_EQ(net->feature_dim(), 16 * 7 * 7);
}

TEST(Models, SpecErrors) {
  for (const char* bad : {"", "lenet", "convnet:", "convnet:64-:batch", "convnet:64--64", "convnet:0-64",
                          "convnet:64:batch:instance", "convnet:64:32", "convnet:layer", "convnet:64x",
                          "resnet18:0", "resnet18:wide", "resnet18:3.5", "resnet18:64:32", "resnet18:pad0",
                          "resnet18:pad3", "resnet18:pad", "resnet18:pad1:pad2", "resnet18:imagenet:pad2",
                          "vgg11:0", "vgg11:-1", "vgg11:abc", "vgg11:1:2", "mobilenetv2:0.5x",
                          "alexnet:inf"}) {
    EXPECT_THROW(parse_arch_spec(bad), ssdd::ConfigError) << bad;
  }
  try {
    make_encoder("lenet", kCifar);
    FAIL() << "no error";
  } catch (const ssdd::ConfigError& e) {
    const std::string msg = e.what();
    for (const auto& name : known_archs()) EXPECT_NE(msg.find(name), std::string::npos) << msg;
  }
  ZooOptions bad_width;
  bad_width.width_mult = 0.0;
  EXPECT_THROW(make_encoder("vgg11", kCifar, bad_width), ssdd::ConfigError);
}

// Weights of any zoo network survive a round trip through a torch.save-format file.
TEST(ModelWeights, RoundTripThroughATensorArchiveGivesIdenticalOutputs) {
  TempDir dir;
  for (const std::string spec : {"convnet:8-16", "resnet18:8", "vgg11:0.125", "alexnet:0.125", "mobilenetv2:0.25"}) {
    torch::manual_seed(1);
    auto a = ssdd::models::make_encoder_from_spec(spec, {3, 32, 32});
    torch::manual_seed(2);
    auto b = ssdd::models::make_encoder_from_spec(spec, {3, 32, 32});
    a->eval();
    b->eval();
    const std::string path = dir.path() + "/w.pt";
    ssdd::io::save_tensors(path, ssdd::train::module_state(*a));
    ssdd::train::load_module_state(*b, ssdd::io::load_tensors(path), path);
    const auto x = torch::randn({2, 3, 32, 32});
    EXPECT_TRUE(torch::equal(a->features(x), b->features(x))) << spec;
  }
}

// The ConvNet's fast paths (channels-last activations, eval-mode batch norm folded into
// the convolution, in-place ReLU) against the block written out plainly: same features
// and same input gradient, in eval and in train mode.
TEST(Models, ConvNetFastPathsMatchThePlainBlocks) {
  torch::manual_seed(3);
  ssdd::models::ConvNetOptions o;
  o.widths = {6, 5};
  auto net = ssdd::models::ConvNet(o, ssdd::models::ImageShape{3, 12, 12});
  {
    torch::NoGradGuard no_grad;  // running statistics far from the identity
    for (int64_t i = 0; i < net->depth(); ++i) {
      auto bn = net->batch_norm(i);
      bn->running_mean.uniform_(-0.5, 0.5);
      bn->running_var.uniform_(0.5, 2.0);
      bn->weight.uniform_(0.5, 1.5);
      bn->bias.uniform_(-0.2, 0.2);
    }
  }
  auto plain = [&](const at::Tensor& x, bool training) {
    at::Tensor y = x;
    for (int64_t i = 0; i < net->depth(); ++i) {
      auto conv = net->conv(i);
      auto bn = net->batch_norm(i);
      y = torch::conv2d(y, conv->weight, conv->bias, 1, 1);
      y = torch::batch_norm(y, bn->weight, bn->bias, training ? at::Tensor() : bn->running_mean,
                            training ? at::Tensor() : bn->running_var, training, 0.1, bn->options.eps(), false);
      y = torch::avg_pool2d(torch::relu(y), {2, 2}, {2, 2});
    }
    return y.flatten(1);
  };
  for (bool training : {false, true}) {
    net->train(training);
    const at::Tensor x = torch::randn({4, 3, 12, 12});
    const at::Tensor x1 = x.clone().requires_grad_(true), x2 = x.clone().requires_grad_(true);
    const at::Tensor fast = net->features(x1), slow = plain(x2, training);
    EXPECT_TRUE(fast.is_contiguous());
    EXPECT_TRUE(torch::allclose(fast, slow, 1e-5, 1e-5)) << "training " << training;
    const at::Tensor weights = torch::randn_like(fast);
    (fast * weights).sum().backward();
    (slow * weights).sum().backward();
    EXPECT_TRUE(torch::allclose(x1.grad(), x2.grad(), 1e-5, 1e-5)) << "training " << training;
  }
}

// `contiguous(ChannelsLast)` leaves a one-channel NCHW batch as it is, and the convolutions
// then ran NCHW for all of Fashion-MNIST (about 20% of a pretraining step at 28x28).
TEST(Models, OneChannelImagesRunChannelsLastToo) {
  torch::manual_seed(0);
  const auto x = torch::randn({4, 1, 8, 8});
  const auto y = ssdd::models::to_channels_last(x);
  EXPECT_EQ(y.stride(1), 1);
  EXPECT_TRUE(torch::equal(x, y));
  const auto rgb = torch::randn({4, 3, 8, 8}).contiguous(at::MemoryFormat::ChannelsLast);
  EXPECT_EQ(ssdd::models::to_channels_last(rgb).data_ptr(), rgb.data_ptr());  // already laid out: no copy

  ssdd::models::ConvNetOptions o;
  o.widths = {8, 8};
  ssdd::models::ConvNet net(o, ssdd::models::ImageShape{1, 8, 8});
  net->train();
  const auto first = net->block(0, ssdd::models::to_channels_last(x));
  EXPECT_EQ(first.stride(1), 1) << "the first block ran NCHW";
  net->eval();  // the folded batch-norm path too
  EXPECT_EQ(net->block(0, ssdd::models::to_channels_last(x)).stride(1), 1);
}

// The batch statistics of a job's ranks, as one process with the whole batch sees them: with a
// reducer that is the identity (one rank), the synchronised path must be LibTorch's batch norm,
// outputs, input and affine gradients, and running statistics alike.
TEST(BatchNorm, TheRankSummedPathIsLibTorchsBatchNormForOneRank) {
  torch::manual_seed(3);
  const auto x = (3 * torch::randn({8, 5, 4, 4}) + 2).contiguous(torch::MemoryFormat::ChannelsLast);
  SyncBatchNorm2d plain(5), synced(5);
  for (auto* b : {&plain, &synced}) {
    torch::NoGradGuard no_grad;
    (*b)->weight.uniform_(0.5, 1.5);
    (*b)->bias.uniform_(-0.5, 0.5);
  }
  synced->weight.data().copy_(plain->weight);
  synced->bias.data().copy_(plain->bias);
  int reductions = 0;
  synchronise_batch_norms(*synced, [&](const at::Tensor& t) { ++reductions; return t * 1; }, "test");
  std::vector<at::Tensor> inputs, outputs;
  for (auto* b : {&plain, &synced}) {
    auto input = x.clone().requires_grad_();
    const auto y = (*b)->forward(input);
    (y * torch::arange(y.numel(), torch::kFloat).view_as(y).sin()).sum().backward();  // an uneven gradient
    inputs.push_back(input);
    outputs.push_back(y);
  }
  EXPECT_EQ(reductions, 2);  // the sums, then the centred squares
  EXPECT_TRUE(torch::allclose(outputs[0], outputs[1], 1e-4, 1e-5));
  EXPECT_TRUE(torch::allclose(inputs[0].grad(), inputs[1].grad(), 1e-4, 1e-5));
  EXPECT_TRUE(torch::allclose(plain->weight.grad(), synced->weight.grad(), 1e-4, 1e-5));
  EXPECT_TRUE(torch::allclose(plain->bias.grad(), synced->bias.grad(), 1e-4, 1e-5));
  EXPECT_TRUE(torch::allclose(plain->running_mean, synced->running_mean, 1e-5, 1e-6));
  EXPECT_TRUE(torch::allclose(plain->running_var, synced->running_var, 1e-5, 1e-6));
  EXPECT_EQ(synced->num_batches_tracked.item<int64_t>(), 1);
  synced->eval();  // evaluation uses the running statistics, with no reduction
  (void)synced->forward(x);
  EXPECT_EQ(reductions, 2);
}

// Without a reducer the module is LibTorch's BatchNorm2d, bit for bit, in training and in
// evaluation, running statistics included.
TEST(BatchNorm, OneProcessGetsLibTorchsBatchNormBitForBit) {
  torch::manual_seed(4);
  torch::nn::BatchNorm2d theirs(6);
  SyncBatchNorm2d ours(6);
  const auto x = torch::randn({5, 6, 3, 3}) * 2 + 1;
  for (int step = 0; step < 3; ++step) {
    EXPECT_TRUE(torch::equal(theirs->forward(x * (step + 1)), ours->forward(x * (step + 1)))) << step;
  }
  EXPECT_TRUE(torch::equal(theirs->running_mean, ours->running_mean));
  EXPECT_TRUE(torch::equal(theirs->running_var, ours->running_var));
  EXPECT_TRUE(torch::equal(theirs->num_batches_tracked, ours->num_batches_tracked));
  theirs->eval();
  ours->eval();
  EXPECT_TRUE(torch::equal(theirs->forward(x), ours->forward(x)));
  std::vector<std::string> their_names, our_names;
  for (const auto& p : theirs->named_parameters()) their_names.push_back(p.key());
  for (const auto& p : theirs->named_buffers()) their_names.push_back(p.key());
  for (const auto& p : ours->named_parameters()) our_names.push_back(p.key());
  for (const auto& p : ours->named_buffers()) our_names.push_back(p.key());
  EXPECT_EQ(their_names, our_names);
}

TEST(BatchNorm, AModelWithLibTorchsOwnBatchNormIsRefusedForSeveralRanks) {
  torch::nn::Sequential model(torch::nn::Conv2d(1, 2, 3), torch::nn::BatchNorm2d(2));
  try {
    synchronise_batch_norms(*model, [](const at::Tensor& t) { return t; }, "teacher --arch x");
    FAIL() << "expected a ConfigError";
  } catch (const ssdd::ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("its batch norm '1' cannot share its statistics"), std::string::npos)
        << e.what();
  }
  // Every model of the zoo takes the reducer.
  for (const std::string spec : {"resnet18:4", "convnet:8-8", "vgg11:0.125", "mobilenetv2:0.125"})
    EXPECT_NO_THROW(synchronise_batch_norms(*make_encoder_from_spec(spec, kCifar), [](const at::Tensor& t) { return t; },
                                            spec))
        << spec;
}
