#include "ssdd/io/folder_lock.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <map>
#include <mutex>

#include "ssdd/core/error.h"
#include "ssdd/io/atomic_file.h"

namespace ssdd::io {
namespace {

// Folders this process holds: the lock file's descriptor and how many FolderLocks hold it.
struct Held {
  int fd = -1;
  int count = 0;
};
std::mutex held_mutex;
std::map<std::string, Held>& held() {
  static std::map<std::string, Held> folders;
  return folders;
}

std::string holder_pid(int fd) {
  char text[32] = {};
  const ssize_t n = ::pread(fd, text, sizeof text - 1, 0);
  std::string pid = n > 0 ? std::string(text, static_cast<size_t>(n)) : "";
  while (!pid.empty() && (pid.back() == '\n' || pid.back() == ' ')) pid.pop_back();
  return pid.empty() ? "unknown" : pid;
}

void write_pid(int fd) {
  const std::string pid = std::to_string(::getpid()) + "\n";
  if (::ftruncate(fd, 0) == 0) (void)!::pwrite(fd, pid.data(), pid.size(), 0);
}

}  // namespace

FolderLock::FolderLock(const std::string& dir, IfHeld if_held) {
  make_dirs(dir);
  std::error_code ec;
  key_ = std::filesystem::weakly_canonical(dir, ec).string();
  if (ec) key_ = dir;
  {
    std::lock_guard<std::mutex> guard(held_mutex);
    if (auto it = held().find(key_); it != held().end()) {
      ++it->second.count;
      return;
    }
  }
  const std::string path = (std::filesystem::path(dir) / kLockFile).string();
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) throw IoError(path, std::string("cannot open the lock file: ") + std::strerror(errno));
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    const int error = errno;
    const std::string pid = holder_pid(fd);
    if (error != EWOULDBLOCK || if_held == IfHeld::refuse) {
      ::close(fd);
      if (error != EWOULDBLOCK) throw IoError(path, std::string("cannot lock: ") + std::strerror(error));
      throw IoError(dir, "in use by another ssdd process (pid " + pid +
                             "): wait for it to finish or stop it, or give another folder");
    }
    std::cerr << "ssdd: waiting for pid " << pid << ", which is writing " << dir << "\n" << std::flush;
    while (::flock(fd, LOCK_EX) != 0) {
      if (errno == EINTR) continue;
      const int wait_error = errno;
      ::close(fd);
      throw IoError(path, std::string("cannot lock: ") + std::strerror(wait_error));
    }
  }
  write_pid(fd);
  std::lock_guard<std::mutex> guard(held_mutex);
  held()[key_] = {fd, 1};
}

FolderLock::~FolderLock() {
  std::lock_guard<std::mutex> guard(held_mutex);
  auto it = held().find(key_);
  if (it == held().end() || --it->second.count > 0) return;
  ::close(it->second.fd);  // closing drops the flock; the file stays for the next holder
  held().erase(it);
}

}  // namespace ssdd::io
