// The pool of inner models of SPEC section 2: M feature extractors, each with a linear
// head to the target dimension, trained online on the current distilled set by
// full-batch gradient descent, and re-initialised after Z steps. Ages are staggered at
// the start so that the outer step always sees models at every stage of training.
#pragma once
#include <functional>
#include <string>
#include <vector>

#include <ATen/core/Generator.h>
#include <c10/core/Device.h>
#include <torch/nn/modules/linear.h>
#include <torch/optim/sgd.h>

#include "ssdd/distill/component_options.h"
#include "ssdd/io/tensor_archive.h"
#include "ssdd/models/encoder.h"

namespace ssdd::distill {

class ModelPool {
 public:
  ModelPool(const PoolOptions& options, const models::ImageShape& shape, int64_t target_dim, c10::Device device,
            uint64_t seed);

  // Staggered start: model i is trained for a random 1..Z-1 steps on (x, y) (the models of
  // this process's shards; the draws are all made). `on_step` (optional) hears each step
  // done, of how many in all (for progress).
  void stagger(const at::Tensor& x, const at::Tensor& y, at::Generator& gen,
               const std::function<void(int64_t done, int64_t total)>& on_step = {});
  // A model of shard `shard` (options.shards of them): member i belongs to shard i % S.
  int64_t sample(at::Generator& gen, int64_t shard = 0) const;
  int64_t shards() const { return options_.shards; }
  // The shards this process trains (issue 26: a rank's share); all of them by default. The
  // others' members stay as they were until load_shard_state brings them up to date.
  void set_own_shards(const std::vector<int64_t>& shards);
  bool owns(int64_t member) const { return own_[static_cast<size_t>(member % shards())]; }
  models::EncoderImpl& features(int64_t i) { return *members_[i].encoder; }
  // One full-batch step of model i on detached (x, y) in train mode; a model that has
  // reached Z steps is re-initialised instead (and its age reset: [decision], KRR-ST
  // never resets the counter, which re-initialises it at every later update).
  void inner_step(int64_t i, const at::Tensor& x, const at::Tensor& y);
  int64_t age(int64_t i) const { return members_[i].age; }
  int64_t size() const { return static_cast<int64_t>(members_.size()); }
  int64_t feature_dim() const { return members_.front().encoder->feature_dim(); }

  io::TensorMap state() const;                       // weights, optimiser state, ages, init RNGs
  void load_state(const io::TensorMap& state, const std::string& source);
  // One shard's part of state() (its members, its generator, every age), and its load.
  io::TensorMap shard_state(int64_t shard) const;
  void load_shard_state(int64_t shard, const io::TensorMap& state, const std::string& source);

 private:
  struct Member {
    models::Encoder encoder;
    torch::nn::Linear head{nullptr};
    std::unique_ptr<torch::optim::SGD> optimizer;
    int64_t age = 0;
  };
  void reinitialise(Member& m, at::Generator& gen);
  void add_member_state(io::TensorMap& out, size_t i) const;
  void load_member_state(size_t i, const io::TensorMap& state, const std::string& source);
  static std::string generator_key(int64_t shard);
  void train_step(Member& m, const at::Tensor& x, const at::Tensor& y);

  PoolOptions options_;
  models::ImageShape shape_;
  int64_t target_dim_;
  c10::Device device_;
  // Fresh weights come from these, so a resume re-creates them: shard s's members are
  // re-initialised from init_gens_[s]. Every first initialisation draws from init_gens_[0],
  // the pool's seed; shard s > 0 draws from seed + s (docs/decisions.md).
  std::vector<at::Generator> init_gens_;
  std::vector<Member> members_;
  std::vector<bool> own_;  // per shard
};

}  // namespace ssdd::distill
