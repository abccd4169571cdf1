// Small helpers shared by the tests.
#pragma once
#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

// A shell line that starts `command` in the background, sends it `signal` (a `kill` option:
// "-9", "-TERM") as soon as `file` exists (a checkpoint, say), and waits for it: a signal at a
// moment chosen by the test. With `nonempty`, once the file holds something (a file appended
// to may exist empty first). A command that ends without writing the file ends the wait too,
// so a test that misses its moment fails on its checks instead of hanging.
inline std::string shell_signal_when_file_appears(const std::string& command, const std::string& file,
                                                  const std::string& signal, bool nonempty = false) {
  return command + " >/dev/null 2>&1 & p=$!; while [ ! " + (nonempty ? "-s " : "-f ") + file +
         " ] && kill -0 $p 2>/dev/null; do sleep 0.01; done; kill " + signal + " $p 2>/dev/null; wait $p";
}

// Runs shell_signal_when_file_appears' line and waits for the command.
inline void run_and_signal_when_file_appears(const std::string& command, const std::string& file,
                                             const std::string& signal, bool nonempty = false) {
  (void)std::system(("(" + shell_signal_when_file_appears(command, file, signal, nonempty) + ") 2>/dev/null").c_str());
}

// The same with SIGKILL.
inline void kill_when_file_appears(const std::string& command, const std::string& file, bool nonempty = false) {
  run_and_signal_when_file_appears(command, file, "-9", nonempty);
}

// The lines of a text file, empty ones left out (missing file: none).
inline std::vector<std::string> nonempty_lines(const std::string& path) {
  std::ifstream in(path);
  std::vector<std::string> out;
  for (std::string line; std::getline(in, line);)
    if (!line.empty()) out.push_back(line);
  return out;
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

#ifdef SSDD_CLI_PATH  // the test suite's (the fuzz seed maker shares this header without it)
// What a command of the ssdd executable printed (stdout and stderr together) and its exit
// code (-1 when it did not exit normally).
struct CliOutcome {
  int code = -1;
  std::string output;
};

inline CliOutcome run_ssdd(const std::string& args) {
  const std::string cli = SSDD_CLI_PATH;
  CliOutcome o;
  FILE* pipe = ::popen((cli + " " + args + " 2>&1").c_str(), "r");
  if (!pipe) return o;
  std::array<char, 4096> buffer{};
  size_t n;
  while ((n = std::fread(buffer.data(), 1, buffer.size(), pipe)) > 0) o.output.append(buffer.data(), n);
  const int status = ::pclose(pipe);
  o.code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return o;
}
#endif  // SSDD_CLI_PATH
