// Small helpers shared by the tests.
#pragma once
#include <cstdlib>
#include <filesystem>
#include <string>

// Starts `command` in the background, SIGKILLs it as soon as `file` exists (a
// checkpoint, say), and waits for it: a kill at a moment chosen by the test.
inline void kill_when_file_appears(const std::string& command, const std::string& file) {
  const std::string script = "(" + command + " >/dev/null 2>&1 & pid=$!; while [ ! -f " + file +
                             " ]; do sleep 0.01; done; kill -9 $pid; wait $pid) 2>/dev/null";
  (void)std::system(script.c_str());
}

// A fresh temporary folder, removed with its contents at the end of the test.
class TempDir {
 public:
  TempDir() {
    std::string pattern = (std::filesystem::temp_directory_path() / "ssdd-test-XXXXXX").string();
    path_ = ::mkdtemp(pattern.data());
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};
