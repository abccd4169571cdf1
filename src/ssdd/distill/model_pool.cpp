// SPEC section 2, step 1 (sampling) and step 7 (inner update, re-initialisation).
#include "ssdd/distill/model_pool.h"

#include <ATen/CPUGeneratorImpl.h>
#include <torch/torch.h>

#include "ssdd/core/error.h"
#include "ssdd/models/zoo.h"
#include "ssdd/train/state.h"

namespace ssdd::distill {

ModelPool::ModelPool(const PoolOptions& options, const models::ImageShape& shape, int64_t target_dim,
                     c10::Device device, uint64_t seed)
    : options_(options),
      shape_(shape),
      target_dim_(target_dim),
      device_(device) {
  if (options.size < 1) throw ConfigError("--pool-size", "must be at least 1");
  if (options.max_steps < 2) throw ConfigError("--pool-steps", "must be at least 2");
  if (options.shards < 1 || options.shards > options.size)
    throw ConfigError("--pool-shards", "must be from 1 to the pool size " + std::to_string(options.size) + ", found " +
                                           std::to_string(options.shards));
  for (int64_t s = 0; s < options.shards; ++s)
    init_gens_.push_back(at::make_generator<at::CPUGeneratorImpl>(seed + static_cast<uint64_t>(s)));
  own_.assign(static_cast<size_t>(options.shards), true);
  members_.resize(static_cast<size_t>(options.size));
  for (auto& m : members_) reinitialise(m, init_gens_[0]);
}

void ModelPool::set_own_shards(const std::vector<int64_t>& shards) {
  own_.assign(own_.size(), false);
  for (int64_t s : shards) own_.at(static_cast<size_t>(s)) = true;
}

void ModelPool::reinitialise(Member& m, at::Generator& gen) {
  // LibTorch initialises modules from the global generator; seed it from the pool's
  // own generator so weights depend only on the pool's history.
  const auto seed = static_cast<uint64_t>(
      torch::randint(0, std::numeric_limits<int64_t>::max(), {1}, gen, torch::kLong).item<int64_t>());
  torch::manual_seed(seed);
  m.encoder = models::make_encoder_from_spec(options_.arch, shape_);
  m.head = torch::nn::Linear(m.encoder->feature_dim(), target_dim_);
  m.encoder->to(device_);
  m.head->to(device_);
  auto params = m.encoder->parameters();
  for (const auto& p : m.head->parameters()) params.push_back(p);
  m.optimizer = std::make_unique<torch::optim::SGD>(
      params, torch::optim::SGDOptions(options_.lr).momentum(options_.momentum).weight_decay(options_.weight_decay));
  m.age = 0;
}

void ModelPool::train_step(Member& m, const at::Tensor& x, const at::Tensor& y) {
  m.encoder->train();
  m.optimizer->zero_grad();
  const auto prediction = m.head->forward(m.encoder->features(x.detach()));
  torch::mse_loss(prediction, y.detach()).backward();
  m.optimizer->step();
  ++m.age;
}

void ModelPool::stagger(const at::Tensor& x, const at::Tensor& y, at::Generator& gen,
                        const std::function<void(int64_t done, int64_t total)>& on_step) {
  // Every member's step count first (all drawn on every rank), so the total of this
  // process's members is known: training draws nothing from `gen`, so the counts are those of
  // drawing each before its member's training.
  std::vector<int64_t> steps;
  int64_t total = 0, done = 0;
  for (size_t i = 0; i < members_.size(); ++i) {
    steps.push_back(torch::randint(1, options_.max_steps, {1}, gen, torch::kLong).item<int64_t>());
    if (owns(static_cast<int64_t>(i))) total += steps.back();
  }
  for (size_t i = 0; i < members_.size(); ++i) {
    if (!owns(static_cast<int64_t>(i))) continue;
    for (int64_t s = 0; s < steps[i]; ++s) {
      train_step(members_[i], x, y);
      if (on_step) on_step(++done, total);
    }
  }
}

int64_t ModelPool::sample(at::Generator& gen, int64_t shard) const {
  // Shard s's members are s, s + S, s + 2S, ...; with S = 1, every member, as KRR-ST draws.
  const int64_t members = (size() - shard + shards() - 1) / shards();
  return shard + shards() * torch::randint(0, members, {1}, gen, torch::kLong).item<int64_t>();
}

void ModelPool::inner_step(int64_t i, const at::Tensor& x, const at::Tensor& y) {
  if (!owns(i)) throw Error("distill: pool model " + std::to_string(i) + " belongs to another rank's shard");
  Member& m = members_.at(static_cast<size_t>(i));
  if (m.age >= options_.max_steps) reinitialise(m, init_gens_[static_cast<size_t>(i % shards())]);
  else train_step(m, x, y);
}

// "pool.init_generator" for shard 0 (the only one before shards existed), then ".1", ".2", ...
std::string ModelPool::generator_key(int64_t shard) {
  return shard == 0 ? "pool.init_generator" : "pool.init_generator." + std::to_string(shard);
}

void ModelPool::add_member_state(io::TensorMap& out, size_t i) const {
  const std::string prefix = "pool." + std::to_string(i) + ".";
  for (auto& [k, v] : train::module_state(*members_[i].encoder, prefix + "encoder.")) out[k] = v;
  for (auto& [k, v] : train::module_state(*members_[i].head, prefix + "head.")) out[k] = v;
  out[prefix + "optimizer"] = train::optimizer_state(*members_[i].optimizer);
}

void ModelPool::load_member_state(size_t i, const io::TensorMap& state, const std::string& source) {
  const std::string prefix = "pool." + std::to_string(i) + ".";
  train::load_module_state(*members_[i].encoder, state, source, prefix + "encoder.");
  train::load_module_state(*members_[i].head, state, source, prefix + "head.");
  train::load_optimizer_state(*members_[i].optimizer, state.at(prefix + "optimizer"));
}

io::TensorMap ModelPool::shard_state(int64_t shard) const {
  io::TensorMap out;
  std::vector<int64_t> ages;
  for (size_t i = 0; i < members_.size(); ++i) {
    if (static_cast<int64_t>(i) % shards() == shard) add_member_state(out, i);
    ages.push_back(members_[i].age);
  }
  out["pool.ages"] = torch::tensor(ages, torch::kLong);
  out[generator_key(shard)] = init_gens_[static_cast<size_t>(shard)].get_state();
  return out;
}

io::TensorMap ModelPool::state() const {
  io::TensorMap out;
  for (int64_t s = 0; s < shards(); ++s)
    for (auto& [k, v] : shard_state(s)) out[k] = v;  // "pool.ages" the same from each
  return out;
}

void ModelPool::load_shard_state(int64_t shard, const io::TensorMap& state, const std::string& source) {
  const auto ages = state.at("pool.ages");
  if (ages.numel() != size()) throw DataError(source, std::to_string(size()) + " pool models", std::to_string(ages.numel()));
  for (size_t i = 0; i < members_.size(); ++i) {
    if (static_cast<int64_t>(i) % shards() != shard) continue;
    load_member_state(i, state, source);
    members_[i].age = ages[static_cast<int64_t>(i)].item<int64_t>();
  }
  const auto generator = state.find(generator_key(shard));
  if (generator == state.end())
    throw DataError(source, "the re-initialisation generator of pool shard " + std::to_string(shard),
                    "none (a checkpoint of another pool.shards)");
  init_gens_[static_cast<size_t>(shard)].set_state(generator->second);
}

void ModelPool::load_state(const io::TensorMap& state, const std::string& source) {
  for (int64_t s = 0; s < shards(); ++s) load_shard_state(s, state, source);
}

}  // namespace ssdd::distill
