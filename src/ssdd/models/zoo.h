// Building networks by name, and the compact architecture spec the CLI and configs use.
//
// Spec grammar (lower case; arguments after the name in any order, each kind at most once):
//   spec         := name { ":" arg }
//   convnet      args: WIDTHS | NORM | "gap"
//                  WIDTHS := INT { "-" INT }    one width per block, e.g. 128-256-512
//                          | INT "x" INT        width x depth, e.g. 64x3 = 64-64-64
//                  NORM   := "batch" | "instance" | "none"
//                  "gap"  global-average-pool the last map instead of flattening it
//                  default: convnet:64-64-64:batch
//   resnet18     args: INT (base width; 64 = standard) | "imagenet" | "cifar" (stem)
//                  | "pad" INT (the CIFAR stem's padding: pad2 is solo-learn's and KRR-ST's)
//                  default: resnet18:64:cifar (pad1)
//   vgg11, alexnet, mobilenetv2
//                args: NUMBER (width multiplier > 0), default 1
// Examples: "convnet:128-256-512", "convnet:128-256-512:instance", "resnet18:32", "vgg11",
// "mobilenetv2:0.5". Errors (unknown name, bad or repeated argument) throw ssdd::ConfigError.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "ssdd/models/convnet.h"
#include "ssdd/models/encoder.h"

namespace ssdd::models {

// The union of the per-architecture options; each network reads only its own fields.
struct ZooOptions {
  std::vector<int64_t> widths;  // convnet block widths; empty = ConvNetOptions' default
  Norm norm = Norm::batch;      // convnet
  bool global_pool = false;     // convnet
  int64_t base_width = 64;      // resnet18
  bool imagenet_stem = false;   // resnet18
  int64_t stem_padding = 1;     // resnet18, CIFAR stem
  double width_mult = 1.0;      // vgg11, alexnet, mobilenetv2
};

struct ArchSpec {
  std::string arch;  // one of known_archs()
  ZooOptions options;
};

// "convnet", "resnet18", "vgg11", "alexnet", "mobilenetv2".
std::vector<std::string> known_archs();

// Builds `arch` (a plain name from known_archs()) for inputs of `shape`; its feature_dim()
// is exact for that shape. Unknown name or bad option -> ssdd::ConfigError.
Encoder make_encoder(const std::string& arch, const ImageShape& shape, const ZooOptions& opts = {});
Encoder make_encoder(const ArchSpec& spec, const ImageShape& shape);
// parse_arch_spec then make_encoder.
Encoder make_encoder_from_spec(const std::string& spec, const ImageShape& shape);

ArchSpec parse_arch_spec(const std::string& spec);
// Canonical spec with every argument spelled out (parse_arch_spec round-trips it), e.g.
// "convnet:128-256-512:batch", "resnet18:64:cifar", "vgg11:0.5".
std::string format_arch_spec(const ArchSpec& spec);

}  // namespace ssdd::models
