// Whether LibTorch's autocast is on for a device (train/autocast.h sets it): ssdd's own kernels,
// which bypass the dispatcher and so autocast too, step aside while it is on.
#pragma once
#include <c10/core/DeviceType.h>

namespace ssdd {

bool autocast_enabled(c10::DeviceType device);

}  // namespace ssdd
