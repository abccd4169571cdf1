#include "ssdd/teacher/backbone_teacher.h"

#include <torch/torch.h>

#include "ssdd/io/atomic_file.h"
#include "ssdd/io/json_file.h"
#include "ssdd/io/tensor_archive.h"
#include "ssdd/io/tensor_checksum.h"
#include "ssdd/train/state.h"

namespace ssdd::teacher {

std::string write_backbone_teacher(const std::string& dir, const models::Encoder& backbone,
                                   const BackboneTeacherInfo& info) {
  io::TensorMap weights = train::module_state(*backbone, "backbone.");
  for (auto& [name, tensor] : weights) {
    tensor = tensor.to(torch::kCPU);
    if (tensor.is_floating_point()) tensor = tensor.to(torch::kFloat32);
  }
  io::make_dirs(dir);
  io::save_tensors(dir + "/teacher.pt", weights);
  const std::string weights_digest = io::content_checksum(weights);
  const nlohmann::json meta = {{"arch", info.arch},
                               {"shape", {info.shape.channels, info.shape.height, info.shape.width}},
                               {"norm_mean", info.norm.mean},
                               {"norm_std", info.norm.std},
                               {"data", info.data},
                               {"id", info.id},
                               {"feature_dim", backbone->feature_dim()},
                               {"projector", nlohmann::json::array()},
                               {"weights_digest", weights_digest}};
  io::write_json_file(dir + "/teacher.json", meta);
  return weights_digest;
}

}  // namespace ssdd::teacher
