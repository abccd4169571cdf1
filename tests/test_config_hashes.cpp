// Config hashes pinned: a config's hash keys its cached stage, its teacher id and its
// checkpoints, so a change to how configs are held in C++ must leave every hash as it was
// (issue 25), or every cached teacher, shipped teacher and run folder goes stale. The
// values were computed by the code before configs were nested (ssdd d738237); a change
// that alters one on purpose says why in docs/decisions.md.
#include <gtest/gtest.h>

#include <map>
#include <string>

#include "ssdd/core/config_hash.h"
#include "ssdd/distill/distiller.h"
#include "ssdd/evaluate/grid.h"
#include "ssdd/experiment/experiment_config.h"
#include "ssdd/teacher/teacher.h"

using namespace ssdd;

namespace {

// Every hash a built-in experiment's stages start from, by stage: the teacher's, each set's
// and baseline's settings, and each grid's settings before the runner adds its sets.
std::map<std::string, std::string> experiment_hashes(const std::string& name) {
  const auto e = experiment::builtin_experiment(name);
  std::map<std::string, std::string> out;
  out["teacher"] = e.teacher.config.hash();
  for (const auto& d : e.distill) out["distill " + d.name()] = d.config.hash();
  for (const auto& b : e.baselines) out["baseline " + b.name()] = settings_hash(hashed_settings(b.config.to_json()));
  for (const auto& g : e.grids) out["evaluate " + g.name] = settings_hash(hashed_settings(g.config.to_json()));
  return out;
}

std::string listing(const std::map<std::string, std::string>& hashes) {
  std::string text;
  for (const auto& [stage, hash] : hashes) text += "      {\"" + stage + "\", \"" + hash + "\"},\n";
  return text;
}

}  // namespace

TEST(ConfigHashes, PresetsKeepTheirHashes) {
  const std::map<std::string, std::string> teacher = {
      {"cpu", "0b5974b69764d99b"},
      {"paper", "290ab2663b4e1fa6"},
      {"quick", "498d92b600e8b58f"},
  };
  const std::map<std::string, std::string> distill = {
      {"cpu", "b0039d6df464a054"},
      {"paper", "112b62fd29535185"},
      {"quick", "1f5a5130192d32c1"},
  };
  std::map<std::string, std::string> found_teacher, found_distill;
  for (const auto& p : teacher::teacher_presets()) found_teacher[p] = teacher::teacher_preset(p).hash();
  for (const auto& p : distill::distill_presets()) found_distill[p] = distill::distill_preset(p).hash();
  EXPECT_EQ(found_teacher, teacher) << listing(found_teacher);
  EXPECT_EQ(found_distill, distill) << listing(found_distill);
}

