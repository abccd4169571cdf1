#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>

#include "ssdd/core/error.h"
#include "ssdd/io/atomic_file.h"
#include "ssdd/io/tensor_archive.h"
#include "test_util.h"

namespace fs = std::filesystem;
using namespace ssdd;

TEST(TensorArchive, RoundTripKeepsNamesShapesDtypesAndValues) {
  TempDir dir;
  io::TensorMap in{{"a.weight", torch::randn({3, 4})},
                   {"b", torch::arange(10, torch::kLong)},
                   {"u8", torch::randint(0, 255, {2, 1, 5, 5}, torch::kUInt8)},
                   {"strided", torch::randn({4, 6}).t()}};
  const std::string path = dir.path() + "/x.pt";
  io::save_tensors(path, in);
  const io::TensorMap out = io::load_tensors(path);
  ASSERT_EQ(out.size(), in.size());
  for (const auto& [name, t] : in) {
    ASSERT_TRUE(out.count(name)) << name;
    EXPECT_EQ(out.at(name).scalar_type(), t.scalar_type()) << name;
    EXPECT_TRUE(torch::equal(out.at(name), t)) << name;
  }
}

TEST(TensorArchive, TextTensorRoundTrip) {
  const std::string text = "{\"method\": \"ours\", \"budget\": 100}";
  EXPECT_EQ(io::tensor_to_text(io::text_to_tensor(text)), text);
  EXPECT_EQ(io::tensor_to_text(io::text_to_tensor("")), "");
}

TEST(TensorArchive, GarbageIsATypedErrorNamingTheFile) {
  TempDir dir;
  const std::string path = dir.path() + "/bad.pt";
  io::write_file_atomic(path, "this is not a zip archive");
  try {
    io::load_tensors(path);
    FAIL() << "expected DataError";
  } catch (const DataError& e) {
    EXPECT_NE(std::string(e.what()).find(path), std::string::npos);
  }
  EXPECT_THROW(io::load_tensors(dir.path() + "/missing.pt"), DataError);
}

// Python's torch.load must read what we write; checked when python3-torch is present.
TEST(TensorArchive, DigestSeesEveryBitButNotTheMetadata) {
  io::TensorMap a{{"w", torch::arange(6, torch::kFloat).view({2, 3})}, {"__meta__", io::text_to_tensor("{\"seconds\":1}")}};
  io::TensorMap b{{"w", torch::arange(6, torch::kFloat).view({2, 3})}, {"__meta__", io::text_to_tensor("{\"seconds\":2}")}};
  EXPECT_EQ(io::digest_tensors(a), io::digest_tensors(b));  // wall times differ, numbers do not
  EXPECT_EQ(io::digest_tensors(a).find("__meta__"), std::string::npos);
  EXPECT_NE(io::digest_tensors(a).find("w float [2x3] "), std::string::npos);
  b["w"][1][2] = std::nextafter(5.0f, 6.0f);  // one ulp in one element
  EXPECT_NE(io::digest_tensors(a), io::digest_tensors(b));
  b["w"] = torch::arange(6, torch::kFloat).view({3, 2});  // same bytes, another shape
  EXPECT_NE(io::digest_tensors(a), io::digest_tensors(b));
}

TEST(TensorArchive, PythonTorchLoadReadsIt) {
  if (std::system("/usr/bin/python3 -c 'import torch' >/dev/null 2>&1") != 0)
    GTEST_SKIP() << "python3 with torch not installed (scripts/setup-bench.sh installs Debian's python3-torch)";
  TempDir dir;
  const std::string path = dir.path() + "/py.pt";
  io::save_tensors(path, {{"w", torch::arange(6, torch::kFloat).reshape({2, 3})}});
  const std::string cmd = "/usr/bin/python3 -c \"import torch; d = torch.load('" + path +
                          "'); assert list(d) == ['w']; assert d['w'].tolist() == [[0,1,2],[3,4,5]]\"";
  EXPECT_EQ(std::system(cmd.c_str()), 0);
}

TEST(AtomicFile, FailureLeavesNoTemporaryAndKeepsOldContent) {
  TempDir dir;
  const std::string path = dir.path() + "/f.txt";
  io::write_file_atomic(path, "first");
  io::write_file_atomic(path, "second");
  EXPECT_EQ(io::read_file(path), "second");
  EXPECT_THROW(io::write_file_atomic(dir.path() + "/no/such/folder/f.txt", "x"), IoError);
  int entries = 0;
  for (const auto& e : fs::directory_iterator(dir.path())) entries += e.is_regular_file();
  EXPECT_EQ(entries, 1);
}
