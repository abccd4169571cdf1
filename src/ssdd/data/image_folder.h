// Data sets stored as image files (PNG/JPEG). Every image is decoded, converted to the
// requested channel count and resized to one square resolution (data/resize.h: area
// averaging to shrink, bilinear to enlarge),
// so the result is one dense N x C x R x R uint8 tensor. Decoding runs on several
// threads; results are placed by index, so the output does not depend on scheduling.
#pragma once
#include <string>
#include <vector>

#include <ATen/core/Tensor.h>

#include "ssdd/data/dataset.h"

namespace ssdd::data {

struct FolderOptions {
  // Side of the square output. 0 keeps the first image's size (H x W) and resizes any
  // other image to it. Aspect ratio is not kept (images are squashed, not cropped).
  int resolution = 0;
  int channels = 3;  // 1 or 3; grey images are replicated, colour ones reduced to luma
  int threads = 0;   // decode workers; 0 = one per hardware thread (at least 2, at most 16)
};

// Decodes `files` in order into one ImageSet with the given labels (same length) and
// class names. `source` names the data set in errors (e.g. its root folder). DataError
// names the image when one is missing or undecodable, and `source` when `files` is empty.
ImageSet load_image_files(const std::vector<std::string>& files, const std::vector<int64_t>& labels,
                          int64_t num_classes, std::vector<std::string> class_names, const FolderOptions& opts,
                          const std::string& source);

// Sorted names of the subfolders of `split_dir` that hold at least one image
// (*.png, *.jpg, *.jpeg, any case); hidden folders are ignored.
std::vector<std::string> image_folder_classes(const std::string& split_dir);

// Generic layout `<split_dir>/<class>/*.{png,jpg,jpeg}`. Classes are `classes` when
// given (pass the union over splits so labels agree between train and test), else
// image_folder_classes(split_dir); label = index in that sorted list. A class folder
// with no images is skipped; no image at all is a DataError.
ImageSet read_image_folder(const std::string& split_dir, const FolderOptions& opts,
                           const std::vector<std::string>& classes = {});

// Tiny ImageNet: `root` (or root/tiny-imagenet-200) holds wnids.txt, train/<wnid>/images/
// and val/images/ + val/val_annotations.txt (tab-separated: file, wnid, box). train=false
// reads the val split. Classes are the sorted wnids; class names are the wnids.
ImageSet read_tiny_imagenet(const std::string& root, bool train, const FolderOptions& opts);

// CUB-200-2011: `root` (or root/CUB_200_2011) holds images.txt (id path),
// image_class_labels.txt (id label, 1-based), train_test_split.txt (id is_train) and
// images/. Images in id order; class names from classes.txt when present.
ImageSet read_cub200(const std::string& root, bool train, const FolderOptions& opts);

// Stanford Dogs: `root` holds Images/<synset-breed>/*.jpg and a split list
// train_list.txt / test_list.txt (also looked for in root/lists/): one path relative to
// Images/ per line, e.g. n02085620-Chihuahua/n02085620_10074.jpg. The official lists are
// MATLAB .mat files, which are not read; a text list is the accepted input. Classes are
// the sorted folder names of Images/; the label is the folder of each listed path.
ImageSet read_stanford_dogs(const std::string& root, bool train, const FolderOptions& opts);

// Resizes a uint8 N x C x H x W batch to R x R (data/resize.h);
// returns the input itself when it already has that size.
at::Tensor resize_images(const at::Tensor& images, int resolution);

// Converts a uint8 N x C x H x W batch to 1 or 3 channels (luma as in io::convert_channels).
at::Tensor convert_image_channels(const at::Tensor& images, int channels);

// Both of the above for a whole set; resolution/channels 0 keep what the set has.
ImageSet reshape_set(ImageSet set, int resolution, int channels);

}  // namespace ssdd::data
