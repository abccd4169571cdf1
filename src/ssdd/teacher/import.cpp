#include "ssdd/teacher/import.h"

#include <algorithm>
#include <filesystem>
#include <map>
#include <set>

#include <torch/torch.h>

#include "ssdd/core/clock.h"
#include "ssdd/core/error.h"
#include "ssdd/core/format.h"
#include "ssdd/core/hash.h"
#include "ssdd/data/registry.h"
#include "ssdd/io/owned_folder.h"
#include "ssdd/io/pickle_tensors.h"
#include "ssdd/io/run_log.h"
#include "ssdd/io/sha256.h"
#include "ssdd/models/zoo.h"
#include "ssdd/teacher/backbone_probe.h"
#include "ssdd/teacher/backbone_teacher.h"
#include "ssdd/teacher/manifest.h"
#include "ssdd/train/state.h"

namespace ssdd::teacher {
namespace {

constexpr size_t kListedKeys = 10;  // per kind of problem in the error line
constexpr int64_t kMaxWidth = 1024;
constexpr int64_t kMaxChannels = 16;

bool starts_with(const std::string& s, const std::string& prefix) { return s.rfind(prefix, 0) == 0; }

std::string replace_all(std::string s, const std::string& from, const std::string& to) {
  for (size_t at = s.find(from); at != std::string::npos; at = s.find(from, at + to.size())) s.replace(at, from.size(), to);
  return s;
}

// torchvision names the projection shortcut "downsample"; the zoo names it "shortcut".
std::string zoo_name(const std::string& torchvision_name) {
  return replace_all(torchvision_name, ".downsample.", ".shortcut.");
}
std::string torchvision_name(const std::string& zoo) { return replace_all(zoo, ".shortcut.", ".downsample."); }

std::string shape_text(at::IntArrayRef sizes) {
  std::string out = "[";
  for (size_t d = 0; d < sizes.size(); ++d) out += (d ? ", " : "") + std::to_string(sizes[d]);
  return out + "]";
}

// "a, b, c and 4 more"
std::string listed(const std::vector<std::string>& items) {
  std::string out;
  for (size_t i = 0; i < std::min(items.size(), kListedKeys); ++i) out += (i ? ", " : "") + items[i];
  if (items.size() > kListedKeys) out += " and " + std::to_string(items.size() - kListedKeys) + " more";
  return out;
}

// The tensors that may be the backbone, and what the rest of the file was.
struct Scope {
  io::TensorMap tensors;             // the backbone's, prefix stripped, torchvision names
  std::string prefix;                // "", "backbone.", "module.", ... (for messages)
  std::string format;
  std::vector<std::string> dropped;  // prefixes of keys left out, in the file's naming
};

// A backbone's prefix ends where its stem begins: the P of a "P" + "conv1.weight" key, P
// empty or ending in '.', outside the residual stages.
std::set<std::string> stem_prefixes(const io::TensorMap& tensors) {
  const std::string stem = "conv1.weight";
  std::set<std::string> out;
  for (const auto& [name, tensor] : tensors) {
    if (name.size() < stem.size() || name.compare(name.size() - stem.size(), stem.size(), stem) != 0) continue;
    const std::string prefix = name.substr(0, name.size() - stem.size());
    if (!prefix.empty() && prefix.back() != '.') continue;
    if (starts_with(prefix, "layer") || prefix.find(".layer") != std::string::npos) continue;
    out.insert(prefix);
  }
  return out;
}

// The first `depth` dotted components of `name`, with the trailing dot: "projector.0.weight"
// at depth 1 is "projector.".
std::string leading_components(const std::string& name, size_t depth) {
  size_t end = 0;
  for (size_t i = 0; i < depth; ++i) {
    const size_t dot = name.find('.', end);
    if (dot == std::string::npos) return name;
    end = dot + 1;
  }
  return name.substr(0, end);
}

Scope find_backbone(const io::TensorMap& all, const std::string& path) {
  // A Lightning checkpoint keeps the model under "state_dict"; its optimiser states and
  // the rest are not weights.
  const std::string lightning = "state_dict.";
  io::TensorMap model;
  for (const auto& [name, tensor] : all)
    if (starts_with(name, lightning)) model.emplace(name.substr(lightning.size()), tensor);
  const bool is_checkpoint = !model.empty();
  if (!is_checkpoint) model = all;

  Scope scope;
  const std::set<std::string> prefixes = stem_prefixes(model);
  if (prefixes.count("backbone.")) scope.prefix = "backbone.";
  else if (prefixes.count("")) scope.prefix = "";
  else if (prefixes.size() == 1) scope.prefix = *prefixes.begin();
  else if (prefixes.size() > 1)
    throw DataError(path, "one ResNet backbone", "several stems (conv1.weight) under " +
                                                     listed({prefixes.begin(), prefixes.end()}));
  if (is_checkpoint) scope.format = "lightning checkpoint (" + (scope.prefix.empty() ? "no prefix" : scope.prefix) + ")";
  else scope.format = scope.prefix.empty() ? "torchvision state_dict" : "state_dict (" + scope.prefix + ")";

  // Left out: whatever lies beside the backbone (a projector, a classifier, a momentum
  // copy), and inside it the classifier head torchvision keeps as fc.
  const size_t depth = static_cast<size_t>(std::count(scope.prefix.begin(), scope.prefix.end(), '.'));
  std::set<std::string> dropped;
  for (const auto& [name, tensor] : model) {
    if (!starts_with(name, scope.prefix)) {
      dropped.insert(leading_components(name, std::max<size_t>(depth, 1)));
      continue;
    }
    const std::string inner = name.substr(scope.prefix.size());
    if (starts_with(inner, "fc.") || starts_with(inner, "projector.")) {
      dropped.insert(scope.prefix + leading_components(inner, 1));
      continue;
    }
    scope.tensors.emplace(inner, tensor);
  }
  scope.dropped.assign(dropped.begin(), dropped.end());
  return scope;
}

// The spec the weights describe: width, stem and input channels from conv1.weight
// (out x in x k x k); the default resnet18 when there is none to read (the error then
// lists what is missing).
models::ArchSpec spec_from_weights(const io::TensorMap& tensors, const std::string& force_arch, int64_t stem_padding,
                                   int64_t& channels, const std::string& path) {
  const auto stem = tensors.find("conv1.weight");
  const bool readable = stem != tensors.end() && stem->second.dim() == 4;
  channels = readable ? stem->second.size(1) : 3;
  // Bounds before anything is built at these sizes (ResNet18 widths are 64, wide ones 128+).
  if (readable && (channels < 1 || channels > kMaxChannels || stem->second.size(0) > kMaxWidth))
    throw DataError(path, "conv1.weight of at most " + std::to_string(kMaxWidth) + " x " + std::to_string(kMaxChannels) +
                              " (width x input channels)",
                    shape_text(stem->second.sizes()));
  if (!force_arch.empty()) {
    models::ArchSpec spec = models::parse_arch_spec(force_arch);
    if (spec.arch != "resnet18")
      throw ConfigError("--arch", "teacher import maps onto resnet18 only, found '" + force_arch + "'");
    return spec;
  }
  models::ArchSpec spec = models::parse_arch_spec("resnet18");
  if (readable && stem->second.size(0) > 0) {
    spec.options.base_width = stem->second.size(0);
    spec.options.imagenet_stem = stem->second.size(2) == 7;
    if (!spec.options.imagenet_stem) spec.options.stem_padding = stem_padding;
  }
  return spec;
}

}  // namespace

MappedBackbone map_resnet18_backbone(const std::string& path, const std::string& force_arch, int64_t stem_padding) {
  if (stem_padding < 0 || stem_padding > 2)
    throw ConfigError("--stem-padding", "the CIFAR stem's 3x3 conv pads 1 or 2 (0: by the file's layout), got " +
                                            std::to_string(stem_padding));
  const Scope scope = find_backbone(io::load_tensors_anywhere(path), path);
  MappedBackbone out;
  // The weights cannot tell a 3x3 stem's padding. solo-learn pads its CIFAR stem by 2
  // (as KRR-ST's teacher code does); a torchvision model given a 3x3 stem by hand usually
  // keeps the map size (1). [decision: docs/decisions.md, issue 24]
  if (stem_padding == 0) stem_padding = scope.prefix.find("backbone.") != std::string::npos ? 2 : 1;
  const models::ArchSpec spec = spec_from_weights(scope.tensors, force_arch, stem_padding, out.channels, path);
  out.arch = models::format_arch_spec(spec);
  out.format = scope.format;
  out.dropped = scope.dropped;
  out.encoder = models::make_encoder(spec, models::ImageShape{out.channels, 32, 32});

  const io::TensorMap expected = train::module_state(*out.encoder);
  io::TensorMap mapped;
  std::vector<std::string> missing, unexpected, misshaped;
  for (const auto& [name, tensor] : scope.tensors) {
    const auto slot = expected.find(zoo_name(name));
    if (slot == expected.end()) {
      unexpected.push_back(scope.prefix + name);
    } else if (slot->second.sizes() != tensor.sizes()) {
      misshaped.push_back(scope.prefix + name + " (expected " + shape_text(slot->second.sizes()) + ", found " +
                          shape_text(tensor.sizes()) + ")");
      mapped.emplace(slot->first, slot->second);  // present, so not also missing
    } else {
      mapped.emplace(slot->first, tensor.to(slot->second.scalar_type()));
    }
  }
  for (const auto& [name, tensor] : expected) {
    if (mapped.count(name)) continue;
    // Older state dicts have no batch-count buffers; they do not change the features.
    if (name.size() >= 19 && name.compare(name.size() - 19, 19, "num_batches_tracked") == 0) {
      mapped.emplace(name, tensor);
      continue;
    }
    missing.push_back(scope.prefix + torchvision_name(name));
  }
  if (!missing.empty() || !unexpected.empty() || !misshaped.empty()) {
    // A deeper ResNet's blocks are bottlenecks, with a third convolution.
    const bool bottleneck = std::any_of(unexpected.begin(), unexpected.end(),
                                        [](const std::string& key) { return key.find(".conv3.") != std::string::npos; });
    std::string found;
    const auto add = [&](const std::vector<std::string>& keys, const std::string& what) {
      if (keys.empty()) return;
      found += (found.empty() ? "" : "; ") + std::to_string(keys.size()) + " " + what +
               (keys.size() == 1 ? " key: " : " keys: ") + listed(keys);
    };
    add(missing, "missing");
    add(unexpected, "unexpected");
    add(misshaped, "mis-shaped");
    if (bottleneck) found = "bottleneck blocks (conv3: a ResNet50 or deeper): " + found;
    throw DataError(path, "a ResNet18 backbone (" + out.arch + ", torchvision names" +
                              (scope.prefix.empty() ? "" : " under " + scope.prefix) + ")",
                    found);
  }
  train::load_module_state(*out.encoder, mapped, path);
  out.encoder->eval();
  return out;
}

namespace {

// Says how a 3x3 stem's padding was chosen, since the weights cannot show it.
std::string stem_note(const std::string& arch, const ImportOptions& options) {
  if (!options.arch.empty() || arch.find(":cifar") == std::string::npos) return "";
  const bool pad2 = arch.find(":pad2") != std::string::npos;
  if (options.stem_padding != 0) return " (CIFAR stem padded " + std::string(pad2 ? "2" : "1") + ", as --stem-padding says)";
  return pad2 ? " (CIFAR stem padded 2, solo-learn's; --stem-padding 1 if yours keeps the map size)"
              : " (CIFAR stem padded 1; --stem-padding 2 for solo-learn's or KRR-ST's)";
}

}  // namespace

ImportResult import_teacher(const std::string& file, const std::string& out_dir, const ImportOptions& options) {
  // Everything that can fail on the input runs before out_dir is touched; the log's lines
  // wait until then.
  std::vector<std::string> log_lines;
  io::RunLog console;
  const auto say = [&](const std::string& line) {
    console.say(line);
    log_lines.push_back(line);
  };
  const std::string source = std::filesystem::absolute(file).lexically_normal().string();
  const io::FileDigest digest = io::sha256_of_file(source);
  const MappedBackbone backbone = map_resnet18_backbone(source, options.arch, options.stem_padding);
  ImportResult result;
  // The arch enters the id: the same weights read with another stem padding are another teacher.
  result.id = "import-" + hash_hex(digest.sha256 + " " + backbone.arch);
  result.arch = backbone.arch;
  say("teacher import: " + source + ", a " + backbone.format + ", mapped onto " + backbone.arch +
      stem_note(backbone.arch, options));
  if (!backbone.dropped.empty())
    say("teacher import: dropped " + listed(backbone.dropped) + " (not part of the backbone)");

  data::LoadOptions load;
  load.data_dir = options.data_dir;
  load.channels = static_cast<int>(backbone.channels);
  const data::DatasetSplits splits = data::load_dataset(options.data, load);
  const models::ImageShape shape{splits.train.channels(), splits.train.height(), splits.train.width()};

  nlohmann::json fields = {{"source", "imported"},
                           {"name", std::filesystem::path(out_dir).lexically_normal().filename().string()},
                           {"data", options.data},
                           {"arch", backbone.arch},
                           {"id", result.id},
                           {"imported_from",
                            {{"file", source},
                             {"sha256", digest.sha256},
                             {"format", backbone.format},
                             {"dropped", backbone.dropped}}},
                           {"command", options.command},
                           {"date", utc_timestamp()}};
  if (options.probe_epochs > 0) {
    say("teacher import: linear probe on " + options.data + " (" + std::to_string(options.probe_epochs) + " epochs)");
    const auto probed = probe_backbone(*backbone.encoder, splits, options.probe_epochs, options.seed, c10::kCPU);
    result.probe_test_accuracy = probed.test_accuracy;
    result.probe_train_accuracy = probed.train_accuracy;
    fields["probe_test_accuracy"] = probed.test_accuracy;
    fields["probe_train_accuracy"] = probed.train_accuracy;
    fields["probe_epochs"] = options.probe_epochs;
    say(fmt::format("teacher import: probe top-1 {:.2f}% (train {:.2f}%)", 100 * probed.test_accuracy,
                    100 * probed.train_accuracy));
  }

  io::claim_folder(out_dir, "teacher", options.force);
  write_backbone_teacher(out_dir, backbone.encoder, {backbone.arch, shape, splits.norm, options.data, result.id});
  write_manifest(out_dir, fields);
  io::RunLog log(out_dir + "/log");
  for (const auto& line : log_lines) log.line(line);
  log.say("teacher import: wrote " + out_dir + " (id " + result.id + ")");
  return result;
}

}  // namespace ssdd::teacher
