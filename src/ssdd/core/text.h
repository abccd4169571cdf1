// Small text helpers for messages and help texts.
#pragma once
#include <string>
#include <vector>

namespace ssdd {

// "a, b, c"
inline std::string joined(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& item : items) out += (out.empty() ? "" : ", ") + item;
  return out;
}

}  // namespace ssdd
