#include "ssdd/core/error.h"

namespace ssdd {

DataError::DataError(const std::string& path, const std::string& expected, const std::string& found)
    : Error(path + ": expected " + expected + ", found " + found), path_(path) {}

ConfigError::ConfigError(const std::string& where, const std::string& message)
    : Error(where + ": " + message) {}

NumericsError::NumericsError(const std::string& stage, long long iteration, const std::string& cause)
    : Error(stage + " stopped at iteration " + std::to_string(iteration) + ": " + cause) {}

IoError::IoError(const std::string& path, const std::string& message) : Error(path + ": " + message) {}

}  // namespace ssdd
