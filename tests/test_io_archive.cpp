#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <torch/torch.h>

#include "ssdd/core/error.h"
#include "ssdd/io/archive_check.h"
#include "ssdd/io/atomic_file.h"
#include "ssdd/io/pickle_tensors.h"
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

TEST(TensorArchive, ADirectoryPointingPastTheEndIsATypedError) {
  // LibTorch's own reader copies whatever range the zip directory names, unchecked
  // (fuzz/regressions/checkpoint). Point the central directory far past the end, in the
  // zip64 record and in the classic one: the load must fail as a DataError.
  std::string bytes = io::tensors_to_bytes({{"x", torch::arange(100, torch::kFloat)}});
  auto patch = [&](const std::string& signature, size_t field, uint64_t value, int width) {
    const size_t at = bytes.rfind(signature);
    ASSERT_NE(at, std::string::npos) << "no end record";
    for (int i = 0; i < width; ++i) bytes[at + field + i] = static_cast<char>((value >> (8 * i)) & 0xff);
  };
  patch(std::string("PK\x06\x06", 4), 48, uint64_t{1} << 40, 8);  // zip64 end record: directory offset
  patch(std::string("PK\x05\x06", 4), 16, 0xfffffff0u, 4);         // end record: directory offset
  EXPECT_THROW(io::tensors_from_bytes(bytes, "far.pt"), DataError);
  // Cut short anywhere: always a DataError.
  const std::string whole = io::tensors_to_bytes({{"x", torch::arange(100, torch::kFloat)}});
  for (size_t keep : {size_t{0}, size_t{30}, whole.size() / 2, whole.size() - 30, whole.size() - 1})
    EXPECT_THROW(io::tensors_from_bytes(whole.substr(0, keep), "cut.pt"), DataError) << keep;
}

TEST(ArchiveCheck, SizesBeyondTheBytesAreRefusedBeforeLibTorchAllocatesThem) {
  const std::string good = io::tensors_to_bytes({{"x", torch::arange(100, torch::kFloat)}});
  EXPECT_NO_THROW(io::check_zip_layout(good, "good.pt"));
  // The first central-directory entry claims 4 GB (compressed and not): refused by the
  // check, and by the load, which runs it first.
  std::string big = good;
  const size_t entry = big.find(std::string("PK\x01\x02", 4));
  ASSERT_NE(entry, std::string::npos);
  for (size_t field : {size_t{20}, size_t{24}})
    for (int i = 0; i < 4; ++i) big[entry + field + i] = static_cast<char>(i == 3 ? 0xf0 : 0);
  try {
    io::check_zip_layout(big, "big.pt");
    FAIL() << "expected DataError";
  } catch (const DataError& e) {
    EXPECT_NE(std::string(e.what()).find("4026531840 bytes"), std::string::npos) << e.what();
  }
  EXPECT_THROW(io::tensors_from_bytes(big, "big.pt"), DataError);
  EXPECT_THROW(io::check_zip_layout("PK", "tiny.pt"), DataError);
}

TEST(ArchiveCheck, ATensorClaimingMoreThanItsRecordIsRefused) {
  // 100 floats: the pickle says 100 (BININT1 0x64) for the storage's element count and for
  // the shape. Claiming 255 for both leaves the 400-byte record short by 620 bytes, which
  // LibTorch's unpickler would read past; the load refuses instead.
  std::string bytes = io::tensors_to_bytes({{"x", torch::arange(100, torch::kFloat)}});
  const size_t pickle = bytes.find("data.pkl");
  ASSERT_NE(pickle, std::string::npos);
  int patched = 0;
  for (size_t at = bytes.find(std::string("K\x64", 2), pickle); at != std::string::npos && at < pickle + 300;
       at = bytes.find(std::string("K\x64", 2), at + 2), ++patched)
    bytes[at + 1] = static_cast<char>(0xff);
  ASSERT_EQ(patched, 2);
  EXPECT_THROW(io::tensors_from_bytes(bytes, "long.pt"), DataError);
  // The record renamed "Data/0": the zip reader still finds it (names match regardless of
  // case), but the unpickler then sizes the storage by the pickle's claim. Refused.
  std::string renamed = io::tensors_to_bytes({{"x", torch::arange(100, torch::kFloat)}});
  for (size_t at = renamed.find("archive/data/0"); at != std::string::npos; at = renamed.find("archive/data/0", at + 1))
    renamed[at + 8] = 'D';
  EXPECT_THROW(io::tensors_from_bytes(renamed, "renamed.pt"), DataError);
}

