#include "ssdd/data/image_folder.h"

#include <algorithm>
#include <atomic>
#include <cctype>
#include <cstring>
#include <exception>
#include <filesystem>
#include <functional>
#include <fstream>
#include <map>
#include <mutex>
#include <sstream>
#include <thread>
#include <torch/torch.h>

#include "ssdd/core/error.h"
#include "ssdd/data/resize.h"
#include "ssdd/io/image_decode.h"

namespace fs = std::filesystem;

namespace ssdd::data {
namespace {

bool is_hidden(const fs::path& p) {
  const std::string name = p.filename().string();
  return !name.empty() && name[0] == '.';
}

bool has_image_extension(const fs::path& p) {
  std::string ext = p.extension().string();
  std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return ext == ".png" || ext == ".jpg" || ext == ".jpeg";
}

// Image files directly inside `dir`, sorted by name; empty when `dir` is absent.
std::vector<std::string> list_images(const fs::path& dir) {
  std::vector<std::string> files;
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) return files;
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    if (is_hidden(entry.path()) || !has_image_extension(entry.path())) continue;
    std::error_code ec2;
    if (entry.is_regular_file(ec2)) files.push_back(entry.path().string());
  }
  std::sort(files.begin(), files.end());
  return files;
}

std::vector<std::string> list_subdirs(const fs::path& dir) {
  std::vector<std::string> names;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    std::error_code ec2;
    if (!is_hidden(entry.path()) && entry.is_directory(ec2)) names.push_back(entry.path().filename().string());
  }
  std::sort(names.begin(), names.end());
  return names;
}

void require_dir(const fs::path& dir, const std::string& what) {
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) throw DataError(dir.string(), what, "no such directory");
}

void require_file(const fs::path& file, const std::string& what) {
  std::error_code ec;
  if (!fs::is_regular_file(file, ec)) throw DataError(file.string(), what, "no such file");
}

std::string trim(std::string s) {
  const char* ws = " \t\r\n";
  const auto b = s.find_first_not_of(ws);
  if (b == std::string::npos) return "";
  return s.substr(b, s.find_last_not_of(ws) - b + 1);
}

// Calls fn(line, where) for every non-blank line of a text file, trimmed; `where` is
// "path:line", for error messages.
void for_each_line(const fs::path& path, const std::function<void(const std::string&, const std::string&)>& fn) {
  std::ifstream in(path);
  std::string line;
  int line_no = 0;
  while (std::getline(in, line)) {
    ++line_no;
    line = trim(line);
    if (!line.empty()) fn(line, path.string() + ":" + std::to_string(line_no));
  }
}

// `root`, or its subfolder `sub` when that holds `marker` and root does not.
fs::path resolve_root(const std::string& root, const char* sub, const char* marker, const std::string& what) {
  std::error_code ec;
  if (fs::exists(fs::path(root) / marker, ec)) return root;
  if (fs::exists(fs::path(root) / sub / marker, ec)) return fs::path(root) / sub;
  require_dir(root, what);
  throw DataError((fs::path(root) / marker).string(), what + " (also looked in " + sub + "/)", "no such file");
}

// Decodes image `path` into `out` (C x H x W uint8), resizing when its size differs.
void decode_into(const std::string& path, int channels, int64_t h, int64_t w, uint8_t* out) {
  io::DecodedImage img = io::read_image(path, channels);
  const int64_t c = img.channels;
  if (img.height == h && img.width == w) {
    const int64_t plane = h * w;
    for (int64_t i = 0; i < plane; ++i)
      for (int64_t k = 0; k < c; ++k) out[k * plane + i] = img.pixels[i * c + k];
    return;
  }
  at::Tensor hwc = torch::from_blob(img.pixels.data(), {img.height, img.width, c}, torch::kUInt8);
  at::Tensor resized = resize_pixels(hwc.permute({2, 0, 1}), h, w).contiguous();
  std::memcpy(out, resized.data_ptr<uint8_t>(), static_cast<size_t>(c * h * w));
}

