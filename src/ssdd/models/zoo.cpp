#include "ssdd/models/zoo.h"

#include <cctype>
#include <cmath>
#include <sstream>

#include "ssdd/core/error.h"
#include "ssdd/core/text.h"
#include "ssdd/models/alexnet.h"
#include "ssdd/models/mobilenet.h"
#include "ssdd/models/resnet.h"
#include "ssdd/models/vgg.h"

namespace ssdd::models {

namespace {

std::vector<std::string> split(const std::string& s, char sep) {
  std::vector<std::string> parts;
  std::string cur;
  for (const char c : s) {
    if (c == sep) {
      parts.push_back(cur);
      cur.clear();
    } else {
      cur += c;
    }
  }
  parts.push_back(cur);
  return parts;
}

bool all_digits(const std::string& s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](unsigned char c) { return std::isdigit(c) != 0; });
}

// A positive integer; `what` names it in the error.
int64_t positive_int(const std::string& s, const std::string& where, const std::string& what) {
  if (!all_digits(s) || s.size() > 9) throw ConfigError(where, what + " must be a positive integer, got '" + s + "'");
  const int64_t v = std::stoll(s);
  if (v <= 0) throw ConfigError(where, what + " must be a positive integer, got '" + s + "'");
  return v;
}

bool looks_numeric(const std::string& s) {
  return !s.empty() && (std::isdigit(static_cast<unsigned char>(s[0])) != 0 || s[0] == '.');
}

