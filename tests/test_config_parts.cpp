// Component options nested in C++ and flat in JSON (core/config_json.h): the flat keys are
// the ones config files have always used, each reaches its member, a part's own name is not a
// key, and errors name the flat key.
#include <gtest/gtest.h>

#include <set>
#include <string>

#include "ssdd/core/error.h"
#include "ssdd/distill/distiller.h"
#include "ssdd/evaluate/grid.h"

using namespace ssdd;

namespace {

std::set<std::string> keys_of(const nlohmann::json& j) {
  std::set<std::string> keys;
  for (const auto& item : j.items()) keys.insert(item.key());
  return keys;
}

template <class Config>
std::string error_reading(const nlohmann::json& j) {
  try {
    (void)Config::from_json(j, "exp.toml [stage]");
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "(accepted)";
}

}  // namespace

TEST(ConfigParts, FlatKeysAreTheOnesConfigFilesHaveAlwaysUsed) {
  // Away from every default that to_json leaves out, so every key is written.
  evaluate::GridConfig g;
  g.runtime.seed = 4;
  g.pretrain.steps = 9;
  g.pretrain.precision = train::Precision::bfloat16;
  g.probe.protocols = {"krrst"};
  g.probe.steps = 7;
  g.finetune.protocol = evaluate::FinetuneProtocol::krrst;
  const std::set<std::string> grid_keys = {
      "distilled",       "teacher",          "archs",           "targets",       "seeds",
      "pretrain_epochs", "pretrain_steps",   "pretrain_batch",  "pretrain_lr",   "weight_decay",
      "pretrain_precision", "probes",        "probe_epochs",    "probe_max_train", "probe_steps",
      "teacher_row",     "none_row",         "alignment",       "finetune",      "finetune_protocol",
      "finetune_epochs", "finetune_lr",      "data_dir",        "seed",          "threads",
      "device",          "verbose"};
  EXPECT_EQ(keys_of(g.to_json()), grid_keys);

  const std::set<std::string> distill_keys = {
      "teacher",        "data",          "data_dir",          "method",          "budget",           "iterations",
      "real_batch",     "lr",            "lr_end_factor",     "ridge",           "pool",             "real_augment",
      "views",          "parameterization", "image_bases",    "rep_bases",       "base_scale",       "random_bases",
      "pca_pool",       "approximation", "approx_hidden",     "approx_fit",      "approx_fit_steps", "approx_refit_steps",
      "augmentation",   "checkpoint_every", "seed",           "threads",         "device"};
  const distill::DistillConfig defaults;  // named: GCC 12 took a temporary's strings for uninitialised
  EXPECT_EQ(keys_of(defaults.to_json()), distill_keys);
}

TEST(ConfigParts, EachFlatKeyReachesItsMember) {
  const auto g = evaluate::GridConfig::from_json({{"pretrain_epochs", 11},
                                                  {"pretrain_batch", 64},
                                                  {"weight_decay", 0.5},
                                                  {"pretrain_precision", "bfloat16"},
                                                  {"probes", {"krrst", "standardized"}},
                                                  {"probe_max_train", 300},
                                                  {"finetune", true},
                                                  {"finetune_protocol", "krrst"},
                                                  {"finetune_lr", 0.2},
                                                  {"seed", 3}});
  EXPECT_EQ(g.pretrain.epochs, 11);
  EXPECT_EQ(g.pretrain.batch_size, 64);
  EXPECT_DOUBLE_EQ(g.pretrain.weight_decay, 0.5);
  EXPECT_EQ(g.pretrain.precision, train::Precision::bfloat16);
  EXPECT_EQ(g.probe.protocols, (std::vector<std::string>{"krrst", "standardized"}));
  EXPECT_EQ(g.probe.max_train, 300);
  EXPECT_TRUE(g.finetune.enabled);
  EXPECT_EQ(g.finetune.protocol, evaluate::FinetuneProtocol::krrst);
  EXPECT_DOUBLE_EQ(g.finetune.lr, 0.2);
  EXPECT_EQ(g.runtime.seed, 3u);
  EXPECT_EQ(g.finetune.epochs, evaluate::GridFinetuneOptions{}.epochs);  // untouched: its default

  const auto d = distill::DistillConfig::from_json({{"parameterization", false},
                                                    {"image_bases", 7},
                                                    {"random_bases", true},
                                                    {"approximation", false},
                                                    {"approx_hidden", 5},
                                                    {"approx_fit", "joint"},
                                                    {"approx_refit_steps", 0},
                                                    {"pool", {{"size", 3}}}});
  EXPECT_FALSE(d.parameterization.enabled);
  EXPECT_EQ(d.parameterization.image_bases, 7);
  EXPECT_TRUE(d.parameterization.random_bases);
  EXPECT_FALSE(d.approximation.enabled);
  EXPECT_EQ(d.approximation.hidden, 5);
  EXPECT_EQ(d.approximation.fit, distill::ApproxFit::joint);
  EXPECT_EQ(d.approximation.refit_steps, 0);
  EXPECT_EQ(d.pool.size, 3);
  // And back: the flat form read again gives the same flat form.
  EXPECT_EQ(distill::DistillConfig::from_json(d.to_json()).to_json(), d.to_json());
  EXPECT_EQ(evaluate::GridConfig::from_json(g.to_json()).to_json(), g.to_json());
}

TEST(ConfigParts, APartsOwnNamesAreNotKeys) {
  for (const std::string key : {"enabled", "finetune_enabled", "pretrain_batch_size", "pretrain_weight_decay",
                                "probe_protocols", "pretrain", "probe"}) {
    SCOPED_TRACE(key);
    EXPECT_NE(error_reading<evaluate::GridConfig>({{key, 1}}).find("unknown key '" + key + "'"), std::string::npos);
  }
  for (const std::string key : {"enabled", "approximation_enabled", "approx_enabled", "hidden", "fit"}) {
    SCOPED_TRACE(key);
    EXPECT_NE(error_reading<distill::DistillConfig>({{key, 1}}).find("unknown key '" + key + "'"), std::string::npos);
  }
  // A nested object under a part's name is not taken either: flat keys only.
  EXPECT_NE(error_reading<distill::DistillConfig>({{"parameterization", {{"image_bases", 4}}}})
                .find("'parameterization' takes true or false"),
            std::string::npos);
}

TEST(ConfigParts, ErrorsNameTheFlatKey) {
  EXPECT_NE(error_reading<evaluate::GridConfig>({{"finetune", 3}}).find("'finetune' takes true or false, found 3"),
            std::string::npos);
  EXPECT_NE(error_reading<evaluate::GridConfig>({{"pretrain_batch", 2.5}}).find("'pretrain_batch' takes a whole number"),
            std::string::npos);
  EXPECT_NE(error_reading<evaluate::GridConfig>({{"pretrain_batch", 0}}).find("'pretrain_batch' must be at least 1"),
            std::string::npos);
  EXPECT_NE(error_reading<distill::DistillConfig>({{"approx_fit", "later"}}).find("'approx_fit' must be after or joint, found 'later'"),
            std::string::npos);
  EXPECT_NE(error_reading<distill::DistillConfig>({{"approx_hidden", "wide"}}).find("'approx_hidden' takes a whole number"),
            std::string::npos);
}
