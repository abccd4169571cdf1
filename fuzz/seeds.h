// The fuzz targets' seed corpora (make_seeds.cpp).
#pragma once
#include <string>

// Writes DIR/<target>/<seed> for every fuzz target (fuzz/CMakeLists.txt lists them).
void write_seed_corpora(const std::string& dir);
