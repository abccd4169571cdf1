// One ConvNet block over grey images, forward + backward, fused (models/one_channel_block.h)
// beside oneDNN's convolution + the fused tail (models/norm_relu_pool.h), at the `cpu` preset's
// inner-step shape: 1,140 x 1 x 28 x 28 -> 32 channels, training batch norm, 2 threads, median of
// 8 after none of warm-up. docs/performance-log.md section 12 quotes it. Not built by CMake; after
// a build, from the repository root:
//   c++ -O2 -std=c++17 -Isrc -isystem /usr/include/torch/csrc/api/include -D_GLIBCXX_USE_CXX11_ABI=1
//     bench/one_channel_block_micro.cpp build/libssdd_models.a build/libssdd_core.a
//     -o /tmp/one_channel_block_micro -ltorch -ltorch_cpu -lc10
// (one line).
//   /tmp/one_channel_block_micro [image-gradient]
// With `image-gradient` the images require a gradient (the outer step), else not (the inner step).
#include <malloc.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>

#include <torch/torch.h>

#include "ssdd/models/batch_norm.h"
#include "ssdd/models/norm_relu_pool.h"
#include "ssdd/models/one_channel_block.h"

using namespace ssdd::models;

namespace {

double now() { return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count(); }

}  // namespace

int main(int argc, char** argv) {
  mallopt(M_MMAP_THRESHOLD, 1 << 30);  // ssdd's allocator settings (core/runtime.cpp)
  mallopt(M_TRIM_THRESHOLD, 1 << 30);
  torch::set_num_threads(2);
  const bool image_gradient = argc > 1 && std::strcmp(argv[1], "image-gradient") == 0;
  const int64_t n = 1140, channels = 32;
  at::Tensor x = torch::randn({n, 1, 28, 28});
  if (image_gradient) x.requires_grad_();
  const at::Tensor w = torch::randn({channels, 1, 3, 3}).requires_grad_();
  const at::Tensor b = torch::randn({channels}).requires_grad_();
  SyncBatchNorm2d norm(channels);
  for (const bool fused : {true, false}) {
    std::vector<double> forward, backward;
    for (int it = 0; it < 8; ++it) {
      const double t0 = now();
      const at::Tensor y =
          fused ? conv_batch_norm_relu_pool(x, w, b, *norm)
                : batch_norm_relu_pool(torch::conv2d(x.contiguous(at::MemoryFormat::ChannelsLast), w, b, 1, 1), *norm);
      const double t1 = now();
      y.backward(torch::ones_like(y));
      forward.push_back(t1 - t0);
      backward.push_back(now() - t1);
    }
    std::sort(forward.begin(), forward.end());
    std::sort(backward.begin(), backward.end());
    std::printf("%s image gradient %s: forward %.4f s, backward %.4f s\n",
                fused ? "one-channel block      " : "oneDNN conv + tail     ", image_gradient ? "yes" : "no",
                forward[4], backward[4]);
  }
}
