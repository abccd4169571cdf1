#include "ssdd/io/run_log.h"

#include <cerrno>
#include <cstring>
#include <iostream>

#include "ssdd/core/clock.h"
#include "ssdd/core/error.h"

namespace ssdd::io {
namespace {
std::FILE*& tee_file() {
  static std::FILE* file = nullptr;
  return file;
}
}  // namespace

void RunLog::tee(const std::string& path) {
  if (tee_file()) std::fclose(tee_file());
  tee_file() = nullptr;
  if (path.empty()) return;
  tee_file() = std::fopen(path.c_str(), "a");
  if (!tee_file()) throw IoError(path, std::string("cannot open the log: ") + std::strerror(errno));
}

RunLog::RunLog(const std::string& path) : path_(path), file_(std::fopen(path.c_str(), "a")) {
  if (!file_) throw IoError(path, std::string("cannot open the log: ") + std::strerror(errno));
}

RunLog::~RunLog() {
  if (file_) std::fclose(file_);
}

void RunLog::line(const std::string& text) {
  if (!file_ && !tee_file()) return;
  const std::string stamp = utc_timestamp();
  for (std::FILE* f : {file_, tee_file()}) {
    if (!f) continue;
    std::fprintf(f, "%s %s\n", stamp.c_str(), text.c_str());
    std::fflush(f);
  }
}

void RunLog::say(const std::string& text) {
  if (terminal_) std::cerr << text << "\n" << std::flush;
  line(text);
}

}  // namespace ssdd::io
