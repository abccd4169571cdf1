// `ssdd_fuzz_replay`: every fuzz target without libFuzzer, for the test suite's short form of
// fuzzing (CI has no clang). Each target replays its seed corpus and its regression inputs
// (fuzz/regressions/<target>/: every input that once found a bug), so the contract stays
// checked on every change.
//   ssdd_fuzz_replay seeds DIR              write every target's seed corpus under DIR/<target>/
//   ssdd_fuzz_replay TARGET PATH...         feed TARGET every file named (folders: every file inside)
#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "fuzz_support.h"
#include "seeds.h"

// Each target's LLVMFuzzerTestOneInput, renamed by the build (fuzz/CMakeLists.txt).
#define SSDD_FUZZ_TARGET(name) extern "C" int ssdd_fuzz_##name(const uint8_t* data, size_t size);
#include "targets.def"
#undef SSDD_FUZZ_TARGET

namespace {

using Target = int (*)(const uint8_t*, size_t);
struct Entry {
  const char* name;
  Target run;
};
const Entry kTargets[] = {
#define SSDD_FUZZ_TARGET(name) {#name, ssdd_fuzz_##name},
#include "targets.def"
#undef SSDD_FUZZ_TARGET
};

int usage() {
  std::fprintf(stderr, "usage: ssdd_fuzz_replay seeds DIR | TARGET PATH...\ntargets:");
  for (const auto& t : kTargets) std::fprintf(stderr, " %s", t.name);
  std::fprintf(stderr, "\n");
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  namespace fs = std::filesystem;
  if (argc < 3) return usage();
  if (std::strcmp(argv[1], "seeds") == 0) {
    write_seed_corpora(argv[2]);
    std::printf("ssdd_fuzz_replay: wrote the seed corpora under %s\n", argv[2]);
    return 0;
  }
  const auto target = std::find_if(std::begin(kTargets), std::end(kTargets),
                                   [&](const Entry& e) { return std::strcmp(e.name, argv[1]) == 0; });
  if (target == std::end(kTargets)) return usage();
  std::vector<fs::path> inputs;
  for (int i = 2; i < argc; ++i) {
    const fs::path arg = argv[i];
    if (fs::is_directory(arg)) {
      for (const auto& entry : fs::directory_iterator(arg))
        if (entry.is_regular_file()) inputs.push_back(entry.path());
    } else if (fs::is_regular_file(arg)) {
      inputs.push_back(arg);
    } else {
      std::fprintf(stderr, "ssdd_fuzz_replay: %s: no such file or folder\n", argv[i]);
      return 2;
    }
  }
  if (inputs.empty()) {
    std::fprintf(stderr, "ssdd_fuzz_replay: no inputs for %s\n", target->name);
    return 2;
  }
  std::sort(inputs.begin(), inputs.end());
  for (const auto& path : inputs) {
    std::ifstream in(path, std::ios::binary);
    const std::vector<char> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    target->run(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size());
  }
  const auto& t = ssdd::fuzz::tally();
  std::printf("ssdd_fuzz_replay %s: %zu input(s), %ld parser call(s): %ld parsed, %ld refused with an ssdd::Error; "
              "nothing else escaped\n", target->name, inputs.size(), t.calls, t.calls - t.refused, t.refused);
  return 0;
}
