#include "ssdd/evaluate/pretrain.h"

#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include "ssdd/core/error.h"
#include "ssdd/core/hash.h"
#include "ssdd/distill/set_file.h"
#include "ssdd/io/tensor_checksum.h"
#include "ssdd/models/zoo.h"
#include "ssdd/train/autocast.h"
#include "ssdd/train/fit.h"
#include "ssdd/train/state.h"

namespace ssdd::evaluate {

io::TensorMap Pretrained::state() const {
  io::TensorMap t = train::module_state(*encoder, "encoder.");
  for (auto& [k, v] : train::module_state(*head, "head.")) t[k] = v;
  return t;
}

Pretrained fresh_network(const std::string& arch, const models::ImageShape& shape, int64_t d, uint64_t seed,
                         c10::Device device) {
  if (d < 1) throw ConfigError("pretrain", "the target dimension must be positive");
  // The one seed fixes both the encoder and the head, so "none" of seed s is exactly the
  // starting point of the network pretrained with seed s.
  torch::manual_seed(seed);
  Pretrained p;
  p.encoder = models::make_encoder_from_spec(arch, shape);
  p.head = torch::nn::Linear(p.encoder->feature_dim(), d);
  p.encoder->to(device);
  p.head->to(device);
  p.encoder->eval();
  p.head->eval();
  return p;
}

Pretrained pretrain(const at::Tensor& images, const at::Tensor& targets, const PretrainOptions& options) {
  if (!images.defined() || images.dim() != 4) throw ConfigError("pretrain", "images must be N x C x H x W");
  if (!targets.defined() || targets.dim() != 2 || targets.size(0) != images.size(0))
    throw ConfigError("pretrain", "expected one target row per image, found " +
                                      (targets.defined() ? std::to_string(targets.size(0)) : std::string("none")) +
                                      " for " + std::to_string(images.size(0)) + " images");
  const PretrainSchedule& schedule = options.schedule;
  if (schedule.steps < 0) throw ConfigError("--pretrain-steps", "must not be negative");
  if (schedule.steps == 0 && schedule.epochs < 1) throw ConfigError("--pretrain-epochs", "must be at least 1");
  const models::ImageShape shape{images.size(1), images.size(2), images.size(3)};
  Pretrained p = fresh_network(options.arch, shape, targets.size(1), options.seed, options.device);
  const at::Tensor x = images.detach().to(options.device, torch::kFloat).contiguous();
  const at::Tensor y = targets.detach().to(options.device, torch::kFloat).contiguous();

  std::vector<at::Tensor> params = p.encoder->parameters();
  for (const auto& w : p.head->parameters()) params.push_back(w);
  torch::optim::SGD optimizer(params, torch::optim::SGDOptions(schedule.lr)
                                          .momentum(options.momentum)
                                          .weight_decay(schedule.weight_decay));
  train::FitOptions fit;
  fit.stage = "pretrain " + (options.label.empty() ? options.arch : options.label);
  fit.epochs = schedule.epochs;
  fit.steps = schedule.steps;
  fit.batch_size = schedule.batch_size;
  fit.drop_last = false;  // a 100-image set is one batch of 100
  fit.seed = options.seed;
  fit.quiet = options.quiet;
  fit.checkpoint_dir = options.checkpoint_dir;
  const int64_t per_epoch = train::steps_per_epoch(x.size(0), schedule.batch_size, fit.drop_last);
  const int64_t epochs = schedule.steps > 0 ? (schedule.steps + per_epoch - 1) / per_epoch : schedule.epochs;
  fit.checkpoint_every_epochs = std::max<int64_t>(1, epochs / 20);
  nlohmann::json key = {{"arch", options.arch}, {"epochs", schedule.epochs}, {"batch", schedule.batch_size},
                        {"lr", schedule.lr},     {"momentum", options.momentum}, {"wd", schedule.weight_decay},
                        {"seed", options.seed},  {"n", x.size(0)},               {"d", y.size(1)}};
  if (schedule.steps > 0) key["steps"] = schedule.steps;  // absent at 0: older checkpoints stay current
  if (schedule.precision != train::Precision::float32) key["precision"] = schedule.precision;  // likewise
  fit.config_hash = hash_hex(key.dump());
  fit.unit = "pairs/s";
  train::FitHooks hooks;
  hooks.batch_loss = [&](const at::Tensor& index, at::Generator&) {
    const auto idx = index.to(options.device);
    at::Tensor prediction;
    {
      const train::Autocast autocast(options.device.type(), train::compute_dtype(schedule.precision));
      prediction = p.predict(x.index_select(0, idx));
    }
    // The loss in fp32, as autocast would compute it (a no-op in fp32).
    return torch::mse_loss(prediction.to(at::kFloat), y.index_select(0, idx));
  };
  hooks.learning_rate = [&](int64_t, int64_t) { return schedule.lr; };  // constant (KRR-ST)
  hooks.save_state = [&] { return p.state(); };
  hooks.load_state = [&](const io::TensorMap& t) {
    train::load_module_state(*p.encoder, t, options.checkpoint_dir, "encoder.");
    train::load_module_state(*p.head, t, options.checkpoint_dir, "head.");
  };
  hooks.log = options.log;
  p.encoder->train();
  p.head->train();
  const train::FitResult r = train::fit(x.size(0), optimizer, fit, hooks);
  p.encoder->eval();
  p.head->eval();
  p.loss = r.epoch_loss;
  p.steps = r.steps;
  p.seconds = r.seconds;
  return p;
}

Pretrained pretrain_on_set(const distill::SetFile& set, const PretrainOptions& options) {
  return pretrain(set.pairs.images, set.pairs.targets, options);  // what `ssdd export` writes
}

void save_pretrained(const std::string& path, const Pretrained& p) {
  io::TensorMap t = p.state();
  t["__meta__"] =
      io::text_to_tensor(nlohmann::json{{"loss", p.loss}, {"seconds", p.seconds}, {"steps", p.steps}}.dump());
  io::save_tensors_checksummed(path, std::move(t));
}

Pretrained load_pretrained(const std::string& path, const std::string& arch, const models::ImageShape& shape,
                           int64_t d, c10::Device device) {
  const io::TensorMap t = io::load_tensors(path);
  io::verify_checksum(t, path);  // weights saved before checksums have none, and load
  Pretrained p = fresh_network(arch, shape, d, 0, device);
  train::load_module_state(*p.encoder, t, path, "encoder.");
  train::load_module_state(*p.head, t, path, "head.");
  p.encoder->to(device);
  p.head->to(device);
  const auto meta = t.find("__meta__");
  if (meta == t.end()) throw DataError(path, "pretrained weights with __meta__", "no __meta__ entry");
  try {
    const auto j = nlohmann::json::parse(io::tensor_to_text(meta->second));
    p.loss = j.at("loss").get<std::vector<double>>();
    p.seconds = j.at("seconds").get<double>();
    p.steps = j.value("steps", int64_t{0});  // weights saved before steps were counted: 0
  } catch (const nlohmann::json::exception& e) {
    throw DataError(path, "loss and seconds in __meta__", e.what());
  }
  return p;
}

}  // namespace ssdd::evaluate