// Runs fn(i) for i in [begin, end) on `threads` workers. When some calls throw, the
// exception of the smallest failing index is rethrown: indices are claimed in
// increasing order and claimed ones always finish, so that index does not depend
// on scheduling.
void parallel_indices(int64_t begin, int64_t end, int threads, const std::function<void(int64_t)>& fn) {
  if (end <= begin) return;
  std::atomic<int64_t> next{begin};
  std::atomic<bool> stop{false};
  std::mutex mutex;
  int64_t failed_index = end;
  std::exception_ptr failure;
  auto worker = [&] {
    while (!stop.load()) {
      const int64_t i = next.fetch_add(1);
      if (i >= end) break;
      try {
        fn(i);
      } catch (...) {
        std::lock_guard<std::mutex> lock(mutex);
        if (i < failed_index) {
          failed_index = i;
          failure = std::current_exception();
        }
        stop.store(true);
      }
    }
  };
  const int64_t n = std::min<int64_t>(threads, end - begin);
  std::vector<std::thread> pool;
  for (int64_t t = 1; t < n; ++t) pool.emplace_back(worker);
  worker();
  for (auto& t : pool) t.join();
  if (failure) std::rethrow_exception(failure);
}

int worker_count(int requested) {
  if (requested > 0) return requested;
  const int hw = static_cast<int>(std::thread::hardware_concurrency());
  return std::clamp(hw, 2, 16);
}

}  // namespace

ImageSet load_image_files(const std::vector<std::string>& files, const std::vector<int64_t>& labels,
                          int64_t num_classes, std::vector<std::string> class_names, const FolderOptions& opts,
                          const std::string& source) {
  if (opts.channels != 1 && opts.channels != 3)
    throw ConfigError("channels", "must be 1 or 3, got " + std::to_string(opts.channels));
  if (opts.resolution < 0 || opts.resolution > io::kMaxImageSide)
    throw ConfigError("resolution", "must be between 1 and " + std::to_string(io::kMaxImageSide) + " (or 0 for native)");
  if (files.empty()) throw DataError(source, "at least one image (.png, .jpg, .jpeg)", "none");
  if (labels.size() != files.size())
    throw DataError(source, std::to_string(files.size()) + " labels", std::to_string(labels.size()));

  const int64_t n = static_cast<int64_t>(files.size());
  const int64_t c = opts.channels;
  // The first image fixes the size when no resolution is asked for.
  io::DecodedImage first = io::read_image(files[0], opts.channels);
  const int64_t h = opts.resolution > 0 ? opts.resolution : first.height;
  const int64_t w = opts.resolution > 0 ? opts.resolution : first.width;
  first = io::DecodedImage();

  ImageSet set;
  set.images = torch::empty({n, c, h, w}, torch::kUInt8);
  uint8_t* out = set.images.data_ptr<uint8_t>();
  const int64_t stride = c * h * w;
  parallel_indices(0, n, worker_count(opts.threads),
                   [&](int64_t i) { decode_into(files[i], opts.channels, h, w, out + i * stride); });

  set.labels = torch::tensor(labels, torch::kLong);
  set.num_classes = num_classes;
  set.class_names = std::move(class_names);
  return set;
}

std::vector<std::string> image_folder_classes(const std::string& split_dir) {
  std::vector<std::string> classes;
  for (const auto& name : list_subdirs(split_dir))
    if (!list_images(fs::path(split_dir) / name).empty()) classes.push_back(name);
  return classes;
}

ImageSet read_image_folder(const std::string& split_dir, const FolderOptions& opts,
                           const std::vector<std::string>& classes_in) {
  require_dir(split_dir, "an image folder (<split>/<class>/*.png|jpg|jpeg)");
  std::vector<std::string> classes = classes_in.empty() ? image_folder_classes(split_dir) : classes_in;
  std::map<std::string, int64_t> index;
  for (size_t i = 0; i < classes.size(); ++i) index[classes[i]] = static_cast<int64_t>(i);

  std::vector<std::string> files;
  std::vector<int64_t> labels;
  for (const auto& name : list_subdirs(split_dir)) {
    std::vector<std::string> images = list_images(fs::path(split_dir) / name);
    if (images.empty()) continue;  // empty class folder: skipped
    const auto it = index.find(name);
    if (it == index.end())
      throw DataError((fs::path(split_dir) / name).string(), "a class folder named in the class list", "an unknown class");
    for (auto& f : images) {
      files.push_back(std::move(f));
      labels.push_back(it->second);
    }
  }
  if (files.empty())
    throw DataError(split_dir, "at least one image in <class>/*.png|jpg|jpeg", "none");
  const auto num_classes = static_cast<int64_t>(classes.size());
  return load_image_files(files, labels, num_classes, std::move(classes), opts, split_dir);
}

