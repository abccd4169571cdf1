// The one rule for what enters a config's hash (the key of its cached stage, its teacher
// id, its checkpoints' identity): every setting that can change the numbers a stage makes.
// Left out are the settings that change only its speed, or where its inputs lie: a folder
// or file counts by its content, which the caller adds (a teacher by its id, a set file by
// its digest, data by data/identity.h's digest), never by its path.
#pragma once
#include <initializer_list>
#include <string>

#include <nlohmann/json.hpp>

#include "ssdd/core/hash.h"

namespace ssdd {

// Settings no stage hashes: how fast and where it runs, where its inputs and outputs lie.
inline constexpr const char* kUnhashedSettings[] = {
    "threads", "device", "data_dir", "teacher", "distilled", "verbose", "checkpoint_every"};

// A config's JSON form without the unhashed settings and the stage's own `also` (a
// teacher's probe settings, which report on the weights but never change them).
inline nlohmann::json hashed_settings(nlohmann::json settings, std::initializer_list<const char*> also = {}) {
  for (const char* key : kUnhashedSettings) settings.erase(key);
  for (const char* key : also) settings.erase(key);
  return settings;
}

inline std::string settings_hash(const nlohmann::json& hashed) { return hash_hex(hashed.dump()); }

}  // namespace ssdd
