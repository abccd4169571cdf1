// Decodes a live set into the training pairs it stands for (set_file.h's ViewPairs, SPEC 4).
// Evaluation's pretraining trains on exactly these (read_set_file) and `ssdd export` writes
// exactly these: one decoder for both.
#pragma once
#include "ssdd/distill/set_file.h"  // ViewPairs

namespace ssdd::distill {

class DistilledSet;

// Decoded without a graph and detached: nothing flows back into the set.
ViewPairs view_pairs(DistilledSet& set);

}  // namespace ssdd::distill
