// A distillation's metrics.json, typed: distill/ fills and writes it, report/ reads it, so each
// field is named in one place, as results.json is (grid_results_file.h). What no table reads stays
// JSON for tools: the kernel's shape and conditioning. No LibTorch here.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace ssdd::io {

// One stored tensor of a set, counted in floats and in images of the source's size.
struct StoredTensor {
  std::string name;
  int64_t floats = 0;
  double images = 0;  // floats / image_floats
};

// What a set stores (SPEC 6), as distill/storage.h counts it; also in a set file's metadata.
struct SetStorage {
  std::vector<StoredTensor> items;
  int64_t total_floats = 0;
  double image_equivalents = 0;  // total_floats / image_floats
  int64_t image_floats = 0;      // C*H*W of one source image
};

// The approximation networks of one rotated view against the teacher on held-out images
// (distill/approximation_check.h): R^2 of each estimate of g(a_t(x)).
struct ViewApproximation {
  std::string view;
  double r2 = 0;            // the networks' prediction q_t(g(x))
  double r2_unshifted = 0;  // g(x) itself: the rotation assumed to change nothing
  double r2_basis = 1;      // the truth projected onto the set's representation basis: the
                            // most any coefficients can reach (1 without parameterization)
  double r2_distilled = 0;  // in sample: the networks on the set's own images, q_t(C_y)
                            // against g(a_t(X_s)), what the teacher says of those views
                            // (the pairs of the re-fit with approx_fit = joint)
};

struct SetMetrics {
  std::vector<double> loss;  // per outer iteration
  double final_loss = 0;
  nlohmann::json kernel;     // rows, features, precision, condition numbers
  int64_t m = 0;             // distilled images
  double seconds = 0;
  double iterations_per_second = 0;
  SetStorage storage;
  std::vector<ViewApproximation> approximation_heldout;  // empty without approximation networks
  int threads = 0;             // per process
  int ranks = 1;               // processes of the job (issue 26)
  double collective_seconds = 0;  // rank 0's time in the outer steps' collectives (this piece)
};

nlohmann::json to_json(const SetStorage& storage);
nlohmann::json to_json(const std::vector<ViewApproximation>& checks);
nlohmann::json to_json(const SetMetrics& metrics);
// Throws DataError naming `path` and the missing or mistyped field.
SetMetrics set_metrics_from_json(const nlohmann::json& j, const std::string& path = "metrics.json");
SetMetrics read_set_metrics(const std::string& path);

}  // namespace ssdd::io
