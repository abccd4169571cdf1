// A run folder's log: each line timestamped, appended and flushed at once, so the log
// of a killed run is complete up to the kill.
#pragma once
#include <cstdio>
#include <string>

namespace ssdd::io {

class RunLog {
 public:
  RunLog() = default;  // a log that writes nowhere
  explicit RunLog(const std::string& path);
  ~RunLog();
  RunLog(const RunLog&) = delete;
  RunLog& operator=(const RunLog&) = delete;

  void line(const std::string& text);                  // to the file only
  void say(const std::string& text);                   // to the file and stderr
  // Off: say() writes to the file only (the ranks after 0 of a job: rank 0 speaks for it).
  void set_terminal(bool on) { terminal_ = on; }
  const std::string& path() const { return path_; }

  // Every line of every RunLog of this process is also appended to `path` (empty: stop):
  // a pipeline's one log of all its stages.
  static void tee(const std::string& path);

 private:
  std::string path_;
  std::FILE* file_ = nullptr;
  bool terminal_ = true;
};

}  // namespace ssdd::io