ImageSet read_tiny_imagenet(const std::string& root_in, bool train, const FolderOptions& opts) {
  const std::string what = "a Tiny ImageNet folder (wnids.txt, train/, val/)";
  const fs::path root = resolve_root(root_in, "tiny-imagenet-200", "wnids.txt", what);
  std::vector<std::string> wnids;
  for_each_line(root / "wnids.txt", [&](const std::string& line, const std::string&) { wnids.push_back(line); });
  if (wnids.empty()) throw DataError((root / "wnids.txt").string(), "one wnid per line", "no wnids");
  std::sort(wnids.begin(), wnids.end());
  wnids.erase(std::unique(wnids.begin(), wnids.end()), wnids.end());
  std::map<std::string, int64_t> index;
  for (size_t i = 0; i < wnids.size(); ++i) index[wnids[i]] = static_cast<int64_t>(i);

  std::vector<std::string> files;
  std::vector<int64_t> labels;
  if (train) {
    require_dir(root / "train", what);
    for (size_t k = 0; k < wnids.size(); ++k) {
      for (auto& f : list_images(root / "train" / wnids[k] / "images")) {
        files.push_back(std::move(f));
        labels.push_back(static_cast<int64_t>(k));
      }
    }
  } else {
    const fs::path ann = root / "val" / "val_annotations.txt";
    require_file(ann, "Tiny ImageNet val annotations (file<TAB>wnid<TAB>box)");
    for_each_line(ann, [&](const std::string& line, const std::string& where) {
      std::istringstream fields(line);
      std::string file, wnid;
      if (!(fields >> file >> wnid)) throw DataError(where, "file<TAB>wnid<TAB>box", "'" + line + "'");
      const auto it = index.find(wnid);
      if (it == index.end()) throw DataError(where, "a wnid listed in wnids.txt", wnid);
      const fs::path image = root / "val" / "images" / file;
      require_file(image, "the image listed in " + ann.string());
      files.push_back(image.string());
      labels.push_back(it->second);
    });
  }
  if (files.empty())
    throw DataError(root.string(), std::string("at least one ") + (train ? "train" : "val") + " image", "none");
  const auto num_classes = static_cast<int64_t>(wnids.size());
  return load_image_files(files, labels, num_classes, wnids, opts, root.string());
}

namespace {
// "id value" lines of a CUB metadata file.
std::map<int64_t, std::string> read_id_table(const fs::path& path) {
  require_file(path, "a CUB-200-2011 metadata file (id value per line)");
  std::map<int64_t, std::string> table;
  for_each_line(path, [&](const std::string& line, const std::string& where) {
    std::istringstream fields(line);
    int64_t id = 0;
    std::string value;
    if (!(fields >> id) || !(fields >> value)) throw DataError(where, "'<id> <value>'", "'" + line + "'");
    table[id] = value;
  });
  return table;
}

int64_t parse_int(const std::string& text, const std::string& where) {
  try {
    size_t used = 0;
    const long long v = std::stoll(text, &used);
    if (used == text.size()) return v;
  } catch (const std::exception&) {
  }
  throw DataError(where, "an integer", "'" + text + "'");
}
}  // namespace

ImageSet read_cub200(const std::string& root_in, bool train, const FolderOptions& opts) {
  const std::string what = "a CUB-200-2011 folder (images.txt, image_class_labels.txt, train_test_split.txt, images/)";
  const fs::path root = resolve_root(root_in, "CUB_200_2011", "images.txt", what);
  const auto paths = read_id_table(root / "images.txt");
  const auto class_of = read_id_table(root / "image_class_labels.txt");
  const auto is_train = read_id_table(root / "train_test_split.txt");
  std::map<int64_t, std::string> class_table;
  std::error_code ec;
  if (fs::exists(root / "classes.txt", ec)) class_table = read_id_table(root / "classes.txt");

  std::vector<std::string> files;
  std::vector<int64_t> labels;
  int64_t max_label = 0;
  std::map<int64_t, std::string> folder_names;  // label -> folder, when classes.txt is absent
  for (const auto& [id, rel] : paths) {
    const std::string where = "image id " + std::to_string(id);
    const auto c = class_of.find(id);
    if (c == class_of.end()) throw DataError((root / "image_class_labels.txt").string(), "a label for " + where, "none");
    const auto s = is_train.find(id);
    if (s == is_train.end()) throw DataError((root / "train_test_split.txt").string(), "a split for " + where, "none");
    const int64_t label = parse_int(c->second, (root / "image_class_labels.txt").string()) - 1;
    if (label < 0) throw DataError((root / "image_class_labels.txt").string(), "1-based labels", std::to_string(label + 1));
    max_label = std::max(max_label, label);
    folder_names.emplace(label, fs::path(rel).parent_path().string());
    if ((parse_int(s->second, (root / "train_test_split.txt").string()) != 0) != train) continue;
    const fs::path image = root / "images" / rel;
    require_file(image, "the image listed in " + (root / "images.txt").string());
    files.push_back(image.string());
    labels.push_back(label);
  }
  int64_t num_classes = max_label + 1;
  std::vector<std::string> names;
  if (!class_table.empty()) {
    num_classes = std::max<int64_t>(num_classes, static_cast<int64_t>(class_table.size()));
    for (int64_t k = 0; k < num_classes; ++k) {
      const auto it = class_table.find(k + 1);
      names.push_back(it != class_table.end() ? it->second : std::to_string(k + 1));
    }
  } else {
    for (int64_t k = 0; k < num_classes; ++k) {
      const auto it = folder_names.find(k);
      names.push_back(it != folder_names.end() ? it->second : std::to_string(k + 1));
    }
  }
  if (files.empty())
    throw DataError(root.string(), std::string("at least one ") + (train ? "train" : "test") + " image", "none");
  return load_image_files(files, labels, num_classes, std::move(names), opts, root.string());
}

