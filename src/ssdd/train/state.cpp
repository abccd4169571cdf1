#include "ssdd/train/state.h"

#include <sstream>
#include <torch/torch.h>

#include "ssdd/core/error.h"

namespace ssdd::train {

io::TensorMap module_state(const torch::nn::Module& module, const std::string& prefix) {
  io::TensorMap out;
  for (const auto& p : module.named_parameters(/*recurse=*/true)) out[prefix + p.key()] = p.value().detach();
  for (const auto& b : module.named_buffers(/*recurse=*/true)) out[prefix + b.key()] = b.value().detach();
  return out;
}

void load_module_state(torch::nn::Module& module, const io::TensorMap& state, const std::string& source,
                       const std::string& prefix) {
  torch::NoGradGuard no_grad;
  auto copy_into = [&](const std::string& name, torch::Tensor target) {
    auto it = state.find(prefix + name);
    if (it == state.end()) throw DataError(source, "an entry '" + prefix + name + "'", "none");
    if (it->second.sizes() != target.sizes()) {
      std::ostringstream expected, found;
      expected << "'" << prefix << name << "' of shape " << target.sizes();
      found << it->second.sizes();
      throw DataError(source, expected.str(), found.str());
    }
    target.copy_(it->second);
  };
  for (auto& p : module.named_parameters(true)) copy_into(p.key(), p.value());
  for (auto& b : module.named_buffers(true)) copy_into(b.key(), b.value());
}

at::Tensor optimizer_state(const torch::optim::Optimizer& optimizer) {
  std::ostringstream stream;
  torch::serialize::OutputArchive archive;
  optimizer.save(archive);
  archive.save_to(stream);
  return io::text_to_tensor(stream.str());
}

void load_optimizer_state(torch::optim::Optimizer& optimizer, const at::Tensor& state) {
  std::istringstream stream(io::tensor_to_text(state));
  torch::serialize::InputArchive archive;
  archive.load_from(stream);
  optimizer.load(archive);
}

}  // namespace ssdd::train