double positive_number(const std::string& s, const std::string& where, const std::string& what) {
  size_t used = 0;
  double v = 0.0;
  try {
    v = std::stod(s, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  if (used != s.size() || !(v > 0.0) || !std::isfinite(v)) {
    throw ConfigError(where, what + " must be a positive number, got '" + s + "'");
  }
  return v;
}

std::string number_text(double v) {
  std::ostringstream os;
  os.precision(15);
  os << v;
  return os.str();
}

}  // namespace

std::vector<std::string> known_archs() { return {"convnet", "resnet18", "vgg11", "alexnet", "mobilenetv2"}; }

Encoder make_encoder(const std::string& arch, const ImageShape& shape, const ZooOptions& opts) {
  if (arch == "convnet") {
    ConvNetOptions o;
    if (!opts.widths.empty()) o.widths = opts.widths;
    o.norm = opts.norm;
    o.global_pool = opts.global_pool;
    return std::make_shared<ConvNetImpl>(o, shape);
  }
  if (arch == "resnet18") {
    ResNetOptions o;
    o.base_width = opts.base_width;
    o.imagenet_stem = opts.imagenet_stem;
    o.stem_padding = opts.stem_padding;
    return std::make_shared<ResNet18Impl>(o, shape);
  }
  if (arch == "vgg11") return std::make_shared<Vgg11Impl>(VggOptions{opts.width_mult}, shape);
  if (arch == "alexnet") return std::make_shared<AlexNetImpl>(AlexNetOptions{opts.width_mult}, shape);
  if (arch == "mobilenetv2") return std::make_shared<MobileNetV2Impl>(MobileNetV2Options{opts.width_mult}, shape);
  throw ConfigError("architecture", "unknown architecture '" + arch + "'; known: " + joined(known_archs()));
}

Encoder make_encoder(const ArchSpec& spec, const ImageShape& shape) {
  return make_encoder(spec.arch, shape, spec.options);
}

Encoder make_encoder_from_spec(const std::string& spec, const ImageShape& shape) {
  return make_encoder(parse_arch_spec(spec), shape);
}

ArchSpec parse_arch_spec(const std::string& text) {
  std::string lower = text;
  for (auto& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  const std::string where = "architecture spec '" + text + "'";
  const auto parts = split(lower, ':');
  ArchSpec spec;
  spec.arch = parts[0];
  const auto known = known_archs();
  if (std::find(known.begin(), known.end(), spec.arch) == known.end()) {
    throw ConfigError(where, "unknown architecture '" + spec.arch + "'; known: " + joined(known));
  }
  auto& o = spec.options;
  std::vector<std::string> seen;  // argument kinds already given
  auto once = [&](const std::string& kind) {
    if (std::find(seen.begin(), seen.end(), kind) != seen.end()) throw ConfigError(where, kind + " given twice");
    seen.push_back(kind);
  };
  for (size_t i = 1; i < parts.size(); ++i) {
    const std::string& a = parts[i];
    if (a.empty()) throw ConfigError(where, "empty argument");
    if (spec.arch == "convnet") {
      if (a == "batch" || a == "instance" || a == "none") {
        once("norm");
        o.norm = a == "batch" ? Norm::batch : a == "instance" ? Norm::instance : Norm::none;
      } else if (a == "gap") {
        once("gap");
        o.global_pool = true;
      } else if (looks_numeric(a)) {
        once("widths");
        const auto x = a.find('x');
        if (x != std::string::npos) {
          const int64_t width = positive_int(a.substr(0, x), where, "convnet width");
          const int64_t depth = positive_int(a.substr(x + 1), where, "convnet depth");
          o.widths.assign(static_cast<size_t>(depth), width);
        } else {
          for (const auto& w : split(a, '-')) o.widths.push_back(positive_int(w, where, "convnet width"));
        }
      } else {
        throw ConfigError(where, "convnet takes widths (e.g. 128-256-512 or 64x3), a norm "
                                 "(batch|instance|none) or 'gap'; got '" + a + "'");
      }
    } else if (spec.arch == "resnet18") {
      if (a == "imagenet" || a == "cifar") {
        once("stem");
        o.imagenet_stem = a == "imagenet";
      } else if (looks_numeric(a)) {
        once("base width");
        o.base_width = positive_int(a, where, "resnet18 base width");
      } else if (a.rfind("pad", 0) == 0 && a.size() > 3 && looks_numeric(a.substr(3))) {
        once("stem padding");
        o.stem_padding = positive_int(a.substr(3), where, "resnet18 stem padding");
        if (o.stem_padding > 2) throw ConfigError(where, "the CIFAR stem's 3x3 conv pads 1 or 2, got '" + a + "'");
      } else {
        throw ConfigError(where, "resnet18 takes a base width (e.g. 64), a stem (cifar|imagenet) or the CIFAR "
                                 "stem's padding (pad1|pad2); got '" + a + "'");
      }
    } else {
      once("width multiplier");
      o.width_mult = positive_number(a, where, spec.arch + " width multiplier");
    }
  }
  if (spec.arch == "convnet" && o.widths.empty()) o.widths = ConvNetOptions().widths;
  if (spec.arch == "resnet18" && o.imagenet_stem && o.stem_padding != 1)
    throw ConfigError(where, "pad" + std::to_string(o.stem_padding) + " sets the CIFAR stem's padding; the "
                             "ImageNet stem's 7x7 conv always pads 3");
  return spec;
}

std::string format_arch_spec(const ArchSpec& spec) {
  const auto& o = spec.options;
  std::string s = spec.arch;
  if (spec.arch == "convnet") {
    const std::vector<int64_t> widths = o.widths.empty() ? ConvNetOptions().widths : o.widths;
    s += ":";
    for (size_t i = 0; i < widths.size(); ++i) s += (i ? "-" : "") + std::to_string(widths[i]);
    s += std::string(":") + norm_name(o.norm);
    if (o.global_pool) s += ":gap";
  } else if (spec.arch == "resnet18") {
    s += ":" + std::to_string(o.base_width) + (o.imagenet_stem ? ":imagenet" : ":cifar");
    if (o.stem_padding != 1) s += ":pad" + std::to_string(o.stem_padding);  // pad1 left out: specs stay as they were
  } else {
    s += ":" + number_text(o.width_mult);
  }
  return s;
}

}  // namespace ssdd::models
