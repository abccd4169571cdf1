// A teacher folder that keeps only the backbone: the form of shipped teachers (teachers/ in
// the repository) and of imported ones (`ssdd teacher import`). load_teacher reads it like the
// folder of a teacher ssdd trained:
//   teacher.pt     the backbone's tensors as "backbone.*", float32 on the CPU
//   teacher.json   the fields train_teacher writes, with "projector": [] (none kept)
//   manifest.json  what the weights are and where they came from (teacher/manifest.h)
// The projector is dropped because every later stage reads only the backbone's features, and
// it would double the file of a shipped ResNet18:32 teacher.
#pragma once
#include <string>

#include "ssdd/data/dataset.h"
#include "ssdd/models/encoder.h"

namespace ssdd::teacher {

struct BackboneTeacherInfo {
  std::string arch;          // zoo spec, canonical (models::format_arch_spec)
  models::ImageShape shape;  // the input the backbone was trained on
  data::Normalization norm;  // of its source data set
  std::string data;          // the source data set's registry name
  std::string id;            // teacher id: keys the stages that read the teacher
};

// Writes teacher.pt and teacher.json, each atomically; returns the weights digest that
// teacher.json records (io::content_checksum), which load_teacher checks.
std::string write_backbone_teacher(const std::string& dir, const models::Encoder& backbone,
                                   const BackboneTeacherInfo& info);

}  // namespace ssdd::teacher
