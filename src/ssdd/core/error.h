// Typed errors. Each names the file (or stage), what was expected and what was found,
// so the CLI can print one line that tells the user what to fix.
#pragma once
#include <stdexcept>
#include <string>

namespace ssdd {

class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Bad input data: missing file, wrong magic, truncated, count mismatch, undecodable.
class DataError : public Error {
 public:
  DataError(const std::string& path, const std::string& expected, const std::string& found);
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// A bad option or config value; `where` names the file and key or the option.
class ConfigError : public Error {
 public:
  ConfigError(const std::string& where, const std::string& message);
};

// Divergence: NaN/inf loss, a singular kernel, exploding gradients.
class NumericsError : public Error {
 public:
  NumericsError(const std::string& stage, long long iteration, const std::string& cause);
};

// Writing outputs failed (disk full, read-only folder).
class IoError : public Error {
 public:
  IoError(const std::string& path, const std::string& message);
};

}  // namespace ssdd
