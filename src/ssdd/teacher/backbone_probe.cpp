#include "ssdd/teacher/backbone_probe.h"

namespace ssdd::teacher {

measure::ProbeResult probe_backbone(models::EncoderImpl& backbone, const data::DatasetSplits& splits,
                                    int64_t epochs, uint64_t seed, c10::Device device) {
  const bool was_training = backbone.is_training();
  backbone.eval();
  auto features = [&](const at::Tensor& x) { return backbone.features(x); };
  const auto train_f = measure::extract_features(features, splits.train.images, splits.norm, 512, device,
                                                      "probe: features of train");
  const auto test_f = measure::extract_features(features, splits.test.images, splits.norm, 512, device,
                                                     "probe: features of test");
  measure::ProbeOptions probe;
  probe.epochs = epochs;
  probe.seed = seed;
  probe.device = device;
  auto result = measure::linear_probe(train_f, splits.train.labels, test_f, splits.test.labels,
                                      splits.train.num_classes, probe);
  backbone.train(was_training);
  return result;
}

}  // namespace ssdd::teacher
