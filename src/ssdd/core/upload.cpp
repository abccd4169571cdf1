#include "ssdd/core/upload.h"

namespace ssdd {

at::Tensor upload(const at::Tensor& host, c10::Device device) {
  if (host.device() == device) return host;
  if (!device.is_cuda()) return host.to(device);
  return host.pin_memory().to(device, /*non_blocking=*/true);
}

}  // namespace ssdd