TEST(ArchiveCheck, PickleArgumentsAndStackMustFit) {
  // PROTO 2, EMPTY_DICT, BINUNICODE "ab", SHORT_BINBYTES 1 byte, BININT1, SETITEM, STOP.
  const std::string ok("\x80\x02}X\x02\x00\x00\x00" "abC\x01zK\x07s.", 17);
  EXPECT_NO_THROW(io::check_pickle(ok, "ok.pt"));
  // A string that claims 2 GB in a 9-byte stream.
  try {
    io::check_pickle(std::string("\x80\x02X\xff\xff\xff\x7f.", 8), "huge.pt");
    FAIL() << "expected DataError";
  } catch (const DataError& e) {
    EXPECT_NE(std::string(e.what()).find("claims 2147483647 bytes"), std::string::npos) << e.what();
  }
  EXPECT_THROW(io::check_pickle(std::string("\x80\x02}", 3), "nostop.pt"), DataError);
  EXPECT_THROW(io::check_pickle(std::string("\x80\x02\xff.", 4), "unknown.pt"), DataError);
  EXPECT_THROW(io::check_pickle(std::string("ctorch\n", 7), "line.pt"), DataError);  // GLOBAL's second line
  EXPECT_NO_THROW(io::check_pickle(std::string("ctorch\nTensor\n.", 15), "global.pt"));
  // LibTorch's unpickler pops unchecked: REDUCE on an empty stack, TUPLE without a mark,
  // SETITEM reaching below its mark, a huge memo id.
  EXPECT_THROW(io::check_pickle(std::string("\x80\x02R.", 4), "empty.pt"), DataError);
  EXPECT_THROW(io::check_pickle(std::string("\x80\x02Nt.", 5), "nomark.pt"), DataError);
  EXPECT_THROW(io::check_pickle(std::string("}N(Ns.", 6), "below.pt"), DataError);
  EXPECT_NO_THROW(io::check_pickle(std::string("}(NNu.", 6), "setitems.pt"));
  EXPECT_THROW(io::check_pickle(std::string("Nr\xff\xff\xff\x7f.", 7), "memo.pt"), DataError);
  // What LibTorch writes passes.
  const std::string archive = io::tensors_to_bytes({{"a", torch::ones({2, 3})}, {"b", torch::arange(4)}});
  // Its size and place from the central directory entry (46 bytes, then the name), its
  // data after the local header (30 bytes, name, extra field).
  const size_t entry = archive.rfind("archive/data.pkl") - 46;
  ASSERT_EQ(archive.compare(entry, 4, std::string("PK\x01\x02", 4)), 0);
  const auto le = [&](size_t at, int width) {
    size_t v = 0;
    for (int i = width - 1; i >= 0; --i) v = v << 8 | static_cast<uint8_t>(archive[at + i]);
    return v;
  };
  const size_t local = le(entry + 42, 4), start = local + 30 + le(local + 26, 2) + le(local + 28, 2);
  EXPECT_NO_THROW(io::check_pickle(std::string_view(archive).substr(start, le(entry + 24, 4)), "lib.pt"));
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
  // And the other way, through every check of archive_check.h: Python's pickle, its zip, and
  // a view (offset 2) into a storage that another tensor shares.
  const std::string from_python = dir.path() + "/from-python.pt";
  const std::string save = "/usr/bin/python3 -c \"import torch; s = torch.arange(10.); torch.save({'all': s, 'view': s[2:7]}, '" +
                           from_python + "')\"";
  ASSERT_EQ(std::system(save.c_str()), 0);
  const auto loaded = io::load_tensors(from_python);
  EXPECT_TRUE(torch::equal(loaded.at("all"), torch::arange(10, torch::kFloat)));
  EXPECT_TRUE(torch::equal(loaded.at("view"), torch::arange(2, 7, torch::kFloat)));
}

