#include "ssdd/teacher/representations.h"

#include <torch/torch.h>

#include <chrono>
#include <iostream>
#include <memory>
#include <sstream>

#include "ssdd/core/error.h"
#include "ssdd/core/format.h"
#include "ssdd/core/hash.h"
#include "ssdd/measure/linear_probe.h"
#include "ssdd/io/atomic_file.h"
#include "ssdd/io/folder_lock.h"
#include "ssdd/io/tensor_archive.h"
#include "ssdd/io/tensor_checksum.h"

namespace ssdd::teacher {
namespace {

// A file-name-safe form of a data set or split name. Names such as "folder:/data/pets"
// lose characters here, so those get a hash of the original appended: two names that
// sanitise alike still get different files. Plain names stay readable.
std::string file_part(const std::string& name) {
  std::string out;
  bool changed = name.empty();
  for (char c : name) {
    const bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' ||
                    c == '_' || c == '-';
    out += ok ? c : '_';
    changed |= !ok;
  }
  constexpr size_t kMaxLength = 80;  // long folder paths would exceed NAME_MAX
  if (out.size() > kMaxLength) {
    out.resize(kMaxLength);
    changed = true;
  }
  if (changed) out += "_" + hash_hex(name).substr(0, 8);
  return out;
}

// Cheap identity of an image set: the exact bytes of the first and last images plus
// every image's byte sum in order, so edits, truncation and reordering are all seen
// without hashing the whole set byte by byte.
std::string images_fingerprint(const at::Tensor& images) {
  const int64_t n = images.size(0);
  if (n == 0) return "empty";
  auto bytes_of = [](const at::Tensor& t) {
    const auto c = t.contiguous();
    return std::string(reinterpret_cast<const char*>(c.data_ptr<uint8_t>()), static_cast<size_t>(c.numel()));
  };
  const auto sums = images.reshape({n, -1}).sum(1, /*keepdim=*/false, torch::kLong).contiguous();
  const std::string sum_bytes(reinterpret_cast<const char*>(sums.data_ptr<int64_t>()),
                              static_cast<size_t>(n) * sizeof(int64_t));
  return hash_hex(bytes_of(images[0]) + bytes_of(images[n - 1]) + sum_bytes);
}

std::string cache_key(const Teacher& teacher, const std::string& data, const std::string& split,
                      const at::Tensor& images, const data::View& view) {
  std::ostringstream key;
  // The teacher by its id and by its weights: another teacher's weights under the same id
  // (a copied teacher.pt) get their own representations.
  key << "ssdd teacher reps v2\nteacher=" << teacher.id << "\nweights=" << teacher.weights_digest
      << "\ndata=" << data << "\nsplit=" << split
      << "\nview=" << view.name() << "\nn=" << images.size(0) << "\nshape=" << images.size(1) << "x"
      << images.size(2) << "x" << images.size(3) << "\nimages=" << images_fingerprint(images) << "\n";
  return key.str();
}

// The cached reps when the file exists, matches `key` and passes its checksum; an undefined
// tensor otherwise. A corrupt, damaged or foreign file is treated as absent: the cache is
// rebuilt, never trusted, and damage is said in one line (a stale key is routine: silent).
at::Tensor load_cached(const std::string& path, const std::string& key, int64_t n) {
  if (!io::file_exists(path)) return {};
  try {
    const auto tensors = io::load_tensors(path);
    const auto k = tensors.find("__key__"), r = tensors.find("reps");
    if (k == tensors.end() || r == tensors.end() || io::tensor_to_text(k->second) != key) return {};
    if (io::check_checksum(tensors) != io::ChecksumCheck::matches) {
      std::cerr << "teacher reps: " << path << " failed its checksum; recomputing\n";
      return {};
    }
    if (r->second.dim() != 2 || r->second.size(0) != n) return {};
    return r->second.to(torch::kFloat);
  } catch (const DataError& e) {  // names the file
    std::cerr << "teacher reps: " << e.what() << "; recomputing\n";
    return {};
  } catch (const Error&) {
    std::cerr << "teacher reps: " << path << " is unreadable; recomputing\n";
    return {};
  } catch (const c10::Error&) {
    std::cerr << "teacher reps: " << path << " is unreadable; recomputing\n";
    return {};
  }
}

// The teacher's features of `images_u8` under `view`, computed here (with progress lines
// under `progress_stage` when it is not empty).
at::Tensor compute(const Teacher& teacher, const at::Tensor& images_u8, const data::View& view, c10::Device device,
                   int64_t batch_size, const std::string& progress_stage) {
  auto& encoder = *teacher.encoder;
  const bool was_training = encoder.is_training();
  encoder.eval();
  // The view is applied after normalisation: rotations and flips only move pixels and the
  // normalisation is per channel, so the order does not matter and no viewed uint8 copy
  // of the whole split is needed.
  const auto reps = measure::extract_features(
      [&](const at::Tensor& x) { return encoder.features(data::apply_view(x, view)); }, images_u8, teacher.norm,
      batch_size, device, progress_stage);
  encoder.train(was_training);
  return reps.to(torch::kFloat).contiguous();
}

// Rank r computes images [r*n/W, (r+1)*n/W); the slices, padded to one length for the
// all-gather, come back whole and in order on every rank.
at::Tensor compute_shared(train::ProcessGroup& group, const Teacher& teacher, const at::Tensor& images_u8,
                          const data::View& view, c10::Device device, int64_t batch_size,
                          const std::string& progress_stage) {
  const int64_t n = images_u8.size(0), ranks = group.size();
  auto begin = [&](int64_t r) { return r * n / ranks; };
  const int64_t longest = (n + ranks - 1) / ranks;
  const int64_t r = group.rank();
  // Rank 0's progress stands for all: the slices are within one image of each other.
  const at::Tensor mine = compute(teacher, images_u8.slice(0, begin(r), begin(r + 1)), view, device, batch_size,
                                  r == 0 ? progress_stage : std::string());
  at::Tensor padded = torch::zeros({longest, teacher.feature_dim}, mine.options().device(device));
  padded.narrow(0, 0, mine.size(0)).copy_(mine);
  const at::Tensor all = group.all_gather(padded).to(torch::kCPU);
  std::vector<at::Tensor> slices;
  for (int64_t k = 0; k < ranks; ++k) slices.push_back(all.narrow(0, k * longest, begin(k + 1) - begin(k)));
  return torch::cat(slices).contiguous();
}

// Whether every rank found the file in its cache (a collective).
bool cached_on_every_rank(train::ProcessGroup& group, bool here) {
  const at::Tensor found = group.all_gather(torch::tensor({here ? 1L : 0L}, torch::kLong));
  return found.min().item<int64_t>() == 1;
}

}  // namespace

at::Tensor representations(const Teacher& teacher, const std::string& data, const std::string& split,
                           const at::Tensor& images_u8, const data::View& view, c10::Device device,
                           int64_t batch_size, train::ProcessGroup* shared_by) {
  if (!teacher.encoder) throw Error("teacher representations: the teacher has no encoder");
  if (teacher.dir.empty()) throw Error("teacher representations: the teacher has no folder to cache them in");
  if (!images_u8.defined() || images_u8.dim() != 4 || images_u8.scalar_type() != torch::kUInt8 ||
      !images_u8.device().is_cpu())
    throw Error("teacher representations: images must be uint8 N x C x H x W on the CPU");
  if (batch_size < 1) throw ConfigError("teacher representations", "batch size must be positive");

  const std::string folder = teacher.dir + "/reps";
  const std::string path = folder + "/" + file_part(data) + "-" + file_part(split) + "-" + view.name() + ".pt";
  const std::string key = cache_key(teacher, data, split, images_u8, view);
  const int64_t n = images_u8.size(0);
  at::Tensor cached = load_cached(path, key, n);
  if (shared_by ? cached_on_every_rank(*shared_by, cached.defined()) : cached.defined()) return cached;
  // One writer per teacher's reps folder: a second process (two runs sharing a cached
  // teacher) waits, then finds the file the first one wrote. A folder that cannot be
  // written (read-only) is computed without the lock and without caching. In a job, rank 0
  // holds the lock while all ranks compute.
  const bool writes = !shared_by || shared_by->rank() == 0;
  std::unique_ptr<io::FolderLock> lock;
  try {
    if (writes) lock = std::make_unique<io::FolderLock>(folder, io::FolderLock::IfHeld::wait);
    if (!shared_by)
      if (auto now_cached = load_cached(path, key, n); now_cached.defined()) return now_cached;
  } catch (const IoError& e) {
    std::cerr << "ssdd: warning: cannot lock the teacher representation cache: " << e.what() << "\n";
  }

  const std::string what = data + " " + split + " " + view.name();
  if (writes)
    std::cerr << "teacher reps: computing " << what << " (" << n << " images"
              << (shared_by ? ", shared among " + std::to_string(shared_by->size()) + " ranks" : "") << ")\n"
              << std::flush;
  const std::string progress_stage = writes ? "teacher reps " + what : "";
  const auto start = std::chrono::steady_clock::now();
  const at::Tensor result =
      shared_by ? compute_shared(*shared_by, teacher, images_u8, view, device, batch_size, progress_stage)
                : compute(teacher, images_u8, view, device, batch_size, progress_stage);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  if (!writes) return result;
  std::cerr << fmt::format("teacher reps: computed {} in {:.1f} s", what, seconds) << "\n" << std::flush;

  // A teacher folder that cannot be written (read-only) only costs recomputation next time.
  try {
    io::make_dirs(folder);
    io::save_tensors_checksummed(path, {{"reps", result}, {"__key__", io::text_to_tensor(key)}});
  } catch (const IoError& e) {
    std::cerr << "ssdd: warning: could not cache teacher representations: " << e.what() << "\n";
  }
  return result;
}

}  // namespace ssdd::teacher
