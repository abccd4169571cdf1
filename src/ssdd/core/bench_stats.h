// Figures every `ssdd bench` subcommand reports. No LibTorch.
#pragma once
#include <vector>

namespace ssdd {

// The median of timed runs (the mean of the middle two for an even count; 0 for none).
double median(std::vector<double> values);

// This process's peak resident memory so far, in MiB.
double peak_rss_mib();

}  // namespace ssdd
