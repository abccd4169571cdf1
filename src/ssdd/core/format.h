// {fmt} for number formatting: fmt::format("{:.2f}", x) instead of snprintf buffers.
// Header-only (FMT_HEADER_ONLY), so there is no library to link or to ship to the GPU
// machine (CMakeLists.txt). Include this rather than <fmt/format.h>, so every use agrees.
#pragma once
#ifndef FMT_HEADER_ONLY
#define FMT_HEADER_ONLY 1
#endif
#include <fmt/format.h>
