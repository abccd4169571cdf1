// A tiny labelled image set written in IDX format, readable as `--data mnist
// --data-dir DIR`, shared by the tests of the stages that need real files.
#pragma once
#include <ATen/CPUGeneratorImpl.h>
#include <gtest/gtest.h>

#include <string>

#include "ssdd/distill/distiller.h"
#include "ssdd/evaluate/baselines.h"
#include "ssdd/io/atomic_file.h"
#include "ssdd/io/tensor_archive.h"
#include "ssdd/teacher/teacher.h"
#include "test_util.h"

// A few hundred 16x16 grey images in IDX format, readable as `--data mnist --data-dir`.
inline std::string write_tiny_idx(const std::string& dir) {
  auto gen = at::make_generator<at::CPUGeneratorImpl>(5);
  const int64_t n_train = 256, n_test = 64, side = 16;
  auto write = [&](const std::string& name, const at::Tensor& images, const at::Tensor& labels) {
    auto be32 = [](std::string& s, uint32_t v) {
      for (int i = 3; i >= 0; --i) s.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
    };
    std::string img, lab;
    be32(img, 0x803);
    be32(img, static_cast<uint32_t>(images.size(0)));
    be32(img, side);
    be32(img, side);
    img.append(reinterpret_cast<const char*>(images.data_ptr<uint8_t>()), images.numel());
    be32(lab, 0x801);
    be32(lab, static_cast<uint32_t>(labels.size(0)));
    const auto l8 = labels.to(torch::kUInt8);
    lab.append(reinterpret_cast<const char*>(l8.data_ptr<uint8_t>()), l8.numel());
    ssdd::io::write_file_atomic(dir + "/" + name + "-images-idx3-ubyte", img);
    ssdd::io::write_file_atomic(dir + "/" + name + "-labels-idx1-ubyte", lab);
  };
  // Class k: a bright square at one of four positions, plus noise.
  auto make = [&](int64_t n) {
    const auto labels = torch::randint(0, 4, {n}, gen, torch::kLong);
    auto images = 40 * torch::rand({n, side, side}, gen);
    for (int64_t i = 0; i < n; ++i) {
      const int64_t k = labels[i].item<int64_t>();
      images[i].slice(0, (k / 2) * 8, (k / 2) * 8 + 8).slice(1, (k % 2) * 8, (k % 2) * 8 + 8) += 200;
    }
    return std::make_pair(images.clamp(0, 255).to(torch::kUInt8).contiguous(), labels);
  };
  const auto [train_i, train_l] = make(n_train);
  const auto [test_i, test_l] = make(n_test);
  write("train", train_i, train_l);
  write("t10k", test_i, test_l);
  return dir;
}


// The tiny teacher the stage tests share: a ConvNet 8-16 with global pooling (16-d)
// trained with Barlow Twins on write_tiny_idx's images.
inline ssdd::teacher::TeacherConfig tiny_teacher_config(const std::string& data_dir, int64_t epochs,
                                                        int64_t probe_epochs) {
  auto c = ssdd::teacher::teacher_preset("quick");
  c.data = "mnist";
  c.data_dir = data_dir;
  c.arch = "convnet:8-16:gap";
  c.projector = {32, 32};
  c.epochs = epochs;
  c.batch_size = 64;
  c.probe_epochs = probe_epochs;
  c.runtime.threads = 2;
  return c;
}

// A tiny data set, a private data cache and a tiny teacher (2 epochs) trained on it:
// what the tests of the later stages start from.
struct TinyTeacher {
  TempDir data, cache, teacher;
  TinyTeacher() {
    setenv("SSDD_CACHE", cache.path().c_str(), 1);
    write_tiny_idx(data.path());
    ssdd::teacher::train_teacher(tiny_teacher_config(data.path(), 2, 2), teacher.path(), false);
  }
};

// A 12-image baseline set of the tiny teacher's data into `out_dir` (distilled.pt there).
inline void make_tiny_baseline(const TinyTeacher& dirs, ssdd::evaluate::BaselineMethod method,
                               const std::string& out_dir, int threads = 2) {
  ssdd::evaluate::BaselineConfig b;
  b.method = method;
  b.teacher = dirs.teacher.path();
  b.data_dir = dirs.data.path();
  b.budget = 12;
  b.runtime.threads = threads;
  ssdd::evaluate::make_baseline(b, out_dir);
}

// Two distilled-set (or weight) files hold bit-identical tensors (metadata aside).
inline void expect_same_tensors(const std::string& a_path, const std::string& b_path) {
  const auto a = ssdd::io::load_tensors(a_path);
  const auto b = ssdd::io::load_tensors(b_path);
  ASSERT_EQ(a.size(), b.size());
  for (const auto& [name, t] : a)
    if (name != "__meta__") {
      EXPECT_TRUE(torch::equal(t, b.at(name))) << name;
    }
}

// A distillation of the tiny teacher's data small enough for a test (40 outer iterations
// of a ConvNet 8-8 pool at budget 10).
inline ssdd::distill::DistillConfig tiny_distill_config(const TinyTeacher& dirs, const std::string& method) {
  auto c = ssdd::distill::distill_preset("quick");
  c.teacher = dirs.teacher.path();
  c.data_dir = dirs.data.path();
  c.method = ssdd::parse_choice<ssdd::distill::Method>(method, "test", "method");
  c.budget = 10;
  c.iterations = 40;
  c.real_batch = 32;
  c.pool.arch = "convnet:8-8";
  c.parameterization.image_bases = 8;
  c.parameterization.rep_bases = 4;
  c.approximation.hidden = 4;
  c.parameterization.pca_pool = 200;
  c.lr = 1e-2;
  c.runtime.threads = 2;
  return c;
}