TEST(TensorsAnywhere, NestedValuesGiveDottedPathsAndTheRestIsSkipped) {
  // A checkpoint as LibTorch pickles one: tensors under nested dicts and lists, beside
  // numbers, strings and None.
  c10::impl::GenericDict inner(c10::StringType::get(), c10::AnyType::get());
  inner.insert("backbone.conv1.weight", torch::arange(6, torch::kFloat).view({1, 1, 2, 3}));
  inner.insert("step", int64_t{7});
  c10::impl::GenericList list(c10::AnyType::get());
  list.push_back(torch::ones({2}));
  list.push_back(c10::IValue("text"));
  list.push_back(c10::IValue(2.5));
  c10::impl::GenericDict root(c10::StringType::get(), c10::AnyType::get());
  root.insert("state_dict", inner);
  root.insert("epoch", int64_t{3});
  root.insert("name", std::string("bt"));
  root.insert("nothing", c10::IValue());
  root.insert("buffers", list);
  const std::vector<char> pickled = torch::pickle_save(c10::IValue(root));
  const std::string bytes(pickled.begin(), pickled.end());
  const io::TensorMap found = io::tensors_anywhere_from_bytes(bytes, "nested.pt");
  ASSERT_EQ(found.size(), 2u);
  EXPECT_TRUE(torch::equal(found.at("state_dict.backbone.conv1.weight"), torch::arange(6, torch::kFloat).view({1, 1, 2, 3})));
  EXPECT_TRUE(torch::equal(found.at("buffers.0"), torch::ones({2})));
  // What save_tensors writes reads the same through either reader.
  const std::string flat = io::tensors_to_bytes({{"a", torch::randn({3, 4}).t()}, {"b", torch::arange(5)}});
  const io::TensorMap both = io::tensors_anywhere_from_bytes(flat, "flat.pt");
  EXPECT_EQ(io::digest_tensors(both), io::digest_tensors(io::tensors_from_bytes(flat, "flat.pt")));
  // Every check of the other reader holds: cut short anywhere, a DataError.
  for (size_t keep : {size_t{0}, size_t{30}, bytes.size() / 2, bytes.size() - 30, bytes.size() - 1})
    EXPECT_THROW(io::tensors_anywhere_from_bytes(bytes.substr(0, keep), "cut.pt"), DataError) << keep;
  // A tensor claiming more elements than its record holds (as in ATensorClaimingMoreThanItsRecordIsRefused).
  std::string long_claim = io::tensors_to_bytes({{"x", torch::arange(100, torch::kFloat)}});
  const size_t pickle = long_claim.find("data.pkl");
  for (size_t at = long_claim.find(std::string("K\x64", 2), pickle); at != std::string::npos && at < pickle + 300;
       at = long_claim.find(std::string("K\x64", 2), at + 2))
    long_claim[at + 1] = static_cast<char>(0xff);
  EXPECT_THROW(io::tensors_anywhere_from_bytes(long_claim, "long.pt"), DataError);
}

// What Python's torch.save writes for a model: an OrderedDict with a _metadata attribute,
// which LibTorch's unpickler refuses; a checkpoint holding objects of any class; a list that
// holds itself.
TEST(TensorsAnywhere, PythonStateDictAndCheckpointAreRead) {
  if (std::system("/usr/bin/python3 -c 'import torch' >/dev/null 2>&1") != 0)
    GTEST_SKIP() << "python3 with torch not installed (scripts/setup-bench.sh installs Debian's python3-torch)";
  TempDir dir;
  const std::string script = dir.path() + "/save.py";
  io::write_file_atomic(script, R"(import argparse, sys, torch
out = sys.argv[1]
model = torch.nn.Sequential(torch.nn.Conv2d(1, 2, 3), torch.nn.BatchNorm2d(2))
torch.save(model.state_dict(), out + '/state_dict.pt')
loop = [1]
loop.append(loop)
torch.save({'state_dict': {'backbone.' + k: v for k, v in model.state_dict().items()}, 'epoch': 3,
            'hyper_parameters': {'lr': 0.1, 'name': 'bt', 'args': argparse.Namespace(lr=0.1)},
            'optimizer_states': [{'state': {0: {'momentum_buffer': torch.ones(3)}}}], 'loop': loop,
            'half': torch.arange(4, dtype=torch.float16)[1:3]}, out + '/checkpoint.ckpt')
)");
  ASSERT_EQ(std::system(("/usr/bin/python3 " + script + " " + dir.path()).c_str()), 0);
  EXPECT_THROW(io::load_tensors(dir.path() + "/state_dict.pt"), DataError);
  const io::TensorMap sd = io::load_tensors_anywhere(dir.path() + "/state_dict.pt");
  EXPECT_EQ(sd.size(), 7u);  // conv weight and bias, batch-norm weight, bias, mean, var, count
  EXPECT_EQ(sd.at("0.weight").sizes(), (std::vector<int64_t>{2, 1, 3, 3}));
  EXPECT_EQ(sd.at("1.num_batches_tracked").scalar_type(), torch::kLong);
  const io::TensorMap ckpt = io::load_tensors_anywhere(dir.path() + "/checkpoint.ckpt");
  EXPECT_EQ(ckpt.size(), 9u);
  for (const auto& [name, tensor] : sd) EXPECT_TRUE(torch::equal(ckpt.at("state_dict.backbone." + name), tensor)) << name;
  EXPECT_TRUE(torch::equal(ckpt.at("optimizer_states.0.state.0.momentum_buffer"), torch::ones({3})));
  EXPECT_TRUE(torch::equal(ckpt.at("half"), torch::arange(1, 3).to(torch::kHalf)));
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