ImageSet read_stanford_dogs(const std::string& root_in, bool train, const FolderOptions& opts) {
  const fs::path root = root_in;
  const fs::path images = root / "Images";
  require_dir(root, "a Stanford Dogs folder (Images/, train_list.txt, test_list.txt)");
  require_dir(images, "the Stanford Dogs image folder Images/<synset-breed>/");
  const std::string list_name = train ? "train_list.txt" : "test_list.txt";
  fs::path list = root / list_name;
  std::error_code ec;
  if (!fs::exists(list, ec) && fs::exists(root / "lists" / list_name, ec)) list = root / "lists" / list_name;
  require_file(list, "a split list, one path relative to Images/ per line (the .mat lists are not read: "
                     "write them out as text)");

  const std::vector<std::string> classes = list_subdirs(images);
  std::map<std::string, int64_t> index;
  for (size_t i = 0; i < classes.size(); ++i) index[classes[i]] = static_cast<int64_t>(i);

  std::vector<std::string> files;
  std::vector<int64_t> labels;
  for_each_line(list, [&](std::string line, const std::string& where) {
    if (line.rfind("./", 0) == 0) line = line.substr(2);
    if (line.rfind("Images/", 0) == 0) line = line.substr(7);
    const auto slash = line.find('/');
    if (slash == std::string::npos) throw DataError(where, "<class folder>/<image>", "'" + line + "'");
    const auto it = index.find(line.substr(0, slash));
    if (it == index.end()) throw DataError(where, "a path under a class folder of " + images.string(), "'" + line + "'");
    const fs::path image = images / line;
    require_file(image, "the image listed in " + list.string());
    files.push_back(image.string());
    labels.push_back(it->second);
  });
  if (files.empty()) throw DataError(list.string(), "at least one image path", "none");
  const auto num_classes = static_cast<int64_t>(classes.size());
  return load_image_files(files, labels, num_classes, classes, opts, root.string());
}

at::Tensor resize_images(const at::Tensor& images, int resolution) {
  return resolution <= 0 ? images : resize_pixels(images, resolution, resolution);
}

at::Tensor convert_image_channels(const at::Tensor& images, int channels) {
  const int64_t c = images.size(1);
  if (channels <= 0 || channels == c) return images;
  if (channels == 3 && c == 1) return images.expand({-1, 3, -1, -1}).contiguous();
  if (channels == 1 && c == 3) {
    // Same fixed-point luma as io::convert_channels, so both paths agree bit for bit.
    at::Tensor x = images.to(torch::kInt);
    at::Tensor y = (x.select(1, 0) * 19595 + x.select(1, 1) * 38470 + x.select(1, 2) * 7471 + 32768)
                       .div(65536, "floor");  // sums stay below 2^24: no overflow
    return y.to(torch::kUInt8).unsqueeze(1).contiguous();
  }
  throw ConfigError("channels", "cannot convert " + std::to_string(c) + " channels to " + std::to_string(channels));
}

ImageSet reshape_set(ImageSet set, int resolution, int channels) {
  if (channels > 0 && channels < set.channels()) {
    set.images = convert_image_channels(set.images, channels);
    set.images = resize_images(set.images, resolution);
  } else {
    set.images = resize_images(set.images, resolution);
    set.images = convert_image_channels(set.images, channels);
  }
  return set;
}

}  // namespace ssdd::data
