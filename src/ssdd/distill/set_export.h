// `ssdd export`: a distilled set's training pairs (distill/view_pairs.h, every view, as
// evaluation's pretraining consumes them) written for a PyTorch script:
//   views.pt     torch.load gives plain tensors: images (N x C x H x W float32, normalised),
//                targets (N x d float32), view and index (int64, N), mean and std (float32, C:
//                images * std + mean are [0, 1] pixels);
//   images/      one PNG per row (denormalised, clamped), named ROW-VIEW-iINDEX.png so that
//                the names sort in row order; targets.csv: file,view,index,t0..t{d-1};
//   export.json  the source set, its method, data set, views, counts, shape, normalisation,
//                the command, and the set's own metadata.
// Nothing half-written: everything is written into a temporary folder beside the output
// folder and renamed into place at the end. An existing output folder is claimed as the
// other commands claim theirs (io/owned_folder.h): one of the user's is refused unless
// `force`; an earlier export there is replaced as a whole.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace ssdd::distill {

struct ExportOptions {
  bool tensors = true;   // views.pt
  bool pngs = true;      // images/ and targets.csv
  bool force = false;    // write into an existing non-empty folder of the user's (marking it)
  std::string command;   // the command line, recorded in export.json
};

struct ExportSummary {
  int64_t rows = 0, images = 0, views = 0, target_dim = 0;
  std::vector<int64_t> shape;  // C, H, W
};

// Loads the set at `set_path` (DataError naming it when missing or damaged; nothing is
// created then) and writes the export into `out_dir`.
ExportSummary export_set(const std::string& set_path, const std::string& out_dir, const ExportOptions& options);

}  // namespace ssdd::distill