TEST(ConfigHashes, BuiltInExperimentsKeepTheirStageHashes) {
  const std::map<std::string, std::map<std::string, std::string>> pinned = {
  {"cifar10-budget-split", {
      {"baseline random-eq", "37838c6bc4539b59"},
      {"distill kx192", "d091dabe980b2b4f"},
      {"distill kx320", "de562bbe9e442136"},
      {"distill ky16", "cc532648fbfc9b52"},
      {"distill ky64", "2e20675c0c476e15"},
      {"distill ours", "9cbe4ed305d56c78"},
      {"evaluate main", "f57edf6e08cb9e8a"},
      {"teacher", "b94ba04c00093847"},
  }},
  {"cifar10-claims", {
      {"baseline random-eq", "37838c6bc4539b59"},
      {"baseline random-eq-seed1", "3786886bc455ca64"},
      {"baseline random-eq-seed2", "377c886bc44d75df"},
      {"baseline random-rot-eq", "5fe807b4c85f4449"},
      {"baseline random-rot-eq-seed1", "5fec03b4c8632654"},
      {"baseline random-rot-eq-seed2", "5fe203b4c85ad1cf"},
      {"distill krrst-eq", "435060e1c157ab1d"},
      {"distill krrst-eq-seed1", "5a4a9381a0e3f9aa"},
      {"distill krrst-eq-seed2", "c9098241468deee3"},
      {"distill ours", "9cbe4ed305d56c78"},
      {"distill ours-seed1", "dfc6870a4124c553"},
      {"distill ours-seed2", "6104d11b126dcc5a"},
      {"evaluate main", "8f1a785d94e34e28"},
      {"teacher", "b94ba04c00093847"},
  }},
  {"cifar10-convergence", {
      {"baseline random", "1fa94552574c2da5"},
      {"distill krrst", "2ad12fdbd0f0eb49"},
      {"distill krrst-10k", "366883d8a649c405"},
      {"distill krrst-3k", "7aa7ad9fcd3a0373"},
      {"distill ours", "9cbe4ed305d56c78"},
      {"distill ours-10k", "9340a2f82b670884"},
      {"distill ours-3k", "12f43a4f3c6d65fa"},
      {"evaluate main", "f57edf6e08cb9e8a"},
      {"teacher", "b94ba04c00093847"},
  }},
  {"cifar10-cpu", {
      {"baseline kmeans", "61d6e08df310fcbb"},
      {"baseline random", "37838c6bc4539b59"},
      {"distill krrst", "435060e1c157ab1d"},
      {"distill ours", "d091dabe980b2b4f"},
      {"evaluate main", "4a7641e052434968"},
      {"teacher", "b94ba04c00093847"},
  }},
  {"cifar10-paper", {
      {"baseline kmeans", "228fc148af2b0ddf"},
      {"baseline random", "1fa94552574c2da5"},
      {"distill krrst", "0e427dbd83ca835e"},
      {"distill ours", "112b62fd29535185"},
      {"evaluate main", "b478cdae67e8c07f"},
      {"teacher", "1a0b36123881c63c"},
  }},
  {"cifar10-science", {
      {"baseline kmeans", "228fc148af2b0ddf"},
      {"baseline kmeans-eq", "61d6e08df310fcbb"},
      {"baseline kmeans-eq-seed1", "61d9e48df313395e"},
      {"baseline kmeans-eq-seed2", "61dde48df3172235"},
      {"baseline kmeans-seed1", "2293c548af2efd82"},
      {"baseline kmeans-seed2", "2296c548af313359"},
      {"baseline random", "1fa94552574c2da5"},
      {"baseline random-eq", "37838c6bc4539b59"},
      {"baseline random-eq-seed1", "3786886bc455ca64"},
      {"baseline random-eq-seed2", "377c886bc44d75df"},
      {"baseline random-rot", "dc89181f60377b7d"},
      {"baseline random-rot-eq", "5fe807b4c85f4449"},
      {"baseline random-rot-eq-seed1", "5fec03b4c8632654"},
      {"baseline random-rot-eq-seed2", "5fe203b4c85ad1cf"},
      {"baseline random-rot-seed1", "dc8d141f603b5d88"},
      {"baseline random-rot-seed2", "dc83141f60330903"},
      {"baseline random-seed1", "1fac4152574e5cb0"},
      {"baseline random-seed2", "1fa241525746082b"},
      {"distill krrst", "2ad12fdbd0f0eb49"},
      {"distill krrst-eq", "435060e1c157ab1d"},
      {"distill krrst-eq-seed1", "5a4a9381a0e3f9aa"},
      {"distill krrst-eq-seed2", "c9098241468deee3"},
      {"distill krrst-seed1", "e10610e52f53b646"},
      {"distill krrst-seed2", "a243c55c8b344f2f"},
      {"distill ours", "9cbe4ed305d56c78"},
      {"distill ours-no-param", "ddd2423000d040e2"},
      {"distill ours-no-param-seed1", "6e3061417f676235"},
      {"distill ours-no-param-seed2", "b01608ca4a36aa00"},
      {"distill ours-random-aug", "dff91513a54f1e9d"},
      {"distill ours-random-aug-seed1", "f6f347b384db6d2a"},
      {"distill ours-random-aug-seed2", "65b236732a856263"},
      {"distill ours-seed1", "dfc6870a4124c553"},
      {"distill ours-seed2", "6104d11b126dcc5a"},
      {"distill ours-stored-targets", "b9dd047fe5eea9a1"},
      {"distill ours-stored-targets-seed1", "622fc4970081dfde"},
      {"distill ours-stored-targets-seed2", "58031866fcb3ada7"},
      {"evaluate equal-steps", "3520033e17aa00da"},
      {"evaluate main", "d0b6e76be9b2a6f0"},
      {"teacher", "b94ba04c00093847"},
  }},
  {"cifar100-paper", {
      {"baseline kmeans", "228fc148af2b0ddf"},
      {"baseline random", "1fa94552574c2da5"},
      {"distill krrst", "0e427dbd83ca835e"},
      {"distill ours", "112b62fd29535185"},
      {"evaluate main", "6c7b57e3024dc12d"},
      {"teacher", "290ab2663b4e1fa6"},
  }},
  {"fashion-mnist-ablations", {
      {"distill ours", "b0039d6df464a054"},
      {"distill ours-no-param", "09e3b474a7e6559e"},
      {"distill ours-random-aug", "8a24bd086d9645d9"},
      {"distill ours-stored-targets", "f41f60dc513784ad"},
      {"evaluate main", "c641a10300cb593b"},
      {"teacher", "0b5974b69764d99b"},
  }},
  {"fashion-mnist-cpu", {
      {"baseline kmeans", "61d6e08df310fcbb"},
      {"baseline random", "37838c6bc4539b59"},
      {"distill krrst", "435060e1c157ab1d"},
      {"distill ours", "b0039d6df464a054"},
      {"evaluate main", "c641a10300cb593b"},
      {"teacher", "0b5974b69764d99b"},
  }},
  {"fashion-mnist-cross-arch", {
      {"baseline kmeans", "61d6e08df310fcbb"},
      {"baseline random", "37838c6bc4539b59"},
      {"distill krrst", "435060e1c157ab1d"},
      {"distill ours", "b0039d6df464a054"},
      {"evaluate cross-arch", "934aecdad0ef43dc"},
      {"evaluate main", "c641a10300cb593b"},
      {"teacher", "0b5974b69764d99b"},
  }},
  {"fashion-mnist-science", {
      {"baseline kmeans", "228fc148af2b0ddf"},
      {"baseline kmeans-eq", "61d6e08df310fcbb"},
      {"baseline kmeans-eq-seed1", "61d9e48df313395e"},
      {"baseline kmeans-eq-seed2", "61dde48df3172235"},
      {"baseline kmeans-seed1", "2293c548af2efd82"},
      {"baseline kmeans-seed2", "2296c548af313359"},
      {"baseline random", "1fa94552574c2da5"},
      {"baseline random-eq", "37838c6bc4539b59"},
      {"baseline random-eq-seed1", "3786886bc455ca64"},
      {"baseline random-eq-seed2", "377c886bc44d75df"},
      {"baseline random-rot", "dc89181f60377b7d"},
      {"baseline random-rot-eq", "5fe807b4c85f4449"},
      {"baseline random-rot-eq-seed1", "5fec03b4c8632654"},
      {"baseline random-rot-eq-seed2", "5fe203b4c85ad1cf"},
      {"baseline random-rot-seed1", "dc8d141f603b5d88"},
      {"baseline random-rot-seed2", "dc83141f60330903"},
      {"baseline random-seed1", "1fac4152574e5cb0"},
      {"baseline random-seed2", "1fa241525746082b"},
      {"distill krrst", "2ad12fdbd0f0eb49"},
      {"distill krrst-eq", "435060e1c157ab1d"},
      {"distill krrst-eq-seed1", "5a4a9381a0e3f9aa"},
      {"distill krrst-eq-seed2", "c9098241468deee3"},
      {"distill krrst-seed1", "e10610e52f53b646"},
      {"distill krrst-seed2", "a243c55c8b344f2f"},
      {"distill ours", "b0039d6df464a054"},
      {"distill ours-no-param", "09e3b474a7e6559e"},
      {"distill ours-no-param-seed1", "da70a39641dc5761"},
      {"distill ours-no-param-seed2", "2b5935446038766c"},
      {"distill ours-random-aug", "8a24bd086d9645d9"},
      {"distill ours-random-aug-seed1", "cc68616f7abf0d56"},
      {"distill ours-random-aug-seed2", "98e785a0c13dc63f"},
      {"distill ours-seed1", "daf5efe5550d4def"},
      {"distill ours-seed2", "7ec0af48d1b7db06"},
      {"distill ours-stored-targets", "f41f60dc513784ad"},
      {"distill ours-stored-targets-seed1", "1a98d786151f7c3a"},
      {"distill ours-stored-targets-seed2", "8462e526796d1f33"},
      {"evaluate main", "c34cba10ef7d21f8"},
      {"evaluate steps-1500", "46e060b528ce7eb9"},
      {"teacher", "0b5974b69764d99b"},
  }},
  {"fashion-to-mnist", {
      {"baseline kmeans", "61d6e08df310fcbb"},
      {"baseline random", "37838c6bc4539b59"},
      {"distill krrst", "435060e1c157ab1d"},
      {"distill ours", "b0039d6df464a054"},
      {"evaluate main", "f834f124e60c17d4"},
      {"teacher", "0b5974b69764d99b"},
  }},
  {"quick", {
      {"baseline kmeans", "228fc148af2b0ddf"},
      {"baseline random", "1fa94552574c2da5"},
      {"distill krrst", "f52261335f45bc27"},
      {"distill ours", "ebc5bf8a71090ff8"},
      {"evaluate main", "90f95a6d9ffbb5c8"},
      {"teacher", "12484332f2c36e16"},
  }},
  };
  std::map<std::string, std::map<std::string, std::string>> found;
  for (const auto& name : experiment::builtin_experiments()) found[name] = experiment_hashes(name);
  std::string text;
  for (const auto& [name, hashes] : found) text += "  {\"" + name + "\", {\n" + listing(hashes) + "  }},\n";
  EXPECT_EQ(found, pinned) << text;
}
