#include "ssdd/train/collective_check.h"

#include <torch/torch.h>

#include <chrono>

namespace ssdd::train {
namespace {

void expect(CollectiveCheck& check, const std::string& what, const at::Tensor& found, const at::Tensor& expected) {
  if (!torch::equal(found.cpu(), expected.cpu()))
    check.failures.push_back(what + ": expected " + std::to_string(expected.sum().item<double>()) +
                             " in all, found " + std::to_string(found.sum().item<double>()));
}

}  // namespace

CollectiveCheck check_collectives(ProcessGroup& group, int64_t floats, int iterations, c10::Device device) {
  CollectiveCheck check;
  const int n = group.size(), r = group.rank();
  const auto options = torch::TensorOptions().dtype(torch::kFloat).device(device);
  // Small integers: every sum below is exact in float32, so "equal" is the right test.
  std::vector<at::Tensor> sum{torch::full({floats}, r + 1.0, options)};
  group.all_reduce_sum(sum);
  expect(check, "all-reduce (sum)", sum[0], torch::full({floats}, n * (n + 1) / 2.0, options));
  std::vector<at::Tensor> mean{torch::full({4}, 2.0 * r, options)};
  group.all_reduce_mean(mean);
  expect(check, "all-reduce (mean)", mean[0], torch::full({4}, n - 1.0, options));
  const at::Tensor mine = torch::tensor({static_cast<float>(r), static_cast<float>(10 * r)}, options).view({1, 2});
  const at::Tensor ranks = torch::arange(n, options).view({n, 1});
  expect(check, "all-gather", group.all_gather(mine), torch::cat({ranks, 10 * ranks}, 1));
  for (int root : {0, n - 1}) {
    std::vector<at::Tensor> value{torch::full({3}, static_cast<double>(r), options)};
    group.broadcast(value, root);
    expect(check, "broadcast from rank " + std::to_string(root), value[0], torch::full({3}, root, options));
  }
  group.barrier();

  std::vector<at::Tensor> payload{torch::ones({floats}, options)};
  group.all_reduce_sum(payload);  // warm-up: connections and buffers
  group.barrier();
  const auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < iterations; ++i) group.all_reduce_sum(payload);
  check.all_reduce_seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count() / std::max(iterations, 1);
  const double bytes = static_cast<double>(floats) * sizeof(float);
  if (check.all_reduce_seconds > 0)
    check.bus_gb_per_second = bytes * 2.0 * (n - 1) / n / check.all_reduce_seconds / 1e9;
  return check;
}

}  // namespace ssdd::train
